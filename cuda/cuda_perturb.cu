/*
 * cuda_perturb.cu - a full-rank evolution strategy's population on the GPU
 * (device.h's perturb and update_sums): every direction drawn on the device from
 * rng.h's ES_NOISE stream, bitwise the CPU's (es_noise.c), and written straight
 * into the population's slots with their operand copies, the centre into slot P;
 * then the update's two sums over the directions, in the CPU's order and
 * rounding, so they equal es_noise.c's bit for bit. Only the centre and sigma
 * (D each) and the direction weights go down, and the sums (D each) come up.
 */
#include "cuda_check.h"
#include "cuda_device.h"
#include "cuda_operands.cuh"

/* The ES buffers of a full-rank population: centre, sigma, directions, weights and sums. */
devo_status cuda_es_allocate(cuda_device *b)
{
    size_t D = b->D, dirs = b->cfg.directions;
    DEVO_TRY(cuda_alloc(b, (void **)&b->center, D * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->sigma, D * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->eps, dirs * D * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->w, dirs * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->v, dirs * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->s1, D * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->s2, D * sizeof(float)));
    return DEVO_OK;
}

// eps (dirs, D): direction d's elements 4b..4b+3 from block b of (seed, ES_NOISE, generation,
// d); population slots 2d and 2d + 1 (antithetic: centre +- sigma o eps_d) or d (centre +
// sigma o eps_d), and, for y = dirs, slot P = the centre. x walks D / 4, y the directions.
template <typename T>
__global__ void perturb_kernel(const float *__restrict__ center, const float *__restrict__ sigma,
                               float *__restrict__ eps, float *__restrict__ pop, size_t P,
                               size_t D, size_t dirs, int antithetic, uint64_t seed,
                               uint32_t generation, operand_out<T> op)
{
    size_t base = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 4;
    if (base >= D) return;
    for (size_t d = blockIdx.y; d <= dirs; d += gridDim.y) {
        if (d == dirs) { // the centre, evaluated as slot P
#pragma unroll
            for (unsigned q = 0; q < 4; q++)
                if (base + q < D) store(pop + P * D, P, D, base + q, center[base + q], op);
            continue;
        }
        float noise[4];
        devo_block_normals(curand_block(seed, DEVO_STREAM_ES_NOISE, generation, (uint32_t)d,
                                        (uint32_t)(base / 4)),
                           noise);
#pragma unroll
        for (unsigned q = 0; q < 4; q++) {
            size_t e = base + q;
            if (e >= D) continue;
            eps[d * D + e] = noise[q];
            // centre + (sign sigma) eps, each operation rounded as on the CPU (no fma)
            float step = __fmul_rn(sigma[e], noise[q]);
            size_t slot = antithetic ? 2 * d : d;
            store(pop + slot * D, slot, D, e, __fadd_rn(center[e], step), op);
            if (antithetic)
                store(pop + (slot + 1) * D, slot + 1, D, e, __fadd_rn(center[e], -step), op);
        }
    }
}

devo_status cuda_perturb_full(cuda_device *b, const float *center, const float *sigma,
                              uint32_t generation)
{
    size_t D = b->D, dirs = b->cfg.directions;
    DEVO_TRY(cuda_upload(b, b->center, center, D * sizeof(float)));
    DEVO_TRY(cuda_upload(b, b->sigma, sigma, D * sizeof(float)));
    dim3 grid = vary_grid(dirs + 1, D);
    if (b->operand_bytes == 2)
        perturb_kernel<<<grid, DEVO_VARY_THREADS, 0, b->stream>>>(
            b->center, b->sigma, b->eps, b->population, b->P, D, dirs, b->cfg.antithetic,
            b->cfg.seed, generation, operands<__nv_bfloat16>(b));
    else
        perturb_kernel<<<grid, DEVO_VARY_THREADS, 0, b->stream>>>(
            b->center, b->sigma, b->eps, b->population, b->P, D, dirs, b->cfg.antithetic,
            b->cfg.seed, generation, operands<float>(b));
    CUDA_TRY_LAUNCH();
    cuda_population_changed(b, 0);
    b->perturbed = true;
    return DEVO_OK;
}

// s1 (D) += sum_d w_d eps_d, s2 (D) += sum_d v_d (eps_d^2 - 1), over d from `from` on in
// order, from zero (carry 0) or from the sums in s1 and s2 (carry 1), every product and sum
// rounded apart, as es_noise.c's loop: bitwise its sums. A thread per element, so a warp reads
// 32 consecutive elements of one direction at a time.
__global__ void update_sums_kernel(const float *__restrict__ eps, const float *__restrict__ w,
                                   const float *__restrict__ v, size_t from, size_t dirs,
                                   size_t D, int carry, float *__restrict__ s1,
                                   float *__restrict__ s2)
{
    for (size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x; j < D;
         j += (size_t)gridDim.x * blockDim.x) {
        float sum1 = carry ? s1[j] : 0.0f, sum2 = carry ? s2[j] : 0.0f;
        for (size_t d = from; d < dirs; d++) {
            float e = eps[d * D + j];
            sum1 = __fadd_rn(sum1, __fmul_rn(w[d], e));
            sum2 = __fadd_rn(sum2, __fmul_rn(v[d], __fadd_rn(__fmul_rn(e, e), -1.0f)));
        }
        s1[j] = sum1;
        s2[j] = sum2;
    }
}

devo_status cuda_update_sums_full(cuda_device *b, const float *w, const float *v, float *s1,
                                  float *s2)
{
    size_t D = b->D, dirs = b->cfg.directions;
    DEVO_TRY(cuda_upload(b, b->w, w, dirs * sizeof(float)));
    DEVO_TRY(cuda_upload(b, b->v, v, dirs * sizeof(float)));
    // Spread over processes, the sums of the ones before come in (this device draws every
    // direction, and adds those from sum_first on).
    int carry = b->cfg.chained;
    if (carry) {
        DEVO_TRY(cuda_upload(b, b->s1, s1, D * sizeof(float)));
        DEVO_TRY(cuda_upload(b, b->s2, s2, D * sizeof(float)));
    }
    update_sums_kernel<<<cuda_grid_for(D), 256, 0, b->stream>>>(
        b->eps, b->w, b->v, b->cfg.sum_first, dirs, D, carry, b->s1, b->s2);
    CUDA_TRY_LAUNCH();
    DEVO_TRY(cuda_download(b, s1, b->s1, D * sizeof(float)));
    DEVO_TRY(cuda_download(b, s2, b->s2, D * sizeof(float)));
    CUDA_TRY(devo_cuda_wait(b->stream));
    return DEVO_OK;
}
