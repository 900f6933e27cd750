/*
 * cuda_check.cu - turning CUDA and cuBLAS failures into devo statuses, and the device's
 * waits, counted (see cuda_check.h).
 */
#include "cuda_check.h"
#include "cuda_hooks.h"

#include <atomic>

static std::atomic<uint64_t> waits; /* waits that blocked (a stream's always counts) */

extern "C" uint64_t devo_cuda_waits(void) { return waits.load(); }

cudaError_t devo_cuda_wait(cudaStream_t stream)
{
    waits++;
    return cudaStreamSynchronize(stream);
}

cudaError_t devo_cuda_wait_event(cudaEvent_t event)
{
    cudaError_t done = cudaEventQuery(event);
    if (done != cudaErrorNotReady) return done; // happened (or failed): nothing to wait for
    waits++;
    return cudaEventSynchronize(event);
}

devo_status devo_cuda_fail(cudaError_t error, const char *call, const char *file, int line)
{
    devo_status status =
        error == cudaErrorMemoryAllocation ? DEVO_ERR_OUT_OF_MEMORY : DEVO_ERR_BACKEND;
    cudaGetLastError(); // clear a non-sticky error so later calls are not blamed for it
    return devo_fail(status, "cuda device: %s failed at %s:%d: %s (%s)", call, file, line,
                     cudaGetErrorString(error), cudaGetErrorName(error));
}

devo_status devo_cublas_fail(cublasStatus_t status, const char *call, const char *file, int line)
{
    devo_status mapped =
        status == CUBLAS_STATUS_ALLOC_FAILED ? DEVO_ERR_OUT_OF_MEMORY : DEVO_ERR_BACKEND;
    return devo_fail(mapped, "cuda device: %s failed at %s:%d: %s", call, file, line,
                     cublasGetStatusString(status));
}
