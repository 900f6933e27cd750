/*
 * device.c - the CPU device (device.h), the readable reference every other
 * device is checked against. The GA's population and a full-rank ES's are host
 * rows (the GA's double-buffered for its variation): every slot, or, for an MPI
 * process, the elites, its share and the elites it receives; a low-rank ES's is
 * its factors (es_noise.h), never materialised but where a caller asks.
 * Evaluation by evaluate.c (OpenBLAS sgemm) or lowrank.c, host ranking,
 * the reference variation (variation.c), the ES directions and sums
 * (es_noise.c), and the CPU's hardware ceiling. In BF16 (gemm_bf16.h) every row held has a
 * twin rounded to BF16, written where the row is made (variation, loading, an ES's
 * directions), and the bound samples a rounded copy: the GEMMs read those, the biases and
 * everything after the GEMMs the FP32 masters. devo_evolver_forward is BF16 too, but for
 * a low-rank ES (its own-input forward stays FP32).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "clock.h"
#include "device.h"
#include "error.h"
#include "es_noise.h"
#include "device_predict.h"
#include "evaluate.h"
#include "forward_split.h"
#include "gemm_bf16.h"
#include "lowrank.h"
#include "parallel.h"
#include "selection.h"
#include "variation.h"

typedef struct cpu_device {
    devo_device_config cfg;
    size_t P, D, k;
    /* Rows (rows, D): slots [0, k), then [first_slot, first_slot + slot_count) (all P slots in
     * order, alone); a low-rank ES's P rows on demand. */
    float *population;
    size_t rows;
    int population_ready; /* a low-rank ES: population holds the current factors' rows */
    float *next;          /* (rows, D): the GA's generation being made */
    float *received;      /* (cfg.received_rows, D): elites of other processes' slots */
    size_t *received_slot; /* (cfg.received_rows): their slots */
    size_t received_count;
    size_t *scratch;      /* (P): ranking scratch */
    const float *x, *y;   /* bound data: (n, inputs), (n, target width); borrowed */
    size_t n;
    /* BF16 only (else NULL): population, next and received rounded (same layouts), the bound
     * samples x (n, inputs) and an ES's centre (D). */
    devo_bf16 *population16, *next16, *received16, *x16, *center16;
    /* Evaluation: the population's P slots (the GA, a full-rank ES), or a low-rank ES's centre
     * alone (1 slot, its GEMM shape slot 0's), and a low-rank ES's population. */
    devo_cpu_evaluator *evaluator;
    devo_lowrank_eval *lowrank;
    /* An ES: the directions last drawn, and the centre and sigma (D each) drawn around. */
    devo_es_noise noise;
    float *center, *sigma;
    int perturbed;
    /* devo_evolver_forward's work space: full rows, or a low-rank ES's own evaluator. */
    devo_cpu_forward_split own;
    devo_lowrank_eval *own_lowrank;
    size_t own_rows;
} cpu_device;

static int es(const cpu_device *b) { return b->cfg.directions > 0; }
static int low_rank(const cpu_device *b) { return es(b) && b->cfg.rank > 0; }
static int whole(const cpu_device *b) { return b->rows == b->P && !low_rank(b); }
static int bf16(const cpu_device *b) { return b->cfg.precision == DEVO_PRECISION_BF16; }

/* Slot `slot`'s row index in the rows held, or SIZE_MAX when this device does not hold it. */
static size_t row_index(const cpu_device *b, size_t slot)
{
    if (slot < b->k) return slot;
    size_t first = b->cfg.first_slot;
    if (slot >= first && slot - first < b->cfg.slot_count) return b->k + slot - first;
    return SIZE_MAX;
}

/* Slot `slot`'s row in buffer (rows, D), or NULL when this device does not hold it. */
static float *row_of(const cpu_device *b, float *buffer, size_t slot)
{
    size_t i = row_index(b, slot);
    return i == SIZE_MAX ? NULL : buffer + i * b->D;
}

