/*
 * backend_cpu.c - the CPU reference backend: the population as one P x D host
 * buffer (double-buffered), evaluation by evaluate_cpu.c (OpenBLAS sgemm),
 * host ranking, the reference variation, and the CPU's hardware ceiling.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "blas_cpu.h"
#include "error.h"
#include "evaluate_cpu.h"
#include "parallel.h"
#include "clock.h"
#include "forward_split_cpu.h"
#include "selection.h"
#include "variation_cpu.h"

typedef struct cpu_backend {
    devo_backend_config cfg;
    size_t D;
    float *population;  /* (P, D) */
    float *next;        /* (P, D): the generation being made */
    size_t *scratch;    /* (P): ranking scratch */
    const float *x, *y; /* bound data: (n, inputs), (n, target width); borrowed */
    size_t n;
    devo_cpu_evaluator *evaluator;
    devo_cpu_forward_split own; /* devo_evolver_forward's work space */
} cpu_backend;

static void cpu_destroy(void *ctx)
{
    cpu_backend *b = ctx;
    if (!b) return;
    free(b->population);
    free(b->next);
    free(b->scratch);
    devo_cpu_evaluator_free(b->evaluator);
    devo_cpu_forward_split_release(&b->own);
    free(b);
}

static devo_status cpu_create(void **ctx, const devo_backend_config *cfg)
{
    if (cfg->precision != DEVO_PRECISION_FP32)
        return devo_fail(DEVO_ERR_UNSUPPORTED,
                         "cpu backend: only DEVO_PRECISION_FP32 is supported (asked for %s)",
                         cfg->precision == DEVO_PRECISION_TF32 ? "TF32" : "BF16");
    size_t P = cfg->population, D = cfg->arch->param_count;
    if (P > SIZE_MAX / sizeof(float) / D)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "cpu backend: population %zu x %zu weights does not fit in memory", P, D);
    cpu_backend *b = calloc(1, sizeof *b);
    if (!b) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    b->cfg = *cfg;
    b->D = D;
    b->population = malloc(P * D * sizeof(float));
    b->next = malloc(P * D * sizeof(float));
    b->scratch = malloc(P * sizeof(size_t));
    if (!b->population || !b->next || !b->scratch) {
        cpu_destroy(b);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "cpu backend: cannot allocate 2 x %zu x %zu population weights", P, D);
    }
    devo_status status = devo_cpu_evaluator_create(&b->evaluator, cfg->arch, P, cfg->batch_size,
                                                   cfg->threads);
    if (status != DEVO_OK) {
        cpu_destroy(b);
        return status;
    }
    *ctx = b;
    return DEVO_OK;
}

static devo_status cpu_init_population(void *ctx, const float *w0)
{
    cpu_backend *b = ctx;
    devo_cpu_init_population(b->population, b->cfg.population, b->D, w0, b->cfg.init_std,
                             b->cfg.seed);
    return DEVO_OK;
}

static devo_status cpu_load_population(void *ctx, const float *rows, size_t first, size_t count)
{
    cpu_backend *b = ctx;
    memcpy(b->population + first * b->D, rows, count * b->D * sizeof(float));
    return DEVO_OK;
}

static devo_status cpu_bind_data(void *ctx, const float *x, const float *y, size_t n)
{
    cpu_backend *b = ctx;
    b->x = x;
    b->y = y;
    b->n = n;
    return DEVO_OK;
}

static devo_status cpu_evaluate(void *ctx, const size_t *rows, size_t row_count, size_t first,
                                size_t count, double *fitness)
{
    cpu_backend *b = ctx;
    return devo_cpu_evaluate(b->evaluator, b->population + first * b->D, first, count, b->x,
                             b->y, rows, rows ? row_count : b->n, b->cfg.fitness,
                             fitness + first);
}

static devo_status cpu_rank(void *ctx, const double *fitness, size_t *order)
{
    cpu_backend *b = ctx;
    devo_rank(fitness, b->cfg.population, order, b->scratch);
    return DEVO_OK;
}

/* One generation's breeding, for devo_parallel_for over the children first_child.. */
typedef struct breed_job {
    cpu_backend *b;
    const uint32_t *pairs;
    uint32_t generation;
    size_t first_child;
} breed_job;

