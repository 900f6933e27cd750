/*
 * cuda_gather.cuh - the gather of a subset's rows into a chunk, shared by every
 * device evaluation that takes row lists (cuda_evaluate.cu, cuda_lowrank.cu).
 */
#ifndef DEVO_CUDA_GATHER_CUH
#define DEVO_CUDA_GATHER_CUH

#include "cuda_device.h"

// dst (count, width) = src rows listed in rows (count), as operands of type T.
template <typename T>
__global__ void gather_rows_kernel(const float *__restrict__ src, const long long *__restrict__ rows,
                                   size_t count, size_t width, T *__restrict__ dst)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count * width;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = to_operand<T>(src[(size_t)rows[i / width] * width + i % width]);
}

#endif /* DEVO_CUDA_GATHER_CUH */