/* Its BF16 twin in buffer16 (rows, D); NULL in FP32 or when not held. */
static devo_bf16 *row16_of(const cpu_device *b, devo_bf16 *buffer16, size_t slot)
{
    size_t i = row_index(b, slot);
    return i == SIZE_MAX || !buffer16 ? NULL : buffer16 + i * b->D;
}

/* Slot `slot`'s individual in the population: held, or received from its holder; or NULL.
 * *row16 (unless row16 is NULL): its BF16 twin, NULL in FP32. */
static float *individual(const cpu_device *b, size_t slot, devo_bf16 **row16)
{
    float *row = row_of(b, b->population, slot);
    devo_bf16 *twin = row16_of(b, b->population16, slot);
    for (size_t i = 0; !row && i < b->received_count; i++)
        if (b->received_slot[i] == slot) {
            row = b->received + i * b->D;
            twin = b->received16 ? b->received16 + i * b->D : NULL;
        }
    if (row16) *row16 = twin;
    return row;
}

static devo_status not_held(const char *what, size_t slot)
{
    return devo_fail(DEVO_ERR_INTERNAL, "cpu device: %s slot %zu, which another process holds",
                     what, slot);
}

static void cpu_destroy(void *ctx)
{
    cpu_device *b = ctx;
    if (!b) return;
    free(b->population);
    free(b->next);
    free(b->received);
    free(b->received_slot);
    free(b->scratch);
    free(b->population16);
    free(b->next16);
    free(b->received16);
    free(b->x16);
    free(b->center16);
    devo_cpu_evaluator_free(b->evaluator);
    devo_lowrank_free(b->lowrank);
    devo_es_noise_release(&b->noise);
    free(b->center);
    free(b->sigma);
    devo_cpu_forward_split_release(&b->own);
    devo_lowrank_free(b->own_lowrank);
    free(b);
}

/* The buffers of cfg's population, its evaluator and an ES's directions. */
static devo_status allocate(cpu_device *b)
{
    const devo_device_config *cfg = &b->cfg;
    size_t P = b->P, D = b->D, R = cfg->received_rows;
    b->scratch = malloc(P * sizeof(size_t));
    if (!low_rank(b)) b->population = malloc(b->rows * D * sizeof(float));
    if (!es(b)) b->next = malloc(b->rows * D * sizeof(float));
    if (R) {
        b->received = malloc(R * D * sizeof(float));
        b->received_slot = malloc(R * sizeof(size_t));
    }
    if (!b->scratch || (!low_rank(b) && !b->population) || (!es(b) && !b->next) ||
        (R && (!b->received || !b->received_slot)))
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "cpu device: cannot allocate %d x %zu x %zu population weights",
                         es(b) ? 1 : 2, b->rows, D);
    if (bf16(b)) {
        if (!low_rank(b)) b->population16 = malloc(b->rows * D * sizeof(devo_bf16));
        if (!es(b)) b->next16 = malloc(b->rows * D * sizeof(devo_bf16));
        if (R) b->received16 = malloc(R * D * sizeof(devo_bf16));
        if (es(b)) b->center16 = malloc(D * sizeof(devo_bf16));
        if ((!low_rank(b) && !b->population16) || (!es(b) && !b->next16) ||
            (R && !b->received16) || (es(b) && !b->center16))
            return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                             "cpu device: cannot allocate the BF16 copies of %zu x %zu weights",
                             b->rows, D);
    }
    DEVO_TRY(devo_cpu_evaluator_create(&b->evaluator, cfg->arch, low_rank(b) ? 1 : P,
                                       cfg->batch_size, cfg->threads, cfg->precision));
    if (!es(b)) return DEVO_OK;
    b->center = malloc(D * sizeof(float));
    b->sigma = malloc(D * sizeof(float));
    if (!b->center || !b->sigma)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu device: cannot allocate the centre");
    // A full-rank ES draws the directions of the slots it holds; a low-rank one, all of them.
    DEVO_TRY(devo_es_noise_init(&b->noise, cfg->arch, low_rank(b) ? cfg->directions
                                                                  : cfg->direction_count,
                                cfg->rank, cfg->threads));
    if (!low_rank(b)) b->noise.first = cfg->first_direction;
    if (low_rank(b))
        DEVO_TRY(devo_lowrank_create(&b->lowrank, cfg->arch, P, cfg->batch_size, cfg->threads,
                                     cfg->precision));
    return DEVO_OK;
}

