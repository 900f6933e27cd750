/*
 * cuda_select.cu - selection on the GPU: a stable CUB radix sort of
 * (key, index) pairs. The key makes an ascending sort give devo_rank's order:
 * key = -fitness (zero of either sign as +0), NaN as +NaN, which CUB orders
 * after +inf; the sort is stable, so equal keys keep index order.
 */
#include <cub/device/device_radix_sort.cuh>

#include "cuda_device.h"
#include "cuda_check.h"

__global__ void rank_keys_kernel(const double *__restrict__ fitness, double *__restrict__ keys,
                                 int *__restrict__ values, size_t P)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < P;
         i += (size_t)gridDim.x * blockDim.x) {
        double f = fitness[i];
        keys[i] = isnan(f) ? __longlong_as_double(0x7ff8000000000000ll) : (f == 0.0 ? 0.0 : -f);
        values[i] = (int)i;
    }
}

devo_status cuda_sort_temp_bytes(size_t P, size_t *bytes)
{
    // First phase of CUB's two-phase pattern: the temp storage size, allocated once per run.
    CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, *bytes, (const double *)nullptr,
                                             (double *)nullptr, (const int *)nullptr,
                                             (int *)nullptr, (int)P));
    return DEVO_OK;
}

devo_status cuda_rank(void *ctx, const double *fitness, size_t *order)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    size_t P = b->P;
    DEVO_TRY(cuda_upload(b, b->fitness, fitness, P * sizeof(double)));
    rank_keys_kernel<<<cuda_grid_for(P), 256, 0, b->stream>>>(
        b->fitness, b->keys_in, b->values_in, P);
    CUDA_TRY_LAUNCH();
    size_t temp_bytes = b->sort_temp_bytes;
    CUDA_TRY(cub::DeviceRadixSort::SortPairs(b->sort_temp, temp_bytes, b->keys_in, b->keys_out,
                                             b->values_in, b->values_out, (int)P, 0,
                                             (int)(sizeof(double) * 8), b->stream));
    DEVO_TRY(cuda_download(b, b->host_order, b->values_out, P * sizeof(int)));
    CUDA_TRY(cudaStreamSynchronize(b->stream));
    for (size_t i = 0; i < P; i++) order[i] = (size_t)b->host_order[i];
    return DEVO_OK;
}
