/*
 * backend_cpu.c - the CPU reference backend: the population as one P x D host
 * buffer (double-buffered), evaluation on OpenBLAS sgemm in chunks of
 * batch_size samples with the first layer of a whole group of individuals as
 * one GEMM, host ranking, and the reference variation.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "forward_cpu.h"
#include "selection.h"
#include "variation_cpu.h"

/* Upper bound of the evaluation work space (activations and packed kernels). */
#define DEVO_CPU_WORKSPACE_BYTES ((size_t)256 << 20)

typedef struct cpu_backend {
    devo_backend_config cfg;
    size_t D;
    float *population; /* (P, D) */
    float *next;       /* (P, D): the generation being made */
    size_t *scratch;   /* (P): ranking scratch */
    const float *x, *y; /* bound data: (n, inputs), (n, target width); borrowed */
    size_t n;
    size_t group;      /* individuals evaluated together */
    devo_cpu_forward forward;
    float *gathered_x; /* (batch_size, inputs): one chunk of a sample subset */
    float *gathered_y; /* (batch_size, target width) */
    double *loss_sum;  /* (group): per-individual loss sums of the group being evaluated */
    size_t *correct;   /* (group) */
} cpu_backend;

static void cpu_destroy(void *ctx)
{
    cpu_backend *b = ctx;
    if (!b) return;
    free(b->population);
    free(b->next);
    free(b->scratch);
    free(b->gathered_x);
    free(b->gathered_y);
    free(b->loss_sum);
    free(b->correct);
    devo_cpu_forward_release(&b->forward);
    free(b);
}

/* Individuals per evaluation group so that the work space stays under its bound. */
static size_t evaluation_group(const devo_model *arch, size_t P, size_t rows)
{
    size_t group = P;
    while (group > 1 && devo_cpu_forward_bytes(arch, rows, group) > DEVO_CPU_WORKSPACE_BYTES)
        group = (group + 1) / 2;
    return group;
}

static devo_status cpu_create(void **ctx, const devo_backend_config *cfg)
{
    if (cfg->precision != DEVO_PRECISION_FP32)
        return devo_fail(DEVO_ERR_UNSUPPORTED,
                         "cpu backend: only DEVO_PRECISION_FP32 is supported (asked for %d)",
                         (int)cfg->precision);
    cpu_backend *b = calloc(1, sizeof *b);
    if (!b) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    b->cfg = *cfg;
    b->D = cfg->arch->param_count;
    size_t P = cfg->population, D = b->D;
    size_t width = devo_model_target_width(cfg->arch);
    b->group = evaluation_group(cfg->arch, P, cfg->batch_size);
    if (P > SIZE_MAX / sizeof(float) / D) {
        cpu_destroy(b);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu backend: population %zu x %zu weights "
                                                 "does not fit in memory", P, D);
    }
    b->population = malloc(P * D * sizeof(float));
    b->next = malloc(P * D * sizeof(float));
    b->scratch = malloc(P * sizeof(size_t));
    b->gathered_x = malloc(cfg->batch_size * cfg->arch->input_dim * sizeof(float));
    b->gathered_y = malloc(cfg->batch_size * width * sizeof(float));
    b->loss_sum = malloc(b->group * sizeof(double));
    b->correct = malloc(b->group * sizeof(size_t));
    if (!b->population || !b->next || !b->scratch || !b->gathered_x || !b->gathered_y ||
        !b->loss_sum || !b->correct) {
        cpu_destroy(b);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "cpu backend: cannot allocate 2 x %zu x %zu population weights", P, D);
    }
    devo_status status = devo_cpu_forward_init(&b->forward, cfg->arch, cfg->batch_size, b->group);
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

static devo_status cpu_bind_data(void *ctx, const float *x, const float *y, size_t n)
{
    cpu_backend *b = ctx;
    b->x = x;
    b->y = y;
    b->n = n;
    return DEVO_OK;
}

/* Runs OpenBLAS on the configured number of threads; returns the previous count. */
static int use_threads(int threads)
{
    int previous = openblas_get_num_threads();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    openblas_set_num_threads(threads > 0 ? threads : (int)(cores > 0 ? cores : 1));
    return previous;
}