static devo_status cpu_create(void **ctx, const devo_device_config *cfg)
{
    DEVO_TRY(devo_cpu_precision_available(cfg->precision, "cpu device"));
    size_t P = cfg->population, D = cfg->arch->param_count;
    if (P > SIZE_MAX / sizeof(float) / D)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "cpu device: population %zu x %zu weights does not fit in memory", P, D);
    if (cfg->top_k > P || cfg->first_slot < cfg->top_k || cfg->first_slot > P ||
        cfg->slot_count > P - cfg->first_slot)
        return devo_fail(DEVO_ERR_INTERNAL, "cpu device: slots [%zu, +%zu) past %zu elites of %zu",
                         cfg->first_slot, cfg->slot_count, cfg->top_k, P);
    cpu_device *b = calloc(1, sizeof *b);
    if (!b) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu device: out of memory");
    b->cfg = *cfg;
    b->P = P;
    b->D = D;
    b->k = cfg->top_k;
    b->rows = cfg->top_k + cfg->slot_count;
    devo_status status = allocate(b);
    if (status != DEVO_OK) {
        cpu_destroy(b);
        return status;
    }
    *ctx = b;
    return DEVO_OK;
}

static devo_status cpu_bind_data(void *ctx, const float *x, const float *y, size_t n)
{
    cpu_device *b = ctx;
    b->x = x;
    b->y = y;
    b->n = n;
    if (!bf16(b)) return DEVO_OK;
    size_t count = n * b->cfg.arch->input_dim;
    free(b->x16);
    if (!(b->x16 = malloc(count * sizeof(devo_bf16))))
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu device: cannot allocate %zu BF16 inputs",
                         count);
    devo_bf16_round_n(x, b->x16, count);
    return DEVO_OK;
}

/* ------------------------------------------------------------------------------- rows */

static devo_status cpu_init_population(void *ctx, const float *w0)
{
    cpu_device *b = ctx;
    if (es(b)) return devo_fail(DEVO_ERR_INTERNAL, "cpu device: an ES population is perturbed");
    // The elites' slots, then this device's share (one range when it holds them all).
    const devo_device_config *c = &b->cfg;
    devo_cpu_init_slots(b->population, b->population16, 0, b->k, b->D, w0, c->init_std, c->seed);
    devo_cpu_init_slots(row_of(b, b->population, c->first_slot),
                        row16_of(b, b->population16, c->first_slot), c->first_slot,
                        c->slot_count, b->D, w0, c->init_std, c->seed);
    return DEVO_OK;
}

static devo_status cpu_load_rows(void *ctx, const float *rows, size_t first, size_t count)
{
    cpu_device *b = ctx;
    if (low_rank(b))
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "cpu device: a low-rank population is drawn, never loaded");
    for (size_t i = 0; i < count; i++) {
        size_t slot = first + i;
        devo_bf16 *row16;
        float *row = individual(b, slot, &row16);
        if (!row && b->received_count < b->cfg.received_rows) { // an elite from its holder
            b->received_slot[b->received_count] = slot;
            row = b->received + b->received_count * b->D;
            row16 = b->received16 ? b->received16 + b->received_count * b->D : NULL;
            b->received_count++;
        }
        if (!row) return not_held("cannot load", slot);
        memcpy(row, rows + i * b->D, b->D * sizeof(float));
        if (row16) devo_bf16_round_n(row, row16, b->D);
    }
    return DEVO_OK;
}

