/*
 * cuda_vary.cu - variation on the GPU: one fused kernel writes the whole next
 * generation (elites copied unchanged, every child by crossover then mutation),
 * and the first population is made the same way. Draws use cuRAND's Philox4x32-10
 * on rng.h's key and counter layout, so masks equal the CPU backend's bit for
 * bit and the noise agrees to float rounding. A thread owns 4 consecutive
 * elements; a warp owns 128, exactly one crossover block.
 */
#include <curand_kernel.h>

#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_hooks.h"

#define VARY_THREADS 256

/* rng.h's block (seed, stream, generation, individual, block) through cuRAND's Philox: the
 * block curand_init(seed, ((uint64)stream << 32) | generation,
 * 4 * (((uint64)individual << 32) | block), &s) then curand4(&s) returns, computed directly. */
__device__ devo_philox_block curand_block(uint64_t seed, devo_rng_stream stream,
                                          uint32_t generation, uint32_t individual, uint32_t block)
{
    uint4 counter = make_uint4(block, individual, generation, (uint32_t)stream);
    uint2 key = make_uint2((uint32_t)seed, (uint32_t)(seed >> 32));
    uint4 r = curand_Philox4x32_10(counter, key);
    devo_philox_block out = {{r.x, r.y, r.z, r.w}};
    return out;
}

