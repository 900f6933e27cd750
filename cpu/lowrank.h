/*
 * lowrank.h - evaluation of a low-rank ES population on the CPU without
 * materialising its P x D weights (EGGROLL, Sarkar et al. 2025). Individual i
 * has kernels W_l + c_i A B^T (c_i = sign_i sigma_l / sqrt(r)), so
 *   layer 0, shared samples:  X W_0 and X [A_1 .. A_P] are one GEMM for the whole
 *       population, then each individual adds its thin (X A_i) B_i^T;
 *   layers l >= 1 (and layer 0 on each individual's own inputs): a group of
 *       individuals' inputs stacked, H W_l as one GEMM, then each adds (H_i A_i) B_i^T.
 * Fitness sums are kept per sample chunk and individual and added in chunk
 * order, so results do not depend on the thread count.
 */
#ifndef DEVO_LOWRANK_CPU_H
#define DEVO_LOWRANK_CPU_H

#include "es_noise.h"

typedef struct devo_lowrank_eval devo_lowrank_eval;

/* An evaluator for up to `population` individuals on chunks of up to batch_size samples;
 * precision FP32, or BF16 for the shared first-layer GEMM (DEVO_ERR_UNSUPPORTED where this
 * CPU has no BF16 GEMMs). devo_lowrank_forward_own is FP32 in either. */
devo_status devo_lowrank_create(devo_lowrank_eval **out, const devo_model *arch,
                                size_t population, size_t batch_size, int threads,
                                devo_precision precision);
void devo_lowrank_free(devo_lowrank_eval *e);

/* The population the noise implies around center and sigma (D each); individual i is
 * direction i / 2 with sign +-1 when antithetic, direction i with sign +1 otherwise. */
typedef struct devo_lowrank_population {
    const devo_es_noise *noise; /* rank >= 1 */
    int antithetic;
    const float *center, *sigma;
} devo_lowrank_population;

/* fitness[first .. first + count) of individuals [first, first + count) on x (n, inputs) and
 * y (n, target width): the rows listed in rows (samples of them), or the first `samples`. */
devo_status devo_lowrank_evaluate(devo_lowrank_eval *e, const devo_lowrank_population *pop,
                                  const float *x, const float *y, const size_t *rows,
                                  size_t samples, devo_fitness kind, size_t first, size_t count,
                                  double *fitness);

/* Every individual on its own inputs: x (P, rows, inputs) -> y (P, rows, outputs), activated.
 * rows must not exceed the evaluator's batch_size. */
devo_status devo_lowrank_forward_own(devo_lowrank_eval *e, const devo_lowrank_population *pop,
                                     size_t P, const float *x, size_t rows, float *y);

/* devo_lowrank_forward_own on a work space kept between calls (devo_evolver_forward runs once
 * per environment step): *own (NULL at first, freed by the caller) holds up to *own_rows
 * rows and is made again, larger, when rows exceeds them. */
devo_status devo_lowrank_forward_kept(devo_lowrank_eval **own, size_t *own_rows,
                                      const devo_model *arch, const devo_lowrank_population *pop,
                                      size_t P, const float *x, size_t rows, float *y,
                                      int threads);

/* dst (D) = individual i of pop, materialised (devo_es_materialise of direction i / 2, sign
 * + for even i and - for odd, when antithetic; else direction i, sign +). Any rank. */
void devo_lowrank_individual(const devo_lowrank_population *pop, size_t i, float *dst);

#endif /* DEVO_LOWRANK_CPU_H */