/* An ES's population: its directions around the centre and sigma last given. */
static devo_lowrank_population es_population(const cpu_device *b)
{
    devo_lowrank_population pop = {&b->noise, b->cfg.antithetic, b->center, b->sigma};
    return pop;
}

/* Individual i of an ES: direction i / 2 or i around the centre (es_noise.h). */
static void es_row(const cpu_device *b, size_t i, float *dst)
{
    devo_lowrank_population pop = es_population(b);
    devo_lowrank_individual(&pop, i, dst);
}

static devo_status cpu_copy_row(void *ctx, size_t index, float *dst)
{
    cpu_device *b = ctx;
    if (low_rank(b)) {
        es_row(b, index, dst);
        return DEVO_OK;
    }
    const float *row = individual(b, index, NULL);
    if (!row) return not_held("cannot copy", index);
    memcpy(dst, row, b->D * sizeof(float));
    return DEVO_OK;
}

/* What the whole-population operations say to a process holding only its share. */
static devo_status share_only(void)
{
    return devo_fail(DEVO_ERR_UNSUPPORTED, "cpu device: this process holds only its share of "
                                           "the population");
}

static devo_status cpu_view(void *ctx, const float **view)
{
    cpu_device *b = ctx;
    if (!low_rank(b) && !whole(b))
        return share_only();
    if (low_rank(b) && !b->population_ready) {
        if (!b->population && !(b->population = malloc(b->P * b->D * sizeof(float))))
            return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                             "cpu device: cannot allocate the %zu x %zu population", b->P, b->D);
        for (size_t i = 0; i < b->P; i++) es_row(b, i, b->population + i * b->D);
        b->population_ready = 1;
    }
    *view = b->population;
    return DEVO_OK;
}

/* ------------------------------------------------------------------------- evaluation */

static devo_status cpu_evaluate(void *ctx, const size_t *rows, size_t row_count, size_t first,
                                size_t count, double *fitness)
{
    cpu_device *b = ctx;
    size_t samples = rows ? row_count : b->n;
    if (low_rank(b)) {
        devo_lowrank_population pop = es_population(b);
        return devo_lowrank_evaluate(b->lowrank, &pop, b->x, b->y, rows, samples,
                                     b->cfg.fitness, first, count, fitness);
    }
    if (count == 0) return DEVO_OK;
    // Held slots are consecutive rows: the elites' and the share's join where the share starts
    // at slot k (the first process's).
    const float *w = row_of(b, b->population, first);
    if (!w || row_of(b, b->population, first + count - 1) != w + (count - 1) * b->D)
        return not_held("cannot evaluate past", first);
    devo_cpu_bf16_rows rounded = {row16_of(b, b->population16, first), b->x16};
    return devo_cpu_evaluate(b->evaluator, w, first, count, b->x, b->y, rows, samples,
                             b->cfg.fitness, fitness + first, bf16(b) ? &rounded : NULL);
}

static devo_status cpu_evaluate_center(void *ctx, const size_t *rows, size_t row_count,
                                       double *fitness)
{
    cpu_device *b = ctx;
    if (!b->perturbed)
        return devo_fail(DEVO_ERR_INTERNAL, "cpu device: no centre has been perturbed around");
    devo_cpu_bf16_rows rounded = {b->center16, b->x16};
    return devo_cpu_evaluate(b->evaluator, b->center, 0, 1, b->x, b->y, rows,
                             rows ? row_count : b->n, b->cfg.fitness, fitness,
                             bf16(b) ? &rounded : NULL);
}

static devo_status cpu_rank(void *ctx, const double *fitness, size_t *order)
{
    cpu_device *b = ctx;
    devo_rank(fitness, b->P, order, b->scratch);
    return DEVO_OK;
}

