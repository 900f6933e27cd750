/*
 * cuda_check.h - checking every CUDA, cuBLAS and CUB call: a failure becomes a
 * devo_status (DEVO_ERR_OUT_OF_MEMORY for allocation failures, else
 * DEVO_ERR_BACKEND) with a message naming the call, the file and the line.
 * The library never exits or aborts on a device error.
 */
#ifndef DEVO_CUDA_CHECK_H
#define DEVO_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "error.h"
}

devo_status devo_cuda_fail(cudaError_t error, const char *call, const char *file, int line);
devo_status devo_cublas_fail(cublasStatus_t status, const char *call, const char *file, int line);

#define CUDA_TRY(call)                                                                         \
    do {                                                                                       \
        cudaError_t cuda_try_error_ = (call);                                                  \
        if (cuda_try_error_ != cudaSuccess)                                                    \
            return devo_cuda_fail(cuda_try_error_, #call, __FILE__, __LINE__);                 \
    } while (0)

#define CUBLAS_TRY(call)                                                                       \
    do {                                                                                       \
        cublasStatus_t cublas_try_status_ = (call);                                            \
        if (cublas_try_status_ != CUBLAS_STATUS_SUCCESS)                                       \
            return devo_cublas_fail(cublas_try_status_, #call, __FILE__, __LINE__);            \
    } while (0)

/* Waits until stream's work is done, or until event has happened (at once when it has): every
 * wait of the device's calls goes through these, and those that block are counted for the
 * tests (devo_cuda_waits, cuda_hooks.h). */
cudaError_t devo_cuda_wait(cudaStream_t stream);
cudaError_t devo_cuda_wait_event(cudaEvent_t event);

/* After a kernel launch: the launch's own error (bad configuration, no kernel image). */
#define CUDA_TRY_LAUNCH() CUDA_TRY(cudaGetLastError())

#define CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

/* Blocks of 256 threads for a grid-stride loop over `work` items: enough to cover them, at
 * least 1, at most 65535 (the loop strides over the rest). */
static inline unsigned cuda_grid_for(size_t work)
{
    size_t blocks = CEIL_DIV(work, (size_t)256);
    return (unsigned)(blocks < 65535 ? (blocks ? blocks : 1) : 65535);
}

#endif /* DEVO_CUDA_CHECK_H */