static devo_status cpu_evaluate(void *ctx, const size_t *rows, size_t row_count, size_t first,
                                size_t count, double *fitness)
{
    cpu_backend *b = ctx;
    const devo_model *arch = b->cfg.arch;
    size_t inputs = arch->input_dim, width = devo_model_target_width(arch);
    size_t samples = rows ? row_count : b->n, batch = b->cfg.batch_size;
    double *loss_sum = b->loss_sum;
    size_t *correct = b->correct;
    int previous_threads = use_threads(b->cfg.threads);
    for (size_t g0 = first; g0 < first + count; g0 += b->group) {
        size_t members = first + count - g0 < b->group ? first + count - g0 : b->group;
        const float *w = b->population + g0 * b->D;
        devo_cpu_forward_pack(&b->forward, w, members);
        memset(loss_sum, 0, members * sizeof *loss_sum);
        memset(correct, 0, members * sizeof *correct);
        for (size_t s0 = 0; s0 < samples; s0 += batch) {
            size_t chunk = samples - s0 < batch ? samples - s0 : batch;
            const float *x = b->x + s0 * inputs, *y = b->y + s0 * width;
            if (rows) {
                for (size_t r = 0; r < chunk; r++) {
                    memcpy(b->gathered_x + r * inputs, b->x + rows[s0 + r] * inputs,
                           inputs * sizeof(float));
                    memcpy(b->gathered_y + r * width, b->y + rows[s0 + r] * width,
                           width * sizeof(float));
                }
                x = b->gathered_x;
                y = b->gathered_y;
            }
            devo_logits_view view = devo_cpu_forward_shared(&b->forward, w, members, x, chunk);
            for (size_t p = 0; p < members; p++)
                devo_cpu_accumulate_metrics(arch, view, p, chunk, y, &loss_sum[p], &correct[p]);
        }
        for (size_t p = 0; p < members; p++)
            fitness[g0 + p] = b->cfg.fitness == DEVO_FITNESS_ACCURACY
                                  ? (double)correct[p] / (double)samples
                                  : -loss_sum[p] / (double)samples;
    }
    openblas_set_num_threads(previous_threads);
    return DEVO_OK;
}

static devo_status cpu_rank(void *ctx, const double *fitness, size_t *order)
{
    cpu_backend *b = ctx;
    devo_rank(fitness, b->cfg.population, order, b->scratch);
    return DEVO_OK;
}

static devo_status cpu_breed(void *ctx, const size_t *order, const uint32_t *pairs,
                             uint32_t generation)
{
    cpu_backend *b = ctx;
    size_t P = b->cfg.population, k = b->cfg.top_k, D = b->D;
    for (size_t r = 0; r < k; r++)
        memcpy(b->next + r * D, b->population + order[r] * D, D * sizeof(float));
    for (size_t slot = k; slot < P; slot++) {
        const uint32_t *pair = pairs + 2 * (slot - k);
        devo_cpu_make_child(b->next + slot * D, b->next + pair[0] * D, b->next + pair[1] * D, D,
                            b->cfg.seed, generation, (uint32_t)slot, b->cfg.mutation_threshold,
                            b->cfg.mutation_std);
    }
    float *swap = b->population;
    b->population = b->next;
    b->next = swap;
    return DEVO_OK;
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
    const devo_model *arch = b->cfg.arch;
    size_t P = b->cfg.population, outputs = devo_model_output_dim(arch);
    devo_cpu_forward f;
    DEVO_TRY(devo_cpu_forward_init(&f, arch, rows, P));
    int previous_threads = use_threads(b->cfg.threads);
    devo_logits_view view = devo_cpu_forward_own(&f, b->population, P, x, rows);
    openblas_set_num_threads(previous_threads);
    for (size_t p = 0; p < P; p++)
        devo_cpu_write_outputs(arch, view, p, rows, y + p * rows * outputs);
    devo_cpu_forward_release(&f);
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
    };
    return &cpu;
}
