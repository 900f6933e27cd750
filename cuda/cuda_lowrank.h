/*
 * cuda_lowrank.h - low-rank ES population evaluation on the GPU (cuda_lowrank.cu),
 * the device counterpart of lowrank_cpu.c with the same factors and the same
 * population: layer 0 as one cuBLAS GEMM x [W_0 | A_1 .. A_dirs] plus a fused
 * kernel for the thin per-individual terms, bias and activation; later layers
 * as one GEMM over all individuals' stacked rows plus the thin (H A) B^T kernels.
 * Standalone (its own stream, handle and buffers per call): the ES engine runs on
 * the CPU backend for now. C linkage, usable from C and C++. Not installed.
 */
#ifndef DEVO_CUDA_LOWRANK_H
#define DEVO_CUDA_LOWRANK_H

#ifdef __cplusplus
extern "C" {
#endif

#include "lowrank_cpu.h"

/* fitness (P) of individuals 0..P-1 of pop (rank >= 1) on x (rows, inputs) and y (rows,
 * target width), as devo_lowrank_evaluate computes it on the same rows. Hidden softmax
 * layers are DEVO_ERR_UNSUPPORTED; no device is DEVO_ERR_UNSUPPORTED. */
devo_status devo_cuda_lowrank_evaluate(const devo_lowrank_population *pop, size_t P,
                                       const float *x, const float *y, size_t rows,
                                       devo_fitness kind, double *fitness);

#ifdef __cplusplus
}
#endif

#endif /* DEVO_CUDA_LOWRANK_H */
