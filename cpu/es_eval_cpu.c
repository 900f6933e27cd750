/*
 * es_eval_cpu.c - an ES population's fitness on the CPU (es_eval.h): full rank,
 * the materialised individuals through evaluate_cpu.c; low rank, the factors
 * through lowrank_cpu.c; the centre as slot 0 of evaluate_cpu.c (its GEMM shape
 * is slot 0's). The bound data is borrowed, never copied.
 */
#include <stdlib.h>

#include "error.h"
#include "es_eval.h"
#include "evaluate_cpu.h"

typedef struct es_eval_cpu {
    devo_fitness fitness;
    const float *x, *y;         /* (n, inputs), (n, target width); borrowed */
    devo_cpu_evaluator *full;   /* full rank: the population; always: the centre */
    devo_lowrank_eval *lowrank; /* low rank: the population */
} es_eval_cpu;

static void cpu_destroy(void *ctx)
{
    es_eval_cpu *e = ctx;
    if (!e) return;
    devo_cpu_evaluator_free(e->full);
    devo_lowrank_free(e->lowrank);
    free(e);
}

static devo_status cpu_create(void **ctx, const devo_backend_config *cfg, size_t dirs,
                              size_t rank)
{
    (void)dirs;
    es_eval_cpu *e = calloc(1, sizeof *e);
    if (!e) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "es evaluator: out of memory");
    e->fitness = cfg->fitness;
    devo_status status = devo_cpu_evaluator_create(&e->full, cfg->arch, rank ? 1 : cfg->population,
                                                   cfg->batch_size, cfg->threads);
    if (status == DEVO_OK && rank)
        status = devo_lowrank_create(&e->lowrank, cfg->arch, cfg->population, cfg->batch_size,
                                     cfg->threads);
    if (status != DEVO_OK) {
        cpu_destroy(e);
        return status;
    }
    *ctx = e;
    return DEVO_OK;
}

static devo_status cpu_bind_data(void *ctx, const float *x, const float *y, size_t n)
{
    (void)n;
    es_eval_cpu *e = ctx;
    e->x = x;
    e->y = y;
    return DEVO_OK;
}

static devo_status cpu_evaluate(void *ctx, const devo_lowrank_population *pop,
                                const float *individuals, const size_t *rows, size_t samples,
                                size_t first, size_t count, double *fitness)
{
    es_eval_cpu *e = ctx;
    if (e->lowrank)
        return devo_lowrank_evaluate(e->lowrank, pop, e->x, e->y, rows, samples, e->fitness,
                                     first, count, fitness);
    return devo_cpu_evaluate(e->full, individuals, first, count, e->x, e->y, rows, samples,
                             e->fitness, fitness + first);
}

static devo_status cpu_evaluate_center(void *ctx, const devo_lowrank_population *pop,
                                       const size_t *rows, size_t samples, double *fitness)
{
    es_eval_cpu *e = ctx;
    return devo_cpu_evaluate(e->full, pop->center, 0, 1, e->x, e->y, rows, samples, e->fitness,
                             fitness);
}

const devo_es_eval_i *devo_es_eval_cpu(void)
{
    static const devo_es_eval_i cpu = {
        .name = "cpu",
        .create = cpu_create,
        .destroy = cpu_destroy,
        .bind_data = cpu_bind_data,
        .evaluate = cpu_evaluate,
        .evaluate_center = cpu_evaluate_center,
    };
    return &cpu;
}
