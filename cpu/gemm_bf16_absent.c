/*
 * gemm_bf16_absent.c - what a build without oneDNN says about BF16 on the CPU: unsupported.
 * Compiled instead of gemm_bf16.c when CMake finds no oneDNN (DEVO_ONEDNN).
 */
#include "error.h"
#include "gemm_bf16.h"

static devo_status absent(void)
{
    return devo_fail(DEVO_ERR_UNSUPPORTED, "cpu device: BF16 needs oneDNN, which this build of "
                                           "devo lacks (install libdnnl-dev and build again)");
}

devo_status devo_bf16_available(void) { return absent(); }

const char *devo_bf16_kernels(void) { return "none (built without oneDNN)"; }

devo_status devo_bf16_gemm_create(devo_bf16_gemm **out, int threads)
{
    (void)threads;
    *out = NULL;
    return absent();
}

void devo_bf16_gemm_free(devo_bf16_gemm *g) { (void)g; }

devo_status devo_bf16_gemm_run(devo_bf16_gemm *g, size_t m, size_t n, size_t k,
                               const devo_bf16 *a, size_t lda, const devo_bf16 *b, size_t ldb,
                               float *c, size_t ldc)
{
    (void)g, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
    return absent();
}
