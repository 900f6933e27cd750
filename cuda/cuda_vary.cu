/*
 * cuda_vary.cu - variation on the GPU: one fused kernel writes the whole next
 * generation (elites copied unchanged, every child by crossover then mutation),
 * or only the slots of a partial one (an MPI rank's share), and the first or a loaded
 * population is made the same way. All also write the operands
 * evaluation reads: the first-layer kernels packed side by side and, for BF16,
 * the population rounded to BF16, so evaluation never re-reads the population
 * to prepare them. Draws use cuRAND's Philox4x32-10 on rng.h's key and counter
 * layout, so masks equal the CPU backend's bit for bit and the noise agrees to
 * float rounding. A thread owns 4 consecutive elements; a warp owns 128, exactly
 * one crossover block, and draws it once for 32 slots (cuda_layout.h).
 */
#include <curand_kernel.h>

#include "cuda_check.h"
#include "cuda_device.h"
#include "cuda_hooks.h"
#include "cuda_layout.h"
#include "cuda_operands.cuh"

#define FULL_WARP 0xffffffffu

// Rows [first, end) of next (P, D): slot < k copies individual sources[slot].x of pop (P, D);
// slot >= k is the child of sources[slot].x (crossover bit set) and sources[slot].y, then
// mutated. The y grid walks groups of DEVO_VARY_GROUP slots from first; every lane takes part
// in the shuffles, also past D. A slot's draws depend on the slot only, not on the range.
template <typename T>
__global__ void vary_kernel(const float *__restrict__ pop, float *__restrict__ next,
                            const int2 *__restrict__ sources, size_t first, size_t end, size_t k,
                            size_t D, uint64_t seed, uint32_t generation,
                            unsigned long long threshold, float mutation_std, operand_out<T> op)
{
    size_t base = devo_vary_base(blockIdx.x, threadIdx.x); // blockDim.x is DEVO_VARY_THREADS
    unsigned lane = threadIdx.x % 32;
    for (size_t group = devo_vary_first_group(first, blockIdx.y); group < end;
         group += devo_vary_group_step(gridDim.y)) {
        devo_philox_block drawn = curand_block(seed, DEVO_STREAM_CROSSOVER, generation,
                                               (uint32_t)(group + lane), (uint32_t)(base / 128));
        size_t last = devo_vary_group_end(group, end);
        for (size_t slot = group; slot < last; slot++) { // the same trip count in every lane
            unsigned from = (unsigned)(slot - group);
            devo_philox_block bits = {{__shfl_sync(FULL_WARP, drawn.w[0], from),
                                       __shfl_sync(FULL_WARP, drawn.w[1], from),
                                       __shfl_sync(FULL_WARP, drawn.w[2], from),
                                       __shfl_sync(FULL_WARP, drawn.w[3], from)}};
            if (base >= D) continue;
            int2 src = sources[slot];
            const float *a = pop + (size_t)src.x * D, *b = pop + (size_t)src.y * D;
            float *out = next + slot * D;
            if (slot < k) {
#pragma unroll
                for (unsigned q = 0; q < 4; q++)
                    if (base + q < D) store(out, slot, D, base + q, a[base + q], op);
                continue;
            }
            uint32_t word = devo_vary_crossover_word(bits, base);
            devo_philox_block mask = curand_block(seed, DEVO_STREAM_MUTATE_MASK, generation,
                                                  (uint32_t)slot, (uint32_t)(base / 4));
            bool mutate[4];
#pragma unroll
            for (unsigned q = 0; q < 4; q++) mutate[q] = (unsigned long long)mask.w[q] < threshold;
            float noise[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            if (mutate[0] || mutate[1] || mutate[2] || mutate[3])
                devo_block_normals(curand_block(seed, DEVO_STREAM_MUTATE_NOISE, generation,
                                                (uint32_t)slot, (uint32_t)(base / 4)),
                                   noise);
#pragma unroll
            for (unsigned q = 0; q < 4; q++) {
                size_t e = base + q;
                if (e >= D) continue;
                float value = devo_vary_takes_first(word, base, q) ? a[e] : b[e];
                // Product, then sum, each rounded as on the CPU (nvcc would fuse them into an fma).
                if (mutate[q]) value = __fadd_rn(value, __fmul_rn(mutation_std, noise[q]));
                store(out, slot, D, e, value, op);
            }
        }
    }
}

// pop (P, D): row 0 = w0 copied (bit for bit: w0 + init_std * 0 would turn -0.0 into +0.0),
// row i > 0 = w0 + init_std * N(0,1) from stream INIT_NOISE.
template <typename T>
__global__ void init_population_kernel(const float *__restrict__ w0, float *__restrict__ pop,
                                       size_t P, size_t D, uint64_t seed, float init_std,
                                       operand_out<T> op)
{
    size_t base = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 4;
    if (base >= D) return;
    for (size_t i = blockIdx.y; i < P; i += gridDim.y) {
        float noise[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (i > 0)
            devo_block_normals(curand_block(seed, DEVO_STREAM_INIT_NOISE, 0, (uint32_t)i,
                                            (uint32_t)(base / 4)),
                               noise);
#pragma unroll
        for (unsigned q = 0; q < 4; q++)
            if (base + q < D)
                store(pop + i * D, i, D, base + q,
                      i == 0 ? w0[base + q]
                             : __fadd_rn(w0[base + q], __fmul_rn(init_std, noise[q])), // no fma
                      op);
    }
}

devo_status cuda_init_population(void *ctx, const float *w0)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (b->cfg.directions)
        return devo_fail(DEVO_ERR_INTERNAL, "cuda device: an ES population is perturbed");
    if (CEIL_DIV(CEIL_DIV(b->D, (size_t)4), (size_t)DEVO_VARY_THREADS) > 0x7fffffffu)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "cuda device: %zu weights is too many", b->D);
    // The model's weights land in next, then the kernel writes the population from them.
    DEVO_TRY(cuda_upload(b, b->next, w0, b->D * sizeof(float)));
    dim3 grid = vary_grid(b->P, b->D);
    if (b->operand_bytes == 2)
        init_population_kernel<<<grid, DEVO_VARY_THREADS, 0, b->stream>>>(
            b->next, b->population, b->P, b->D, b->cfg.seed, b->cfg.init_std,
            operands<__nv_bfloat16>(b));
    else
        init_population_kernel<<<grid, DEVO_VARY_THREADS, 0, b->stream>>>(
            b->next, b->population, b->P, b->D, b->cfg.seed, b->cfg.init_std, operands<float>(b));
    CUDA_TRY_LAUNCH();
    cuda_population_changed(b, 0);
    CUDA_TRY(devo_cuda_wait(b->stream));
    return DEVO_OK;
}

