/*
 * es_eval.h - where the evolution strategies' backend (es_backend.c) has its
 * fitness computed: the population its search distribution implies, and the
 * distribution's centre. The host keeps the distribution, its draws (the run's
 * Philox) and its update; an evaluator only evaluates, on the CPU
 * (cpu/es_eval_cpu.c) or on a CUDA device (cuda/cuda_es_eval.cu). The same
 * population gives the same fitness on both up to float rounding (cuBLAS sums
 * in another order). Never installed.
 */
#ifndef DEVO_ES_EVAL_H
#define DEVO_ES_EVAL_H

#include <stddef.h>

#include "backend.h"
#include "lowrank_cpu.h"

typedef struct devo_es_eval_i {
    const char *name; /* "cpu", "cuda" */
    /* An evaluator of cfg's population (P individuals, cfg->fitness, chunks of
     * cfg->batch_size samples) around `dirs` directions of rank `rank` (0: full rank). */
    devo_status (*create)(void **ctx, const devo_backend_config *cfg, size_t dirs, size_t rank);
    void (*destroy)(void *ctx); /* accepts NULL */
    /* Keeps (or uploads once) x (n, inputs) and y (n, target width). */
    devo_status (*bind_data)(void *ctx, const float *x, const float *y, size_t n);
    /* fitness[first, first + count) of individuals [first, first + count) on the bound rows
     * listed in rows (samples of them), or on the first `samples`. Rank >= 1: from pop's
     * factors, never materialised (individuals is NULL); rank 0: from individuals (count, D),
     * those individuals materialised. */
    devo_status (*evaluate)(void *ctx, const devo_lowrank_population *pop,
                            const float *individuals, const size_t *rows, size_t samples,
                            size_t first, size_t count, double *fitness);
    /* *fitness of pop->center (D) on the same samples as evaluate (pop->noise of any rank). */
    devo_status (*evaluate_center)(void *ctx, const devo_lowrank_population *pop,
                                   const size_t *rows, size_t samples, double *fitness);
} devo_es_eval_i;

/* On the CPU (evaluate_cpu.c, lowrank_cpu.c); always built. */
const devo_es_eval_i *devo_es_eval_cpu(void);

/* On the CUDA device of cfg->device (the CUDA backend's evaluation at full rank,
 * cuda_lowrank.cu at low rank), or NULL when devo was built without CUDA. */
const devo_es_eval_i *devo_es_eval_cuda(void);

#endif /* DEVO_ES_EVAL_H */
