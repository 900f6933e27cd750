/*
 * evolver_mpi.c - an evolver spread over an MPI communicator (see devo_mpi.h):
 * the engine's devo_dist hooks in MPI (fitness all-gather, elite broadcasts by
 * their owners, agreement of statuses and stops, the population gathered for a
 * checkpoint), the shares, the device choice, and the traffic count.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devo_mpi.h"
#include "error.h"
#include "evolver.h"
#include "share.h"
#include "options.h"
#include "same_run.h"

typedef struct mpi_run {
    devo_dist dist;         /* the engine's hooks; ctx = this */
    devo_sum_chain chain;   /* a full-rank ES's update sums, rank after rank; ctx = this */
    MPI_Comm comm;          /* a duplicate of the caller's: the run's messages stay apart */
    int rank, size;
    size_t P, D, k;
    devo_device_config cfg; /* what each rank's device holds: the shares (algorithm.h) */
    int *counts, *displs;   /* (size): every rank's share of slots, in the last collective */
    MPI_Datatype row;       /* D floats */
    float *buffer;          /* (D): an elite in transit */
    uint64_t sent, received;
} mpi_run;

/* Counts a collective's payload: bytes this rank put in and took out (none alone). */
static void count(mpi_run *r, uint64_t sent, uint64_t received)
{
    if (r->size == 1) return;
    r->sent += sent;
    r->received += received;
}

devo_status devo_mpi_agree(MPI_Comm comm, devo_status status)
{
    int rank, size, first;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = status != DEVO_OK ? rank : size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == size) return DEVO_OK;
    struct {
        int status;
        char text[1020];
    } message = {(int)status, ""};
    if (rank == first) snprintf(message.text, sizeof message.text, "%s", devo_last_error());
    MPI_Bcast(&message, (int)sizeof message, MPI_BYTE, first, comm);
    return devo_fail((devo_status)message.status, "rank %d: %s", first, message.text);
}

static devo_status run_agree(void *ctx, devo_status status)
{
    mpi_run *r = ctx;
    count(r, sizeof(int), sizeof(int) * (uint64_t)(r->size - 1));
    return devo_mpi_agree(r->comm, status);
}

static int run_any(void *ctx, int flag)
{
    mpi_run *r = ctx;
    int mine = flag != 0, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, r->comm);
    count(r, sizeof(int), sizeof(int) * (uint64_t)(r->size - 1));
    return any;
}

static devo_status run_same(void *ctx, const char *text, const char *fn)
{
    mpi_run *r = ctx;
    return devo_mpi_same(r->comm, text, fn);
}

static void run_share(void *ctx, size_t from, size_t *first, size_t *count)
{
    mpi_run *r = ctx;
    devo_algorithm_share(&r->cfg, from, r->rank, r->size, first, count);
}

/* Every rank's share of the slots [max(from, floor), P) as counts and displacements. */
static void shares(mpi_run *r, size_t from, size_t floor)
{
    for (int i = 0; i < r->size; i++) {
        size_t first, count;
        devo_algorithm_share(&r->cfg, from, i, r->size, &first, &count);
        size_t begin = first > floor ? first : floor, end = first + count;
        r->displs[i] = (int)begin;
        r->counts[i] = end > begin ? (int)(end - begin) : 0;
    }
}

static devo_status run_gather_fitness(void *ctx, double *fitness, size_t from)
{
    mpi_run *r = ctx;
    shares(r, from, from);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, fitness, r->counts, r->displs, MPI_DOUBLE,
                   r->comm);
    count(r, sizeof(double) * (uint64_t)r->counts[r->rank],
          sizeof(double) * (r->P - (uint64_t)r->counts[r->rank]));
    return DEVO_OK;
}

static devo_status run_share_elites(void *ctx, devo_evolver *e)
{
    mpi_run *r = ctx;
    // An ES: every rank holds the centre it answers with.
    if (e->algorithm->has_center) return DEVO_OK;
    devo_status status = DEVO_OK; // every broadcast happens even after a failure: no rank waits
    size_t k = r->cfg.top_k;
    for (size_t i = 0; i < e->k; i++) {
        size_t slot = e->order[i];
        // Slots below k are the last generation's elites, which every rank holds; the others,
        // the shares of [k, P) (devo_algorithm_share).
        int owner = slot < k ? 0 : devo_share_owner(slot - k, r->P - k, r->size);
        if (owner == r->rank && status == DEVO_OK)
            status = e->device->copy_row(e->device_ctx, slot, r->buffer);
        MPI_Bcast(r->buffer, 1, r->row, owner, r->comm);
        count(r, owner == r->rank ? 4 * r->D : 0, owner == r->rank ? 0 : 4 * r->D);
        if (owner != r->rank && status == DEVO_OK)
            status = e->device->load_rows(e->device_ctx, r->buffer, slot, 1);
    }
    return status;
}

