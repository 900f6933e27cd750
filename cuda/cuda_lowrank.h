/*
 * cuda_lowrank.h - low-rank ES population evaluation on the GPU (cuda_lowrank.cu),
 * the device counterpart of lowrank.c with the same factors and the same
 * population: layer 0 as one cuBLAS GEMM x [W_0 | A_1 .. A_dirs] plus a fused
 * kernel for the thin per-individual terms, bias and activation; later layers
 * as one GEMM over all individuals' stacked rows plus the thin (H A) B^T terms, H A
 * made by the kernel that wrote H, warp by row, while the row is in cache.
 * A context keeps its stream, cuBLAS handle, bound data, the factors and work
 * space across generations: the factors are drawn on the device (rng.h's
 * LOW_RANK stream, bitwise the CPU's), and only the centre and sigma go down.
 * C linkage, usable from C and C++. Not installed.
 */
#ifndef DEVO_CUDA_LOWRANK_H
#define DEVO_CUDA_LOWRANK_H

#ifdef __cplusplus
extern "C" {
#endif

#include "device.h"
#include "lowrank.h"

typedef struct devo_cuda_lowrank devo_cuda_lowrank;

/* A context on CUDA device `device` for up to `population` individuals around `dirs`
 * directions of rank `rank` (>= 1) of arch (borrowed for the context's life), on chunks of
 * batch_size samples or a multiple of it (devo_cuda_chunk). Hidden softmax layers are
 * DEVO_ERR_UNSUPPORTED; no device is DEVO_ERR_UNSUPPORTED. */
devo_status devo_cuda_lowrank_create(devo_cuda_lowrank **out, const devo_model *arch,
                                     size_t population, size_t dirs, size_t rank,
                                     size_t batch_size, int device);
void devo_cuda_lowrank_free(devo_cuda_lowrank *g); /* accepts NULL */

/* Uploads x (n, inputs) and y (n, target width), replacing what was bound. */
devo_status devo_cuda_lowrank_bind(devo_cuda_lowrank *g, const float *x, const float *y,
                                   size_t n);

/* The population of `generation` around center and sigma (D each, uploaded): every
 * direction's factors drawn on the device, element e of direction d being normal e % 4 of
 * rng.h's block (seed, LOW_RANK, generation, d, e / 4), as es_noise.c draws them; then
 * copied into host_eps (directions, F) when it is not NULL. */
devo_status devo_cuda_lowrank_perturb(devo_cuda_lowrank *g, const float *center,
                                      const float *sigma, uint64_t seed, uint32_t generation,
                                      float *host_eps);

/* fitness[first .. first + count) of individuals [first, first + count) of the population
 * last drawn (antithetic as pop says; pop->noise gives the factors' layout) on the bound
 * rows listed in rows (samples of them), or the first `samples`: devo_lowrank_evaluate's
 * fitness up to float rounding. */
devo_status devo_cuda_lowrank_evaluate(devo_cuda_lowrank *g, const devo_lowrank_population *pop,
                                       const size_t *rows, size_t samples, devo_fitness kind,
                                       size_t first, size_t count, double *fitness);

/* *fitness of the centre last drawn around, alone, on the same samples as evaluate. */
devo_status devo_cuda_lowrank_evaluate_center(devo_cuda_lowrank *g, const size_t *rows,
                                              size_t samples, devo_fitness kind,
                                              double *fitness);

/* The bytes the context copied each way and holds on the device. */
void devo_cuda_lowrank_traffic(const devo_cuda_lowrank *g, devo_device_traffic *out);

#ifdef __cplusplus
}
#endif

#endif /* DEVO_CUDA_LOWRANK_H */
