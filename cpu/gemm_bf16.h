/*
 * gemm_bf16.h - the CPU device's BF16 GEMMs, through oneDNN's matmul: BF16 operands, FP32
 * accumulation and FP32 results, on oneDNN's AVX512-BF16 (Zen 4, Cooper Lake) or AMX-BF16
 * (Sapphire Rapids and later) kernels. Each GEMM runs on the calling thread alone, from a
 * primitive made once per shape and kept (devo_bf16_gemm: one per worker thread), so its
 * partition and its sums' order are the same whatever devo's thread count. A CPU without
 * BF16 instructions (or a build without oneDNN) is refused, never emulated slowly.
 */
#ifndef DEVO_GEMM_BF16_CPU_H
#define DEVO_GEMM_BF16_CPU_H

#include <stddef.h>

#include "bf16.h"
#include "devo.h"
#include "error.h"

/* DEVO_OK when the BF16 GEMMs run here on BF16 instructions; else DEVO_ERR_UNSUPPORTED with
 * a message naming what is missing (the CPU feature, or oneDNN in this build). oneDNN's own
 * ONEDNN_MAX_CPU_ISA caps the instructions it may use, and this check with them. */
devo_status devo_bf16_available(void);

/* DEVO_OK when the CPU computes in `precision`: FP32 always, BF16 when devo_bf16_available,
 * TF32 never (a CUDA format); else DEVO_ERR_UNSUPPORTED naming `who`. */
static inline devo_status devo_cpu_precision_available(devo_precision precision, const char *who)
{
    if (precision == DEVO_PRECISION_TF32)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "%s: no TF32 on the CPU (FP32 or BF16)", who);
    return precision == DEVO_PRECISION_BF16 ? devo_bf16_available() : DEVO_OK;
}

/* The kernels the BF16 GEMMs run, e.g. "oneDNN 2.6.3 brg:avx512_core_bf16" (the library,
 * its implementation and ISA for a first-layer shape), or why there are none. */
const char *devo_bf16_kernels(void);

typedef struct devo_bf16_gemm devo_bf16_gemm;

/* A GEMM work space: a stream and the primitives of the shapes it ran, each GEMM on `threads`
 * threads (1 inside evaluation, one work space per worker; more for the ceiling). */
devo_status devo_bf16_gemm_create(devo_bf16_gemm **out, int threads);
void devo_bf16_gemm_free(devo_bf16_gemm *g); /* accepts NULL */

/* c (m, n; row stride ldc) = a (m, k; lda) x b (k, n; ldb), row-major, BF16 operands, FP32
 * accumulation, on g's threads (the calling thread's alone for 1). DEVO_ERR_BACKEND when
 * oneDNN fails. */
devo_status devo_bf16_gemm_run(devo_bf16_gemm *g, size_t m, size_t n, size_t k,
                               const devo_bf16 *a, size_t lda, const devo_bf16 *b, size_t ldb,
                               float *c, size_t ldc);

#endif /* DEVO_GEMM_BF16_CPU_H */