/* rows (count, D) = slots [first, first + count) of e's population, copied off its device. */
static devo_status copy_rows(devo_evolver *e, size_t first, size_t count, float *rows)
{
    for (size_t i = 0; i < count; i++)
        DEVO_TRY(e->device->copy_row(e->device_ctx, first + i, rows + i * e->D));
    return DEVO_OK;
}

static devo_status run_gather_population(void *ctx, devo_evolver *e, float **population)
{
    mpi_run *r = ctx;
    // Every rank holds the elites and the children it bred, the root the elites' rows too.
    shares(r, e->share_from, r->k);
    size_t mine = (size_t)r->counts[r->rank], first = (size_t)r->displs[r->rank];
    float *all = r->rank == 0 ? malloc(r->P * r->D * sizeof(float)) : NULL;
    float *sent = r->rank != 0 ? malloc((mine ? mine : 1) * r->D * sizeof(float)) : NULL;
    int ok = r->rank == 0 ? all != NULL : sent != NULL, every = 0;
    MPI_Allreduce(&ok, &every, 1, MPI_INT, MPI_MIN, r->comm);
    if (!every) {
        free(all);
        free(sent);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "rank 0 cannot hold the %zu x %zu population "
                                                 "of a checkpoint", r->P, r->D);
    }
    devo_status status = r->rank == 0 ? copy_rows(e, 0, r->k, all)
                                      : copy_rows(e, first, mine, sent);
    if (status == DEVO_OK && r->rank == 0) status = copy_rows(e, first, mine, all + first * r->D);
    status = devo_mpi_agree(r->comm, status);
    if (status == DEVO_OK) {
        MPI_Gatherv(r->rank == 0 ? MPI_IN_PLACE : sent, (int)mine, r->row, all, r->counts,
                    r->displs, r->row, 0, r->comm);
        if (r->rank == 0) count(r, 0, 4 * r->D * (r->P - (uint64_t)mine));
        else count(r, 4 * r->D * (uint64_t)mine, 0);
    }
    free(sent);
    if (status != DEVO_OK) {
        free(all);
        return status;
    }
    *population = all;
    return DEVO_OK;
}

/* The sums of the ranks before this one (zeros in rank 0). */
static devo_status chain_receive(void *ctx, float *s1, float *s2, size_t D)
{
    mpi_run *r = ctx;
    if (r->rank == 0) {
        memset(s1, 0, D * sizeof(float));
        memset(s2, 0, D * sizeof(float));
        return DEVO_OK;
    }
    MPI_Recv(s1, 1, r->row, r->rank - 1, 0, r->comm, MPI_STATUS_IGNORE);
    MPI_Recv(s2, 1, r->row, r->rank - 1, 1, r->comm, MPI_STATUS_IGNORE);
    count(r, 0, 8 * (uint64_t)D);
    return DEVO_OK;
}

/* This rank's sums to the next; the last rank's, the finished ones, to every rank. */
static devo_status chain_pass(void *ctx, float *s1, float *s2, size_t D)
{
    mpi_run *r = ctx;
    if (r->rank + 1 < r->size) {
        MPI_Send(s1, 1, r->row, r->rank + 1, 0, r->comm);
        MPI_Send(s2, 1, r->row, r->rank + 1, 1, r->comm);
        count(r, 8 * (uint64_t)D, 0);
    }
    int last = r->size - 1;
    MPI_Bcast(s1, 1, r->row, last, r->comm);
    MPI_Bcast(s2, 1, r->row, last, r->comm);
    count(r, r->rank == last ? 8 * (uint64_t)D : 0, r->rank == last ? 0 : 8 * (uint64_t)D);
    return DEVO_OK;
}

static void run_destroy(void *ctx)
{
    mpi_run *r = ctx;
    if (!r) return;
    if (r->row != MPI_DATATYPE_NULL) MPI_Type_free(&r->row);
    if (r->comm != MPI_COMM_NULL) MPI_Comm_free(&r->comm);
    free(r->counts);
    free(r->displs);
    free(r->buffer);
    free(r);
}

/* The run's hooks for e over comm; NULL when out of memory. */
static mpi_run *run_new(MPI_Comm comm, const devo_evolver *e)
{
    mpi_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->comm = MPI_COMM_NULL;
    r->row = MPI_DATATYPE_NULL;
    MPI_Comm_dup(comm, &r->comm);
    MPI_Comm_rank(r->comm, &r->rank);
    MPI_Comm_size(r->comm, &r->size);
    r->P = e->P;
    r->D = e->D;
    r->k = e->k;
    r->cfg = e->device_config;
    r->counts = malloc((size_t)r->size * sizeof(int));
    r->displs = malloc((size_t)r->size * sizeof(int));
    r->buffer = malloc(r->D * sizeof(float));
    if (!r->counts || !r->displs || !r->buffer) {
        run_destroy(r);
        return NULL;
    }
    MPI_Type_contiguous((int)r->D, MPI_FLOAT, &r->row);
    MPI_Type_commit(&r->row);
    devo_dist *d = &r->dist;
    d->root = r->rank == 0;
    d->share = run_share;
    d->ctx = r;
    d->gather_fitness = run_gather_fitness;
    d->share_elites = run_share_elites;
    d->gather_population = run_gather_population;
    d->agree = run_agree;
    d->any = run_any;
    d->same = run_same;
    d->destroy = run_destroy;
    r->chain = (devo_sum_chain){r, chain_receive, chain_pass};
    return r;
}