static devo_status cpu_forward(void *ctx, const float *x, size_t rows, float *y)
{
    cpu_device *b = ctx;
    if (!low_rank(b) && !whole(b))
        return share_only();
    if (!low_rank(b))
        return devo_cpu_forward_split_run(&b->own, b->cfg.arch, b->population,
                                          b->population16, b->P, x, rows, y, b->cfg.threads);
    devo_lowrank_population pop = es_population(b);
    return devo_lowrank_forward_kept(&b->own_lowrank, &b->own_rows, b->cfg.arch, &pop, b->P, x,
                                     rows, y, b->cfg.threads);
}

static devo_status cpu_predict(void *ctx, const float *x, size_t n, float *y)
{
    cpu_device *b = ctx;
    const devo_model *arch = b->cfg.arch;
    if (low_rank(b))
        return devo_predict_by_forward(cpu_forward, ctx, b->P, arch->input_dim,
                                       devo_model_output_dim(arch), b->cfg.batch_size, x, n, y);
    if (!whole(b)) return share_only();
    if (!bf16(b)) return devo_cpu_predict(b->evaluator, b->population, b->P, x, n, y, NULL);
    // BF16: the inputs rounded as bind_data rounds the training data
    devo_bf16 *x16 = malloc(n * arch->input_dim * sizeof(devo_bf16));
    if (!x16)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu device: cannot round %zu inputs to BF16",
                         n);
    devo_bf16_round_n(x, x16, n * arch->input_dim);
    devo_cpu_bf16_rows rounded = {b->population16, x16};
    devo_status status = devo_cpu_predict(b->evaluator, b->population, b->P, x, n, y, &rounded);
    free(x16);
    return status;
}

/* -------------------------------------------------------------------------- variation */

/* One generation's breeding, for devo_parallel_for over the children first_child.. */
typedef struct vary_job {
    cpu_device *b;
    const uint32_t *pairs;
    uint32_t generation;
    size_t first_child;
} vary_job;

static void make_children(void *ctx, size_t part, size_t begin, size_t end)
{
    (void)part;
    vary_job *job = ctx;
    cpu_device *b = job->b;
    size_t k = b->cfg.top_k, D = b->D;
    for (size_t c = job->first_child + begin; c < job->first_child + end; c++) {
        const uint32_t *pair = job->pairs + 2 * c;
        devo_cpu_make_child_bf16(row_of(b, b->next, k + c), row16_of(b, b->next16, k + c),
                                 b->next + pair[0] * D, b->next + pair[1] * D, D, b->cfg.seed,
                                 job->generation, (uint32_t)(k + c), b->cfg.mutation_threshold,
                                 b->cfg.mutation_std);
    }
}

static devo_status cpu_vary(void *ctx, const size_t *order, const uint32_t *pairs,
                            uint32_t generation, size_t first, size_t count)
{
    cpu_device *b = ctx;
    if (es(b)) return devo_fail(DEVO_ERR_INTERNAL, "cpu device: an ES population is perturbed");
    size_t k = b->k, D = b->D;
    // Elites first (children are made from their new slots), then the children of slots
    // [first, first + count) in parallel: each child's draws depend on its slot only.
    for (size_t r = 0; r < k; r++) {
        devo_bf16 *elite16;
        const float *elite = individual(b, order[r], &elite16);
        if (!elite) return not_held("no elite in", order[r]);
        memcpy(b->next + r * D, elite, D * sizeof(float));
        if (elite16) memcpy(b->next16 + r * D, elite16, D * sizeof(devo_bf16));
    }
    b->received_count = 0;
    size_t begin = first > k ? first : k, end = first + count;
    if (end > begin && (!row_of(b, b->next, begin) || !row_of(b, b->next, end - 1)))
        return not_held("cannot make the child of", begin);
    vary_job job = {b, pairs, generation, begin - k};
    if (end > begin)
        DEVO_TRY(devo_parallel_for((size_t)devo_cpu_thread_count(b->cfg.threads), end - begin,
                                   make_children, &job));
    float *swap = b->population;
    b->population = b->next;
    b->next = swap;
    devo_bf16 *swap16 = b->population16;
    b->population16 = b->next16;
    b->next16 = swap16;
    return DEVO_OK;
}