static void make_children(void *ctx, size_t part, size_t begin, size_t end)
{
    (void)part;
    breed_job *job = ctx;
    cpu_backend *b = job->b;
    size_t k = b->cfg.top_k, D = b->D;
    for (size_t c = job->first_child + begin; c < job->first_child + end; c++) {
        const uint32_t *pair = job->pairs + 2 * c;
        devo_cpu_make_child(b->next + (k + c) * D, b->next + pair[0] * D, b->next + pair[1] * D,
                            D, b->cfg.seed, job->generation, (uint32_t)(k + c),
                            b->cfg.mutation_threshold, b->cfg.mutation_std);
    }
}

static devo_status cpu_breed_range(void *ctx, const size_t *order, const uint32_t *pairs,
                                   uint32_t generation, size_t first, size_t count)
{
    cpu_backend *b = ctx;
    size_t k = b->cfg.top_k, D = b->D;
    // Elites first (children are made from their new slots), then the children of slots
    // [first, first + count) in parallel: each child's draws depend on its slot only.
    for (size_t r = 0; r < k; r++)
        memcpy(b->next + r * D, b->population + order[r] * D, D * sizeof(float));
    size_t begin = first > k ? first : k, end = first + count;
    breed_job job = {b, pairs, generation, begin - k};
    if (end > begin)
        DEVO_TRY(devo_parallel_for((size_t)devo_cpu_thread_count(b->cfg.threads), end - begin,
                                   make_children, &job));
    float *swap = b->population;
    b->population = b->next;
    b->next = swap;
    return DEVO_OK;
}

static devo_status cpu_breed(void *ctx, const size_t *order, const uint32_t *pairs,
                             uint32_t generation)
{
    return cpu_breed_range(ctx, order, pairs, generation, 0, ((cpu_backend *)ctx)->cfg.population);
}

static devo_status cpu_population(void *ctx, const float **view)
{
    *view = ((cpu_backend *)ctx)->population;
    return DEVO_OK;
}

static devo_status cpu_individual(void *ctx, size_t index, float *dst)
{
    cpu_backend *b = ctx;
    memcpy(dst, b->population + index * b->D, b->D * sizeof(float));
    return DEVO_OK;
}

static devo_status cpu_forward(void *ctx, const float *x, size_t rows, float *y)
{
    cpu_backend *b = ctx;
    return devo_cpu_forward_split_run(&b->own, b->cfg.arch, b->population, b->cfg.population, x,
                                      rows, y, b->cfg.threads);
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
} ceiling_buffers;

static void square_sgemm(void *state)
{
    ceiling_buffers *s = state;
    // c (n, n) = a (n, n) x b (n, n), all row-major
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->n, s->n, s->n, 1.0f, s->a, s->n,
                s->b, s->n, 0.0f, s->c, s->n);
}

static void big_copy(void *state)
{
    ceiling_buffers *s = state;
    memcpy(s->c, s->a, s->copy_bytes);
}

static devo_status cpu_measure_ceiling(int threads, devo_precision precision, double *gemm_flops,
                                       double *copy_bytes_per_second, size_t *gemm_size)
{
    (void)precision; // FP32 only: the CPU backend refuses the others
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
    // The ceiling is OpenBLAS on every thread: the one multi-threaded GEMM devo runs.
    int previous_threads = devo_blas_threads(devo_cpu_thread_count(threads));
    double gemm_seconds = fastest_seconds(square_sgemm, &s, 3);
    devo_blas_threads(previous_threads);
    double copy_seconds = fastest_seconds(big_copy, &s, 5);
    *gemm_flops = 2.0 * s.n * (double)s.n * s.n / gemm_seconds;
    // A copy reads and writes every byte once.
    *copy_bytes_per_second = 2.0 * (double)s.copy_bytes / copy_seconds;
    *gemm_size = (size_t)s.n;
    free(s.a);
    free(s.b);
    free(s.c);
    return DEVO_OK;
}

const devo_backend_i *devo_backend_cpu(void)
{
    static const devo_backend_i cpu = {
        .name = "cpu",
        .create = cpu_create,
        .destroy = cpu_destroy,
        .init_population = cpu_init_population,
        .bind_data = cpu_bind_data,
        .evaluate = cpu_evaluate,
        .rank = cpu_rank,
        .breed = cpu_breed,
        .population = cpu_population,
        .individual = cpu_individual,
        .forward = cpu_forward,
        .measure_ceiling = cpu_measure_ceiling,
        .load_population = cpu_load_population,
        .breed_range = cpu_breed_range,
    };
    return &cpu;
}