// next (P, D): slot < k copies individual sources[slot].x of pop (P, D); slot >= k is the child
// of sources[slot].x (crossover bit set) and sources[slot].y, then mutated.
__global__ void vary_kernel(const float *__restrict__ pop, float *__restrict__ next,
                            const int2 *__restrict__ sources, size_t P, size_t k, size_t D,
                            uint64_t seed, uint32_t generation, unsigned long long threshold,
                            float mutation_std)
{
    size_t base = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 4;
    if (base >= D) return;
    size_t end = base + 4 < D ? base + 4 : D;
    for (size_t slot = blockIdx.y; slot < P; slot += gridDim.y) {
        int2 src = sources[slot];
        const float *a = pop + (size_t)src.x * D, *b = pop + (size_t)src.y * D;
        float *out = next + slot * D;
        if (slot < k) {
            for (size_t e = base; e < end; e++) out[e] = a[e];
            continue;
        }
        devo_philox_block bits = curand_block(seed, DEVO_STREAM_CROSSOVER, generation,
                                              (uint32_t)slot, (uint32_t)(base / 128));
        devo_philox_block mask = curand_block(seed, DEVO_STREAM_MUTATE_MASK, generation,
                                              (uint32_t)slot, (uint32_t)(base / 4));
        float noise[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        bool any_mutated = false;
        for (int q = 0; q < 4; q++) any_mutated |= (unsigned long long)mask.w[q] < threshold;
        if (any_mutated)
            devo_block_normals(curand_block(seed, DEVO_STREAM_MUTATE_NOISE, generation,
                                            (uint32_t)slot, (uint32_t)(base / 4)),
                               noise);
        for (size_t e = base; e < end; e++) {
            float value = devo_crossover_bit(bits, e % 128) ? a[e] : b[e];
            if ((unsigned long long)mask.w[e - base] < threshold)
                value += mutation_std * noise[e - base];
            out[e] = value;
        }
    }
}

// pop (P, D): row 0 = w0, row i > 0 = w0 + init_std * N(0,1) from stream INIT_NOISE.
__global__ void init_population_kernel(const float *__restrict__ w0, float *__restrict__ pop,
                                       size_t P, size_t D, uint64_t seed, float init_std)
{
    size_t base = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 4;
    if (base >= D) return;
    size_t end = base + 4 < D ? base + 4 : D;
    for (size_t i = blockIdx.y; i < P; i += gridDim.y) {
        float noise[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (i > 0)
            devo_block_normals(curand_block(seed, DEVO_STREAM_INIT_NOISE, 0, (uint32_t)i,
                                            (uint32_t)(base / 4)),
                               noise);
        for (size_t e = base; e < end; e++) pop[i * D + e] = w0[e] + init_std * noise[e - base];
    }
}

static dim3 vary_grid(size_t P, size_t D)
{
    size_t blocks = CEIL_DIV(CEIL_DIV(D, (size_t)4), (size_t)VARY_THREADS);
    return dim3((unsigned)blocks, (unsigned)(P < 65535 ? P : 65535));
}

devo_status cuda_init_population(void *ctx, const float *w0)
{
    cuda_backend *b = static_cast<cuda_backend *>(ctx);
    if (CEIL_DIV(CEIL_DIV(b->D, (size_t)4), (size_t)VARY_THREADS) > 0x7fffffffu)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "cuda backend: %zu weights is too many", b->D);
    // The model's weights land in next, then the kernel writes the population from them.
    CUDA_TRY(cudaMemcpyAsync(b->next, w0, b->D * sizeof(float), cudaMemcpyHostToDevice,
                             b->stream));
    init_population_kernel<<<vary_grid(b->P, b->D), VARY_THREADS, 0, b->stream>>>(
        b->next, b->population, b->P, b->D, b->cfg.seed, b->cfg.init_std);
    CUDA_TRY_LAUNCH();
    CUDA_TRY(cudaStreamSynchronize(b->stream));
    return DEVO_OK;
}

devo_status cuda_breed(void *ctx, const size_t *order, const uint32_t *pairs, uint32_t generation)
{
    cuda_backend *b = static_cast<cuda_backend *>(ctx);
    for (size_t slot = 0; slot < b->P; slot++) {
        if (slot < b->k) {
            b->host_sources[slot] = make_int2((int)order[slot], (int)order[slot]);
        } else {
            const uint32_t *pair = pairs + 2 * (slot - b->k);
            b->host_sources[slot] = make_int2((int)order[pair[0]], (int)order[pair[1]]);
        }
    }
    CUDA_TRY(cudaMemcpyAsync(b->sources, b->host_sources, b->P * sizeof(int2),
                             cudaMemcpyHostToDevice, b->stream));
    vary_kernel<<<vary_grid(b->P, b->D), VARY_THREADS, 0, b->stream>>>(
        b->population, b->next, b->sources, b->P, b->k, b->D, b->cfg.seed, generation,
        (unsigned long long)b->cfg.mutation_threshold, b->cfg.mutation_std);
    CUDA_TRY_LAUNCH();
    CUDA_TRY(cudaStreamSynchronize(b->stream));
    float *swap = b->population;
    b->population = b->next;
    b->next = swap;
    return DEVO_OK;
}

__global__ void philox_blocks_kernel(uint64_t seed, devo_rng_stream stream, uint32_t generation,
                                     uint32_t individual, uint32_t count, uint32_t *via_init,
                                     uint32_t *direct)
{
    uint32_t block = blockIdx.x * blockDim.x + threadIdx.x;
    if (block >= count) return;
    curandStatePhilox4_32_10_t state;
    curand_init(seed, ((unsigned long long)stream << 32) | generation,
                4ull * (((unsigned long long)individual << 32) | block), &state);
    uint4 r = curand4(&state);
    devo_philox_block d = curand_block(seed, stream, generation, individual, block);
    via_init[4 * block] = r.x;
    via_init[4 * block + 1] = r.y;
    via_init[4 * block + 2] = r.z;
    via_init[4 * block + 3] = r.w;
    for (int q = 0; q < 4; q++) direct[4 * block + q] = d.w[q];
}

devo_status devo_cuda_philox_blocks(uint64_t seed, devo_rng_stream stream,
                                               uint32_t generation, uint32_t individual,
                                               uint32_t count, uint32_t *via_init,
                                               uint32_t *direct)
{
    uint32_t *d = nullptr;
    CUDA_TRY(cudaMalloc((void **)&d, 8 * (size_t)count * sizeof(uint32_t)));
    philox_blocks_kernel<<<CEIL_DIV(count, 128u), 128>>>(seed, stream, generation, individual,
                                                          count, d, d + 4 * (size_t)count);
    cudaError_t launched = cudaGetLastError();
    cudaError_t copied = cudaMemcpy(via_init, d, 4 * (size_t)count * sizeof(uint32_t),
                                    cudaMemcpyDeviceToHost);
    if (copied == cudaSuccess)
        copied = cudaMemcpy(direct, d + 4 * (size_t)count, 4 * (size_t)count * sizeof(uint32_t),
                            cudaMemcpyDeviceToHost);
    cudaFree(d);
    CUDA_TRY(launched);
    CUDA_TRY(copied);
    return DEVO_OK;
}