static devo_status cpu_perturb(void *ctx, const float *center, const float *sigma,
                               uint32_t generation)
{
    cpu_device *b = ctx;
    if (!es(b)) return devo_fail(DEVO_ERR_INTERNAL, "cpu device: a GA population is varied");
    memcpy(b->center, center, b->D * sizeof(float));
    memcpy(b->sigma, sigma, b->D * sizeof(float));
    b->perturbed = 1;
    b->population_ready = 0;
    if (b->center16) devo_bf16_round_n(center, b->center16, b->D);
    DEVO_TRY(devo_es_noise_draw(&b->noise, b->cfg.seed, generation));
    if (!low_rank(b)) // the rows of the slots held (an ES keeps no elites)
        for (size_t i = 0; i < b->cfg.slot_count; i++) {
            es_row(b, b->cfg.first_slot + i, b->population + i * b->D);
            if (b->population16)
                devo_bf16_round_n(b->population + i * b->D, b->population16 + i * b->D, b->D);
        }
    return DEVO_OK;
}

static devo_status cpu_update_sums(void *ctx, const float *w, const float *v, float *s1,
                                   float *s2)
{
    cpu_device *b = ctx;
    if (!b->perturbed)
        return devo_fail(DEVO_ERR_INTERNAL, "cpu device: no directions have been drawn");
    if (low_rank(b)) return devo_es_noise_sums(&b->noise, w, v, s1, s2);
    return devo_es_noise_add_sums(&b->noise, w, v, b->cfg.sum_first, s1, s2);
}

/* ------------------------------------------------------------------------- accounting */

static void cpu_traffic(void *ctx, devo_device_traffic *out)
{
    cpu_device *b = ctx;
    memset(out, 0, sizeof *out); // the population is host memory: nothing moves
    out->rows = (low_rank(b) ? 0 : b->rows) + b->cfg.received_rows;
    out->directions = es(b) ? b->noise.dirs : 0;
}

/* Every call returns with its work done: nothing to wait for. */
static devo_status cpu_finish(void *ctx)
{
    (void)ctx;
    return DEVO_OK;
}

/* Seconds of the fastest of `runs` calls of fn(state). */
static double fastest_seconds(void (*fn)(void *), void *state, int runs)
{
    double best = 0.0;
    for (int r = 0; r < runs; r++) {
        double start = devo_now_seconds();
        fn(state);
        double seconds = devo_now_seconds() - start;
        if (r == 0 || seconds < best) best = seconds;
    }
    return best;
}

typedef struct ceiling_buffers {
    int n;
    float *a, *b, *c;
    size_t copy_bytes;
    devo_bf16 *a16, *b16;  /* BF16: a and b rounded */
    devo_bf16_gemm *gemm;  /* BF16: oneDNN on every thread */
    devo_status status;    /* BF16: the last GEMM's */
} ceiling_buffers;

static void square_sgemm(void *state)
{
    ceiling_buffers *s = state;
    // c (n, n) = a (n, n) x b (n, n), all row-major
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->n, s->n, s->n, 1.0f, s->a, s->n,
                s->b, s->n, 0.0f, s->c, s->n);
}

static void square_bf16(void *state)
{
    ceiling_buffers *s = state;
    // c (n, n) = a16 (n, n) x b16 (n, n), as evaluation's BF16 GEMMs
    size_t n = (size_t)s->n;
    s->status = devo_bf16_gemm_run(s->gemm, n, n, n, s->a16, n, s->b16, n, s->c, n);
}

/* FLOP/s of s's square GEMM in `precision` on `threads` threads: OpenBLAS's sgemm, or
 * oneDNN's BF16 matmul. */