/* vary_kernel over slots [first, end) of next from pop, with b->sources on the device; slots
 * below k are copies. */
static devo_status vary(cuda_device *b, const float *pop, float *next, size_t first, size_t end,
                        size_t k, uint32_t generation)
{
    if (end <= first) return DEVO_OK;
    dim3 grid = vary_grid(CEIL_DIV(end - first, (size_t)DEVO_VARY_GROUP), b->D);
    unsigned long long threshold = (unsigned long long)b->cfg.mutation_threshold;
    if (b->operand_bytes == 2)
        vary_kernel<<<grid, DEVO_VARY_THREADS, 0, b->stream>>>(
            pop, next, b->sources, first, end, k, b->D, b->cfg.seed, generation, threshold,
            b->cfg.mutation_std, operands<__nv_bfloat16>(b));
    else
        vary_kernel<<<grid, DEVO_VARY_THREADS, 0, b->stream>>>(
            pop, next, b->sources, first, end, k, b->D, b->cfg.seed, generation, threshold,
            b->cfg.mutation_std, operands<float>(b));
    CUDA_TRY_LAUNCH();
    return DEVO_OK;
}

/* Waits until the last upload of the pinned host_sources has left it (at once, as a rule:
 * a generation's evaluation waited for the stream since). */
static devo_status sources_writable(cuda_device *b)
{
    CUDA_TRY(devo_cuda_wait_event(b->sources_copied));
    return DEVO_OK;
}

devo_status cuda_vary(void *ctx, const size_t *order, const uint32_t *pairs, uint32_t generation,
                      size_t first, size_t count)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (b->cfg.directions)
        return devo_fail(DEVO_ERR_INTERNAL, "cuda device: an ES population is perturbed");
    size_t begin[2], end[2];
    int ranges = devo_vary_ranges(b->k, first, count, begin, end);
    DEVO_TRY(sources_writable(b));
    for (int i = 0; i < ranges; i++) {
        for (size_t slot = begin[i]; slot < end[i]; slot++) {
            if (slot < b->k) {
                b->host_sources[slot] = make_int2((int)order[slot], (int)order[slot]);
            } else {
                const uint32_t *pair = pairs + 2 * (slot - b->k);
                b->host_sources[slot] = make_int2((int)order[pair[0]], (int)order[pair[1]]);
            }
        }
        DEVO_TRY(cuda_upload(b, b->sources + begin[i], b->host_sources + begin[i],
                             (end[i] - begin[i]) * sizeof(int2)));
    }
    CUDA_TRY(cudaEventRecord(b->sources_copied, b->stream));
    DEVO_TRY(cuda_carry_elite_fitness(b));
    // The operand copies are overwritten in place: nothing reads them while the kernel runs.
    // No wait here: what comes next on the stream (evaluation, a download) runs after it.
    for (int i = 0; i < ranges; i++)
        DEVO_TRY(vary(b, b->population, b->next, begin[i], end[i], b->k, generation));
    float *swap = b->population;
    b->population = b->next;
    b->next = swap;
    return DEVO_OK;
}

devo_status cuda_load_rows(void *ctx, const float *rows, size_t first, size_t count)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (b->cfg.directions)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "cuda device: an ES population is drawn, never loaded");
    // The rows land in next (scratch between breeds), then the kernel's copy path (every slot
    // below `end` an elite of itself) writes them to the population with their operand copies.
    size_t end = first + count;
    DEVO_TRY(cuda_upload(b, b->next + first * b->D, rows, count * b->D * sizeof(float)));
    DEVO_TRY(sources_writable(b));
    for (size_t slot = first; slot < end; slot++)
        b->host_sources[slot] = make_int2((int)slot, (int)slot);
    DEVO_TRY(cuda_upload(b, b->sources + first, b->host_sources + first, count * sizeof(int2)));
    DEVO_TRY(vary(b, b->next, b->population, first, end, end, 0));
    cuda_population_changed(b, 0);
    CUDA_TRY(devo_cuda_wait(b->stream));
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
