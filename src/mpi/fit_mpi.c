/*
 * fit_mpi.c - devo_fit_evolve_mpi: rank 0's data, starting weights and
 * trajectory options broadcast to every rank, then devo_evolver_fit on an
 * evolver spread over the communicator (evolver_mpi.c).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "devo_mpi.h"
#include "error.h"
#include "model.h"

/* Broadcasts count floats from rank 0, in pieces MPI's int counts can say. */
static void broadcast_floats(float *data, size_t count, MPI_Comm comm)
{
    const size_t piece = (size_t)1 << 28;
    for (size_t at = 0; at < count; at += piece) {
        size_t now = count - at < piece ? count - at : piece;
        MPI_Bcast(data + at, (int)now, MPI_FLOAT, 0, comm);
    }
}

/* Rank 0's options with this rank's verbose, threads and callbacks. */
static devo_evolve_options root_options(const devo_evolve_options *mine, MPI_Comm comm)
{
    devo_evolve_options o = *mine;
    MPI_Bcast(&o, (int)sizeof o, MPI_BYTE, 0, comm);
    o.verbose = mine->verbose;
    o.threads = mine->threads;
    o.fitness_fn = mine->fitness_fn;
    o.fitness_user = mine->fitness_user;
    o.batch_fitness_fn = mine->batch_fitness_fn;
    o.batch_fitness_user = mine->batch_fitness_user;
    o.on_generation = mine->on_generation;
    o.on_generation_user = mine->on_generation_user;
    return o;
}

/* The data of rank 0 on every rank: *x, *y point to rank 0's arrays there, to copies
 * (*owned, freed by the caller) elsewhere. */
static devo_status share_data(MPI_Comm comm, const devo_model *m, const float **x,
                              const float **y, size_t *n, float **owned, const char *fn)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    devo_status status = DEVO_OK;
    if (rank == 0 && (!*x || !*y || *n == 0))
        status = devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: rank 0 needs x, y and n > 0", fn);
    DEVO_TRY(devo_mpi_agree(comm, status));
    unsigned long long count = *n;
    MPI_Bcast(&count, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
    *n = (size_t)count;
    size_t inputs = m->input_dim, width = devo_model_target_width(m);
    if (rank != 0) {
        *owned = malloc(*n * (inputs + width) * sizeof(float));
        if (!*owned)
            status = devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot hold rank 0's %zu samples",
                               fn, *n);
        else
            *x = *owned, *y = *owned + *n * inputs;
    }
    DEVO_TRY(devo_mpi_agree(comm, status));
    broadcast_floats((float *)*x, *n * inputs, comm);
    broadcast_floats((float *)*y, *n * width, comm);
    return DEVO_OK;
}

/* Fails on every rank when m is not compiled or its shape differs from rank 0's. */
static devo_status same_model(MPI_Comm comm, const devo_model *m, const char *fn)
{
    devo_status status = devo_mpi_agree(comm, devo_model_check_compiled(m, fn));
    if (status != DEVO_OK) return status;
    unsigned long long mine[3] = {m->input_dim, m->param_count, devo_model_output_dim(m)};
    unsigned long long root[3] = {mine[0], mine[1], mine[2]};
    MPI_Bcast(root, 3, MPI_UNSIGNED_LONG_LONG, 0, comm);
    if (memcmp(mine, root, sizeof mine) != 0)
        status = devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: m's architecture differs from rank "
                                                      "0's", fn);
    return devo_mpi_agree(comm, status);
}

devo_status devo_fit_evolve_mpi(MPI_Comm comm, devo_model *m, const float *x, const float *y,
                                size_t n, const devo_evolve_options *opt, devo_history *hist)
{
    const char *fn = "devo_fit_evolve_mpi";
    if (comm == MPI_COMM_NULL)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: comm is MPI_COMM_NULL", fn);
    devo_evolve_options defaults;
    devo_evolve_options_init(&defaults);
    DEVO_TRY(same_model(comm, m, fn));
    devo_evolve_options o = root_options(opt ? opt : &defaults, comm);
    float *owned = NULL;
    DEVO_TRY(share_data(comm, m, &x, &y, &n, &owned, fn));
    broadcast_floats(m->weights, m->param_count, comm);
    devo_evolver *e = NULL;
    devo_status status = devo_evolver_create_mpi(&e, comm, m, &o);
    if (status == DEVO_OK) status = devo_evolver_fit(e, m, x, y, n, hist);
    devo_evolver_free(e);
    free(owned);
    return status;
}