static devo_status gemm_ceiling(ceiling_buffers *s, int threads, devo_precision precision,
                                double *flops)
{
    double seconds = 0.0;
    if (precision == DEVO_PRECISION_BF16) {
        size_t elements = (size_t)s->n * (size_t)s->n;
        s->a16 = malloc(elements * sizeof(devo_bf16));
        s->b16 = malloc(elements * sizeof(devo_bf16));
        if (!s->a16 || !s->b16)
            return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu ceiling: cannot allocate 2 x %d^2 "
                                                     "BF16 operands", s->n);
        devo_bf16_round_n(s->a, s->a16, elements);
        devo_bf16_round_n(s->b, s->b16, elements);
        DEVO_TRY(devo_bf16_gemm_create(&s->gemm, devo_cpu_thread_count(threads)));
        square_bf16(s); // the primitive is made on the first call, outside the timing
        DEVO_TRY(s->status);
        seconds = fastest_seconds(square_bf16, s, 3);
        DEVO_TRY(s->status);
    } else {
        // OpenBLAS on every thread: the one multi-threaded GEMM devo runs.
        int previous_threads = devo_blas_threads(devo_cpu_thread_count(threads));
        seconds = fastest_seconds(square_sgemm, s, 3);
        devo_blas_threads(previous_threads);
    }
    *flops = 2.0 * s->n * (double)s->n * s->n / seconds;
    return DEVO_OK;
}

static void big_copy(void *state)
{
    ceiling_buffers *s = state;
    memcpy(s->c, s->a, s->copy_bytes);
}

static devo_status cpu_measure_ceiling(int threads, devo_precision precision, double *gemm_flops,
                                       double *copy_bytes_per_second, size_t *gemm_size)
{
    DEVO_TRY(devo_cpu_precision_available(precision, "cpu ceiling"));
    devo_blas_select(); // done at load already; the ceiling's sgemm runs without a forward
    ceiling_buffers s = {.n = 2048};
    size_t elements = (size_t)s.n * (size_t)s.n;
    s.a = malloc(elements * sizeof(float));
    s.b = malloc(elements * sizeof(float));
    s.c = malloc(elements * sizeof(float));
    if (!s.a || !s.b || !s.c) {
        free(s.a);
        free(s.b);
        free(s.c);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu ceiling: cannot allocate 3 x %d^2 floats",
                         s.n);
    }
    for (size_t i = 0; i < elements; i++) {
        s.a[i] = (float)(i % 7) * 0.25f;
        s.b[i] = (float)(i % 5) * 0.5f;
        s.c[i] = 0.0f;
    }
    s.copy_bytes = elements * sizeof(float);
    devo_status status = gemm_ceiling(&s, threads, precision, gemm_flops);
    double copy_seconds = fastest_seconds(big_copy, &s, 5);
    // A copy reads and writes every byte once.
    *copy_bytes_per_second = 2.0 * (double)s.copy_bytes / copy_seconds;
    *gemm_size = (size_t)s.n;
    free(s.a);
    free(s.b);
    free(s.c);
    free(s.a16);
    free(s.b16);
    devo_bf16_gemm_free(s.gemm);
    return status;
}

const devo_device_i *devo_device_cpu(void)
{
    static const devo_device_i cpu = {
        .name = "cpu",
        .create = cpu_create,
        .destroy = cpu_destroy,
        .bind_data = cpu_bind_data,
        .init_population = cpu_init_population,
        .load_rows = cpu_load_rows,
        .copy_row = cpu_copy_row,
        .view = cpu_view,
        .evaluate = cpu_evaluate,
        .evaluate_center = cpu_evaluate_center,
        .rank = cpu_rank,
        .forward = cpu_forward,
        .predict = cpu_predict,
        .vary = cpu_vary,
        .perturb = cpu_perturb,
        .update_sums = cpu_update_sums,
        .traffic = cpu_traffic,
        .measure_ceiling = cpu_measure_ceiling,
        .finish = cpu_finish,
    };
    return &cpu;
}
