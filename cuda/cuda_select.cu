/*
 * cuda_select.cu - selection on the GPU: a stable CUB radix sort of
 * (key, index) pairs. The key makes an ascending sort give devo_rank's order:
 * key = -fitness (zero of either sign as +0), NaN as +NaN, which CUB orders
 * after +inf; the sort is stable, so equal keys keep index order.
 *
 * A generation waits once: the device keeps the fitness the host has (b->fitness), slot by
 * slot as evaluate and vary make it known, and the evaluation that completes it ranks at once
 * and queues the order (with the GA's best row) up with its sums. rank then takes that order
 * when the fitness it is given is the one ranked (equal, or NaN where it is NaN: the same keys,
 * the same order); any other fitness (a custom one, a share gathered from other processes) is
 * uploaded and sorted as before.
 */
#include <cub/device/device_radix_sort.cuh>

#include <cmath>
#include <cstring>

#include "cuda_device.h"
#include "cuda_check.h"
#include "cuda_layout.h"

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

// fitness[i] (i < count) from the sums, as devo_cuda_read_fitness computes it.
__global__ void fitness_kernel(const double *__restrict__ loss_sum,
                               const unsigned long long *__restrict__ correct, size_t count,
                               size_t samples, devo_fitness kind, double *__restrict__ fitness)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        fitness[i] = devo_cuda_fitness(kind, loss_sum[i], correct[i], samples);
}

// spare[r] = fitness[sources[r].x] for the elites r < k.
__global__ void carry_elite_fitness_kernel(const double *__restrict__ fitness,
                                           const int2 *__restrict__ sources, size_t k,
                                           double *__restrict__ spare)
{
    for (size_t r = (size_t)blockIdx.x * blockDim.x + threadIdx.x; r < k;
         r += (size_t)gridDim.x * blockDim.x)
        spare[r] = fitness[sources[r].x];
}

// best (D) = row order[0] of population (P, D).
__global__ void copy_best_kernel(const float *__restrict__ population,
                                 const int *__restrict__ order, size_t D, float *__restrict__ best)
{
    const float *row = population + (size_t)order[0] * D;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < D;
         e += (size_t)gridDim.x * blockDim.x)
        best[e] = row[e];
}

devo_status cuda_sort_temp_bytes(size_t P, size_t *bytes)
{
    // First phase of CUB's two-phase pattern: the temp storage size, allocated once per run.
    CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, *bytes, (const double *)nullptr,
                                             (double *)nullptr, (const int *)nullptr,
                                             (int *)nullptr, (int)P));
    return DEVO_OK;
}

/* Queues the ranking of b->fitness (P) into b->values_out. */
static devo_status sort_fitness(cuda_device *b)
{
    size_t P = b->P;
    rank_keys_kernel<<<cuda_grid_for(P), 256, 0, b->stream>>>(b->fitness, b->keys_in,
                                                             b->values_in, P);
    CUDA_TRY_LAUNCH();
    size_t temp_bytes = b->sort_temp_bytes;
    CUDA_TRY(cub::DeviceRadixSort::SortPairs(b->sort_temp, temp_bytes, b->keys_in, b->keys_out,
                                             b->values_in, b->values_out, (int)P, 0,
                                             (int)(sizeof(double) * 8), b->stream));
    return DEVO_OK;
}

void cuda_population_changed(cuda_device *b, size_t known)
{
    b->fitness_known = known;
    b->ranked_ahead = false;
    b->best_ahead = false;
}

devo_status cuda_carry_elite_fitness(cuda_device *b)
{
    if (b->k > 0) {
        carry_elite_fitness_kernel<<<cuda_grid_for(b->k), 256, 0, b->stream>>>(
            b->fitness, b->sources, b->k, b->fitness_spare);
        CUDA_TRY_LAUNCH();
    }
    double *swap = b->fitness;
    b->fitness = b->fitness_spare;
    b->fitness_spare = swap;
    // The elites' fitness is known only if every slot's was when they were chosen.
    cuda_population_changed(b, b->fitness_known == b->P ? b->k : 0);
    return DEVO_OK;
}

devo_status cuda_fitness_known(cuda_device *b, size_t first, size_t count, size_t samples)
{
    size_t P = b->P;
    if (first + count > P) return DEVO_OK; // an ES's centre (slot P) is not ranked
    fitness_kernel<<<cuda_grid_for(count), 256, 0, b->stream>>>(
        b->loss_sum, b->correct, count, samples, b->cfg.fitness, b->fitness + first);
    CUDA_TRY_LAUNCH();
    if (first > b->fitness_known) return DEVO_OK; // a gap before the range stays unknown
    if (first + count > b->fitness_known) b->fitness_known = first + count;
    b->ranked_ahead = b->best_ahead = false;
    if (b->fitness_known < P) return DEVO_OK;
    DEVO_TRY(sort_fitness(b));
    DEVO_TRY(cuda_download(b, b->host_order, b->values_out, P * sizeof(int)));
    DEVO_TRY(cuda_download(b, b->host_fitness, b->fitness, P * sizeof(double)));
    if (!b->cfg.directions) { // the GA's answer is its best row: it comes up now too
        copy_best_kernel<<<cuda_grid_for(b->D), 256, 0, b->stream>>>(b->population,
                                                                    b->values_out, b->D,
                                                                    b->best_row);
        CUDA_TRY_LAUNCH();
        DEVO_TRY(cuda_download(b, b->host_best, b->best_row, b->D * sizeof(float)));
        b->best_ahead = true;
    }
    b->ranked_ahead = true;
    return DEVO_OK;
}

/* The fitness rank is given is the one ranked ahead: equal, or NaN where it is NaN. */
static bool ranked_this(const cuda_device *b, const double *fitness)
{
    if (!b->ranked_ahead) return false;
    for (size_t i = 0; i < b->P; i++)
        if (!(fitness[i] == b->host_fitness[i] ||
              (std::isnan(fitness[i]) && std::isnan(b->host_fitness[i]))))
            return false;
    return true;
}

bool cuda_best_ahead(cuda_device *b, size_t index, float *dst)
{
    if (!b->best_ahead || index != (size_t)b->host_order[0]) return false;
    memcpy(dst, b->host_best, b->D * sizeof(float));
    return true;
}

devo_status cuda_rank(void *ctx, const double *fitness, size_t *order)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    size_t P = b->P;
    if (!ranked_this(b, fitness)) { // upload it and sort: one wait more
        b->best_ahead = false;
        DEVO_TRY(cuda_upload(b, b->fitness, fitness, P * sizeof(double)));
        DEVO_TRY(sort_fitness(b));
        DEVO_TRY(cuda_download(b, b->host_order, b->values_out, P * sizeof(int)));
        CUDA_TRY(devo_cuda_wait(b->stream));
    }
    b->ranked_ahead = false;
    b->fitness_known = P;
    for (size_t i = 0; i < P; i++) order[i] = (size_t)b->host_order[i];
    return DEVO_OK;
}