/* This rank's part of the population: its device holds only that (devo_algorithm_device_part). */
static devo_part part_of(MPI_Comm comm)
{
    devo_part part;
    MPI_Comm_rank(comm, &part.index);
    MPI_Comm_size(comm, &part.count);
    return part;
}

/* Before the device is made: this rank's CUDA device, local_rank % device_count. */
static void choose_device(MPI_Comm comm)
{
    int devices = devo_cuda_device_count();
    if (devices <= 0) return;
    MPI_Comm node;
    int local_rank = 0;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank);
    MPI_Comm_free(&node);
    devo_options_set_device(local_rank % devices);
}

/* Spreads the evolver *e (made on every rank, or NULL where that failed: status says) over
 * comm; frees it on any rank's failure. */
static devo_status spread(devo_evolver **e, MPI_Comm comm, devo_status status, const char *fn)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (status == DEVO_OK && ((*e)->P > INT_MAX || (*e)->D > INT_MAX))
        status = devo_fail(DEVO_ERR_UNSUPPORTED, "%s: MPI counts are ints: population %zu or "
                                                 "%zu weights is too many", fn, (*e)->P, (*e)->D);
    mpi_run *r = status == DEVO_OK ? run_new(comm, *e) : NULL;
    if (status == DEVO_OK && !r) status = devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    status = devo_mpi_agree(comm, status);
    if (status != DEVO_OK) {
        run_destroy(r);
        devo_evolver_free(*e);
        *e = NULL;
        return status;
    }
    (*e)->dist = &r->dist;
    (*e)->algorithm->chain((*e)->algorithm_state, &r->chain);
    if (rank != 0) (*e)->opt.verbose = 0; // rank 0 reports for the run
    return DEVO_OK;
}

/* Fails on every rank when the run text describes differs from rank 0's (same_run.h). */
static devo_status same_as_root(MPI_Comm comm, char *text, const char *fn)
{
    devo_status status = text ? DEVO_OK : devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory",
                                                    fn);
    status = devo_mpi_agree(comm, status);
    if (status == DEVO_OK) status = devo_mpi_same(comm, text, fn);
    free(text);
    return status;
}

devo_status devo_evolver_create_mpi(devo_evolver **out, MPI_Comm comm, const devo_model *m,
                                    const devo_evolve_options *opt)
{
    const char *fn = "devo_evolver_create_mpi";
    if (comm == MPI_COMM_NULL)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: comm is MPI_COMM_NULL", fn);
    devo_evolve_options defaults;
    devo_evolve_options_init(&defaults);
    devo_status checked = devo_model_check_compiled(m, fn);
    DEVO_TRY(devo_mpi_agree(comm, checked));
    DEVO_TRY(same_as_root(comm, devo_mpi_start_text(opt ? opt : &defaults, m), fn));
    choose_device(comm);
    devo_evolver *e = NULL;
    devo_status status = devo_evolver_open(&e, m, opt, fn, NULL, part_of(comm));
    DEVO_TRY(spread(&e, comm, status, fn));
    *out = e;
    return DEVO_OK;
}

devo_status devo_evolver_load_state_mpi(devo_evolver **out, MPI_Comm comm, const char *path,
                                        const devo_evolve_options *overrides)
{
    const char *fn = "devo_evolver_load_state_mpi";
    if (comm == MPI_COMM_NULL)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: comm is MPI_COMM_NULL", fn);
    choose_device(comm);
    devo_evolver *e = NULL;
    devo_status status = devo_evolver_load_state_part(&e, path, overrides, part_of(comm));
    // Every rank resumes the same run from the same state (not a stale copy of it).
    status = devo_mpi_agree(comm, status);
    if (status == DEVO_OK) status = same_as_root(comm, devo_mpi_state_text(e), fn);
    if (status != DEVO_OK) {
        devo_evolver_free(e);
        return status;
    }
    DEVO_TRY(spread(&e, comm, status, fn));
    *out = e;
    return DEVO_OK;
}

devo_status devo_evolver_mpi_traffic(const devo_evolver *e, uint64_t *sent, uint64_t *received)
{
    const char *fn = "devo_evolver_mpi_traffic";
    DEVO_REQUIRE_NONNULL(e, fn);
    if (!e->dist || e->dist->destroy != run_destroy)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: the evolver is not spread over MPI", fn);
    const mpi_run *r = e->dist->ctx;
    if (sent) *sent = r->sent;
    if (received) *received = r->received;
    return DEVO_OK;
}
