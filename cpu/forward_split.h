/*
 * forward_split.h - devo_evolver_forward on the CPU: every individual of a population on
 * its own samples (forward.c's devo_cpu_forward_own), the individuals split over devo's
 * threads with OpenBLAS on one thread inside (see blas.h). Each individual's outputs are
 * its own GEMMs', so they are the same bits on any thread count. Not for evaluation
 * (evaluate.c), where individuals share their samples. In BF16 the inputs are rounded once
 * per call and each part's GEMMs are forward.c's BF16 ones.
 */
#ifndef DEVO_FORWARD_SPLIT_CPU_H
#define DEVO_FORWARD_SPLIT_CPU_H

#include "forward.h"

/* Per-thread work space, kept between calls (one call per environment step). */
typedef struct devo_cpu_forward_split {
    devo_cpu_forward *parts; /* (threads) */
    size_t threads;
    size_t rows, members;    /* the most samples and individuals each part holds */
    int bf16;                /* the parts' GEMMs are BF16 */
    devo_bf16 *x16;          /* BF16: the inputs rounded, (x16_count) */
    size_t x16_count;
} devo_cpu_forward_split;

/* y (P, rows, outputs) = the activated outputs of individuals w (P, D) on x (P, rows, inputs),
 * on up to `threads` threads (0: all cores); in BF16 when w16 (P, D), w rounded, is given
 * (else NULL). s starts zeroed; its work space grows as needed. */
devo_status devo_cpu_forward_split_run(devo_cpu_forward_split *s, const devo_model *arch,
                                       const float *w, const devo_bf16 *w16, size_t P,
                                       const float *x, size_t rows, float *y, int threads);

/* Frees the work space; s is zeroed. */
void devo_cpu_forward_split_release(devo_cpu_forward_split *s);

#endif /* DEVO_FORWARD_SPLIT_CPU_H */
