/*
 * cuda_loss.cuh - the per-individual loss and accuracy reduction that every
 * device evaluation ends with (cuda_evaluate.cu, cuda_lowrank.cu): one block per
 * individual, a fixed summation order, so a fitness is the same bit for bit; and
 * the fitness read back from its sums.
 */
#ifndef DEVO_CUDA_LOSS_CUH
#define DEVO_CUDA_LOSS_CUH

#include "cuda_device.h"
#include "cuda_check.h"
#include "cuda_layout.h"

extern "C" {
#include "nn_math.h"
}

#define DEVO_CUDA_REDUCE_THREADS 256

// One block per individual: sums the per-sample loss and hits of `rows` samples in a fixed
// order (thread-strided partial sums, then a fixed tree) and adds them to the run's sums.
static __global__ void devo_cuda_loss_kernel(cuda_view v, size_t rows, size_t outputs,
                                             devo_activation act, devo_loss loss,
                                             const float *__restrict__ targets, size_t width,
                                             double *__restrict__ loss_sum,
                                             unsigned long long *__restrict__ correct)
{
    __shared__ double partial_loss[DEVO_CUDA_REDUCE_THREADS];
    __shared__ unsigned long long partial_hits[DEVO_CUDA_REDUCE_THREADS];
    size_t p = blockIdx.x;
    double l = 0.0;
    unsigned long long hits = 0;
    for (size_t r = threadIdx.x; r < rows; r += DEVO_CUDA_REDUCE_THREADS) {
        const float *z = v.base + p * v.individual_stride + r * v.row_stride;
        const float *t = targets + r * width;
        if (loss != DEVO_LOSS_NONE) l += devo_sample_loss(act, loss, z, outputs, t);
        hits += (unsigned long long)devo_sample_correct(act, loss, z, outputs, t);
    }
    partial_loss[threadIdx.x] = l;
    partial_hits[threadIdx.x] = hits;
    __syncthreads();
    for (unsigned half = DEVO_CUDA_REDUCE_THREADS / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) {
            partial_loss[threadIdx.x] += partial_loss[threadIdx.x + half];
            partial_hits[threadIdx.x] += partial_hits[threadIdx.x + half];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        loss_sum[p] += partial_loss[0];
        correct[p] += partial_hits[0];
    }
}

/* Starts an evaluation's sums on stream: uploads the host row list rows (samples indices, when
 * not NULL) to device_rows and zeroes the loss and hit sums of count individuals. */
static inline devo_status devo_cuda_begin_sums(cudaStream_t stream, const size_t *rows,
                                               size_t samples, long long *device_rows,
                                               double *loss_sum, unsigned long long *correct,
                                               size_t count, devo_device_traffic *traffic)
{
    if (rows) {
        static_assert(sizeof(size_t) == sizeof(long long), "row indices travel as 64-bit");
        CUDA_TRY(cudaMemcpyAsync(device_rows, rows, samples * sizeof(long long),
                                 cudaMemcpyHostToDevice, stream));
        traffic->to_device += samples * sizeof(long long);
    }
    CUDA_TRY(cudaMemsetAsync(loss_sum, 0, count * sizeof(double), stream));
    CUDA_TRY(cudaMemsetAsync(correct, 0, count * sizeof(unsigned long long), stream));
    return DEVO_OK;
}

/* fitness (count) from the sums (count each, on the device) of `samples` samples: minus the
 * mean loss, or the accuracy; host_loss and host_correct (count each) stage them. Waits for
 * stream. */
static inline devo_status devo_cuda_read_fitness(cudaStream_t stream, const double *loss_sum,
                                                 const unsigned long long *correct,
                                                 double *host_loss,
                                                 unsigned long long *host_correct, size_t count,
                                                 size_t samples, devo_fitness kind,
                                                 double *fitness, devo_device_traffic *traffic)
{
    CUDA_TRY(cudaMemcpyAsync(host_loss, loss_sum, count * sizeof(double), cudaMemcpyDeviceToHost,
                             stream));
    CUDA_TRY(cudaMemcpyAsync(host_correct, correct, count * sizeof(unsigned long long),
                             cudaMemcpyDeviceToHost, stream));
    traffic->to_host += count * (sizeof(double) + sizeof(unsigned long long));
    CUDA_TRY(devo_cuda_wait(stream));
    for (size_t p = 0; p < count; p++)
        fitness[p] = devo_cuda_fitness(kind, host_loss[p], host_correct[p], samples);
    return DEVO_OK;
}

#endif /* DEVO_CUDA_LOSS_CUH */
