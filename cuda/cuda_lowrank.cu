/*
 * cuda_lowrank.cu - low-rank population evaluation on the GPU (see cuda_lowrank.h).
 * Individual p is direction d = p / 2 with sign +-1 (antithetic) or d = p, sign +1;
 * its kernel l is W_l + sign sigma_l / sqrt(r) A B^T with the factors read from the
 * direction's factor vector (es_noise.h's layout) at eps + d F + offsets[l]. The centre
 * alone is the same pass without the perturbation terms (and without reading them).
 */
#include <cuda_runtime.h>

#include <climits>
#include <cstdlib>

#include "cuda_device.h"
#include "cuda_check.h"
#include "cuda_gather.cuh"
#include "cuda_layout.h"
#include "cuda_loss.cuh"
#include "cuda_operands.cuh"

extern "C" {
#include "cuda_lowrank.h"
#include "nn_math.h"
}

struct devo_cuda_lowrank {
    const devo_model *arch;
    size_t D, F, dirs, r, P, batch, cols, inputs, width;
    cudaStream_t stream;
    cublasHandle_t blas;
    float *center, *sigma, *eps; /* (D), (D), (dirs, F) */
    float *x, *y;                /* bound (n, inputs), (n, width) */
    size_t n;
    long long *rows;             /* (n): a subset's row indices */
    float *gathered_x, *gathered_y; /* (batch, inputs), (batch, width) */
    float *packed, *shared;      /* (inputs, cols), (batch, cols): cols = units0 + dirs r */
    float *act[2];               /* (P, batch, max units) each */
    float *thin[2];              /* (P, batch, r) each: a layer's thin term, and the next's */
    double *loss, *host_loss;    /* (P) */
    unsigned long long *correct, *host_correct; /* (P) */
    devo_device_traffic traffic;
};

/* One evaluation: individuals [first, first + count) of the directions whose factor vectors
 * start layer l at offsets[l]; or, when offsets is NULL, the centre alone (count 1). */
struct lowrank_pass {
    const size_t *offsets;
    int antithetic;
    size_t first, count;
    size_t cols; /* layer 0's used columns of packed and shared: all, or W_0's alone */
};

/* ----------------------------------------------------------------------------- kernels */

__device__ __forceinline__ size_t direction_of(size_t p, int antithetic, float *sign)
{
    *sign = antithetic && (p & 1) ? -1.0f : 1.0f;
    return antithetic ? p / 2 : p;
}

// packed (inputs, cols) = [W_0 | A_1 .. A_dirs] (cols = units: W_0 alone); A_d (inputs, r) at
// eps + d F + a_offset.
__global__ void pack_kernel(const float *__restrict__ center, size_t kernel_offset, size_t units,
                            const float *__restrict__ eps, size_t F, size_t a_offset, size_t r,
                            size_t inputs, size_t cols, float *__restrict__ packed)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < inputs * cols;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t row = i / cols, c = i % cols;
        if (c < units) {
            packed[i] = center[kernel_offset + row * units + c];
        } else {
            size_t dq = c - units, d = dq / r, q = dq % r;
            packed[i] = eps[d * F + a_offset + row * r + q];
        }
    }
}

// out (count, rows, units) = act(base + bias_p + sign_p scale sum_q thin(p, row, q) B^T_d(q, k))
// for individuals first + p, where base and thin are read through strides: layer 0 takes both
// from the shared product (base: the first `units` columns, thin: direction d's r columns
// after them), later layers from out itself (x W) and the thin buffer. centre: base + the
// centre's bias alone. One warp per row (p, row). When next_thin is not NULL, the warp then
// also makes the next layer's thin term from the row it wrote: next_thin (count, rows, r) =
// out row . A_d of the next layer (units x r at eps + d F + next_a_offset), each of the r sums
// lane-strided then reduced by the warp in a fixed order (the same result on every run). The
// row is read back at once, from cache: the next layer's GEMM is its only read from memory.
__global__ void correct_kernel(float *out, const float *base,
                               size_t base_row_stride, size_t base_individual_stride,
                               const float *__restrict__ thin, size_t thin_row_stride,
                               size_t thin_individual_stride, size_t thin_direction_stride,
                               size_t first, size_t count, size_t rows, size_t units, size_t r,
                               const float *__restrict__ center, const float *__restrict__ sigma,
                               size_t kernel_offset, size_t bias_offset,
                               const float *__restrict__ eps, size_t F, size_t bt_offset,
                               size_t bias_eps_offset, int antithetic, int centre,
                               devo_activation act, int last, float *__restrict__ next_thin,
                               size_t next_a_offset)
{
    unsigned lane = threadIdx.x % 32;
    size_t warps = (size_t)gridDim.x * blockDim.x / 32;
    for (size_t pr = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32; pr < count * rows;
         pr += warps) {
        size_t row = pr % rows, p = pr / rows;
        float sign = 1.0f, scale = 0.0f;
        const float *factors = nullptr, *t = nullptr;
        if (!centre) {
            scale = sigma[kernel_offset] * rsqrtf((float)r);
            size_t d = direction_of(first + p, antithetic, &sign);
            factors = eps + d * F;
            t = thin + p * thin_individual_stride + d * thin_direction_stride +
                row * thin_row_stride;
        }
        const float *in = base + p * base_individual_stride + row * base_row_stride;
        float *o = out + pr * units;
        for (size_t k = lane; k < units; k += 32) {
            float z = in[k] + center[bias_offset + k];
            if (!centre) {
                z += sign * sigma[bias_offset + k] * factors[bias_eps_offset + k];
                float low = 0.0f;
                for (size_t q = 0; q < r; q++) low += t[q] * factors[bt_offset + q * units + k];
                z += sign * scale * low;
            }
            o[k] = last ? z : devo_activate(act, z);
        }
        if (!next_thin) continue; // the same in every lane: the warp stays together
        __syncwarp();             // the row's every element written, and seen by every lane
        const float *a = factors + next_a_offset;
        for (size_t q = 0; q < r; q++) {
            float sum = 0.0f;
            for (size_t j = lane; j < units; j += 32) sum += o[j] * a[j * r + q];
            for (unsigned offset = 16; offset > 0; offset /= 2)
                sum += __shfl_down_sync(0xffffffffu, sum, offset);
            if (lane == 0) next_thin[pr * r + q] = sum;
        }
    }
}

/* ---------------------------------------------------------------------------- launchers */

/* *dst = count elements on the device, counted in g's held bytes. */
template <typename T> static devo_status device_alloc(devo_cuda_lowrank *g, T **dst, size_t count)
{
    CUDA_TRY(cudaMalloc((void **)dst, (count ? count : 1) * sizeof(T)));
    g->traffic.held += count * sizeof(T);
    return DEVO_OK;
}

/* Where layer l's factors start in a direction's factor vector (0 for the centre). */
static size_t factors_at(const lowrank_pass *s, size_t l) { return s->offsets ? s->offsets[l] : 0; }

/* Every layer of the pass's individuals on x (rows, inputs); *logits receives the last layer's
 * pre-activations (count, rows, outputs). packed holds the pass's layer-0 operand. */
static devo_status forward(devo_cuda_lowrank *g, const lowrank_pass *s, const float *x,
                           size_t rows, float **logits)
{
    const devo_model *arch = g->arch;
    const devo_layer *first = &arch->layers[0];
    const float one = 1.0f, zero = 0.0f;
    size_t L = arch->layer_count, r = g->r, count = s->count, cols = s->cols;
    int centre = s->offsets == NULL;
    // Row-major shared (rows, cols) = x (rows, inputs) packed (inputs, cols) is column-major
    // shared^T (cols, rows) = packed^T (cols, inputs) x^T (inputs, rows): no transposes.
    CUBLAS_TRY(cublasSgemm(g->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)cols, (int)rows,
                           (int)first->inputs, &one, g->packed, (int)cols, x,
                           (int)first->inputs, &zero, g->shared, (int)cols));
    // Layer 0: base = shared's first units columns (no individual stride), thin = direction
    // d's r columns after them; it makes layer 1's thin term (thin[0]) as it goes.
    size_t at = factors_at(s, 0);
    float *next_thin = !centre && L > 1 ? g->thin[0] : nullptr;
    unsigned warps_grid = cuda_grid_for(count * rows * 32);
    correct_kernel<<<warps_grid, 256, 0, g->stream>>>(
        g->act[0], g->shared, cols, 0, g->shared + first->units, cols, 0, r, s->first, count,
        rows, first->units, r, g->center, g->sigma, first->kernel_offset, first->bias_offset,
        g->eps, g->F, at + r * first->inputs, at + r * (first->inputs + first->units),
        s->antithetic, centre, first->act, L == 1, next_thin, L > 1 ? factors_at(s, 1) : 0);
    CUDA_TRY_LAUNCH();
    int in = 0;
    for (size_t l = 1; l < L; l++) {
        const devo_layer *layer = &arch->layers[l];
        float *src = g->act[in], *dst = g->act[1 - in];
        at = factors_at(s, l);
        // Row-major dst (count rows, units) = src (count rows, inputs) W_l (inputs, units), as
        // column-major dst^T (units, count rows) = W_l^T (units, inputs) src^T (inputs, count
        // rows).
        CUBLAS_TRY(cublasSgemm(g->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)layer->units,
                               (int)(count * rows), (int)layer->inputs, &one,
                               g->center + layer->kernel_offset, (int)layer->units, src,
                               (int)layer->inputs, &zero, dst, (int)layer->units));
        // This layer's thin term came from the layer before (thin[(l - 1) % 2]); it makes the
        // next one's in the other buffer.
        next_thin = !centre && l + 1 < L ? g->thin[l % 2] : nullptr;
        correct_kernel<<<warps_grid, 256, 0, g->stream>>>(
            dst, dst, layer->units, rows * layer->units, g->thin[(l - 1) % 2], r, rows * r, 0,
            s->first, count, rows, layer->units, r, g->center, g->sigma, layer->kernel_offset,
            layer->bias_offset, g->eps, g->F, at + r * layer->inputs,
            at + r * (layer->inputs + layer->units), s->antithetic, centre, layer->act,
            l + 1 == L, next_thin, l + 1 < L ? factors_at(s, l + 1) : 0);
        CUDA_TRY_LAUNCH();
        in = 1 - in;
    }
    *logits = g->act[in];
    return DEVO_OK;
}

/* The pass over the listed (or first) samples, chunk by chunk, into fitness[first ..]. */
static devo_status run(devo_cuda_lowrank *g, const lowrank_pass *s, const size_t *rows,
                       size_t samples, devo_fitness kind, double *fitness)
{
    const devo_model *arch = g->arch;
    const devo_layer *first = &arch->layers[0], *last = &arch->layers[arch->layer_count - 1];
    size_t count = s->count, outputs = devo_model_output_dim(arch);
    if (count == 0) return DEVO_OK;
    if (s->first + count > g->P || samples > g->n)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "cuda low rank: individuals [%zu, %zu) of %zu on %zu of %zu samples",
                         s->first, s->first + count, g->P, samples, g->n);
    DEVO_TRY(devo_cuda_begin_sums(g->stream, rows, samples, g->rows, g->loss, g->correct, count,
                                  &g->traffic));
    pack_kernel<<<cuda_grid_for(first->inputs * s->cols), 256, 0, g->stream>>>(
        g->center, first->kernel_offset, first->units, g->eps, g->F, factors_at(s, 0), g->r,
        first->inputs, s->cols, g->packed);
    CUDA_TRY_LAUNCH();
    for (size_t s0 = 0; s0 < samples; s0 += g->batch) {
        size_t chunk = samples - s0 < g->batch ? samples - s0 : g->batch;
        const float *x = g->x + s0 * g->inputs, *y = g->y + s0 * g->width;
        if (rows) {
            gather_rows_kernel<<<cuda_grid_for(chunk * g->inputs), 256, 0, g->stream>>>(
                g->x, g->rows + s0, chunk, g->inputs, g->gathered_x);
            CUDA_TRY_LAUNCH();
            gather_rows_kernel<<<cuda_grid_for(chunk * g->width), 256, 0, g->stream>>>(
                g->y, g->rows + s0, chunk, g->width, g->gathered_y);
            CUDA_TRY_LAUNCH();
            x = g->gathered_x;
            y = g->gathered_y;
        }
        float *logits = nullptr;
        DEVO_TRY(forward(g, s, x, chunk, &logits));
        cuda_view v = {logits, chunk * outputs, outputs};
        devo_cuda_loss_kernel<<<(unsigned)count, DEVO_CUDA_REDUCE_THREADS, 0, g->stream>>>(
            v, chunk, outputs, last->act, arch->loss, y, g->width, g->loss, g->correct);
        CUDA_TRY_LAUNCH();
    }
    return devo_cuda_read_fitness(g->stream, g->loss, g->correct, g->host_loss, g->host_correct,
                                  count, samples, kind, fitness, &g->traffic);
}

static devo_status create_in(devo_cuda_lowrank *g, int device)
{
    CUDA_TRY(cudaSetDevice(device));
    CUDA_TRY(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking));
    CUBLAS_TRY(cublasCreate(&g->blas));
    CUBLAS_TRY(cublasSetStream(g->blas, g->stream));
    // FP32 exactly, as the CPU reference (no TF32 tensor-core rounding).
    CUBLAS_TRY(cublasSetMathMode(g->blas, CUBLAS_DEFAULT_MATH));
    size_t widest = devo_model_max_units(g->arch);
    if (g->P * g->batch > (size_t)INT_MAX || g->cols > (size_t)INT_MAX)
        return devo_fail(DEVO_ERR_UNSUPPORTED,
                         "cuda low rank: %zu individuals x %zu samples or %zu columns exceed "
                         "cuBLAS's int dimensions", g->P, g->batch, g->cols);
    DEVO_TRY(device_alloc(g, &g->center, g->D));
    DEVO_TRY(device_alloc(g, &g->sigma, g->D));
    DEVO_TRY(device_alloc(g, &g->eps, g->dirs * g->F));
    DEVO_TRY(device_alloc(g, &g->gathered_x, g->batch * g->inputs));
    DEVO_TRY(device_alloc(g, &g->gathered_y, g->batch * g->width));
    DEVO_TRY(device_alloc(g, &g->packed, g->inputs * g->cols));
    DEVO_TRY(device_alloc(g, &g->shared, g->batch * g->cols));
    for (float *&a : g->act) DEVO_TRY(device_alloc(g, &a, g->P * g->batch * widest));
    for (float *&t : g->thin) DEVO_TRY(device_alloc(g, &t, g->P * g->batch * g->r));
    DEVO_TRY(device_alloc(g, &g->loss, g->P));
    DEVO_TRY(device_alloc(g, &g->correct, g->P));
    // Pinned staging: the sums come up without a bounce through a driver buffer.
    CUDA_TRY(cudaMallocHost((void **)&g->host_loss, g->P * sizeof(double)));
    CUDA_TRY(cudaMallocHost((void **)&g->host_correct, g->P * sizeof(unsigned long long)));
    return DEVO_OK;
}

extern "C" void devo_cuda_lowrank_free(devo_cuda_lowrank *g)
{
    if (!g) return;
    void *device[] = {g->center, g->sigma,  g->eps,    g->x,      g->y,      g->rows,
                      g->gathered_x, g->gathered_y, g->packed, g->shared, g->act[0],
                      g->act[1], g->thin[0], g->thin[1], g->loss,   g->correct};
    for (void *p : device) cudaFree(p);
    if (g->blas) cublasDestroy(g->blas);
    if (g->stream) cudaStreamDestroy(g->stream);
    cudaFreeHost(g->host_loss);
    cudaFreeHost(g->host_correct);
    free(g);
}

extern "C" devo_status devo_cuda_lowrank_create(devo_cuda_lowrank **out, const devo_model *arch,
                                                size_t population, size_t dirs, size_t rank,
                                                size_t batch_size, int device)
{
    if (devo_cuda_device_count() <= 0)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "cuda low rank: no CUDA device is present");
    for (size_t l = 0; l + 1 < arch->layer_count; l++)
        if (arch->layers[l].act == DEVO_ACT_SOFTMAX)
            return devo_fail(DEVO_ERR_UNSUPPORTED, "cuda low rank: hidden softmax layers");
    devo_cuda_lowrank *g = static_cast<devo_cuda_lowrank *>(calloc(1, sizeof *g));
    if (!g) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cuda low rank: out of memory");
    // The factor vector's length as es_noise.c lays it out: A, B^T and the bias per layer.
    size_t F = 0;
    for (size_t l = 0; l < arch->layer_count; l++)
        F += rank * (arch->layers[l].inputs + arch->layers[l].units) + arch->layers[l].units;
    g->arch = arch;
    g->D = arch->param_count;
    g->F = F;
    g->dirs = dirs;
    g->r = rank;
    g->P = population;
    g->batch = cuda_chunk(batch_size, population, devo_model_max_units(arch), false);
    g->cols = arch->layers[0].units + dirs * rank;
    g->inputs = arch->input_dim;
    g->width = devo_model_target_width(arch);
    devo_status status = create_in(g, device);
    if (status != DEVO_OK) {
        devo_cuda_lowrank_free(g);
        return status;
    }
    *out = g;
    return DEVO_OK;
}

extern "C" devo_status devo_cuda_lowrank_bind(devo_cuda_lowrank *g, const float *x,
                                              const float *y, size_t n)
{
    void *old[] = {g->x, g->y, g->rows};
    for (void *p : old) cudaFree(p);
    g->traffic.held -= g->n * (g->inputs * sizeof(float) + g->width * sizeof(float) +
                               sizeof(long long));
    g->x = g->y = nullptr;
    g->rows = nullptr;
    g->n = 0;
    DEVO_TRY(device_alloc(g, &g->x, n * g->inputs));
    DEVO_TRY(device_alloc(g, &g->y, n * g->width));
    DEVO_TRY(device_alloc(g, &g->rows, n));
    CUDA_TRY(cudaMemcpyAsync(g->x, x, n * g->inputs * sizeof(float), cudaMemcpyHostToDevice,
                             g->stream));
    CUDA_TRY(cudaMemcpyAsync(g->y, y, n * g->width * sizeof(float), cudaMemcpyHostToDevice,
                             g->stream));
    g->traffic.to_device += n * (g->inputs + g->width) * sizeof(float);
    CUDA_TRY(devo_cuda_wait(g->stream));
    g->n = n;
    return DEVO_OK;
}

// eps (dirs, F): element e of direction d is normal e % 4 of block e / 4 of (seed, LOW_RANK,
// generation, d), as es_noise.c draws it. x walks F / 4, y the directions.
__global__ void draw_factors_kernel(float *__restrict__ eps, size_t dirs, size_t F,
                                    uint64_t seed, uint32_t generation)
{
    size_t base = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 4;
    if (base >= F) return;
    for (size_t d = blockIdx.y; d < dirs; d += gridDim.y) {
        float noise[4];
        devo_block_normals(curand_block(seed, DEVO_STREAM_LOW_RANK, generation, (uint32_t)d,
                                        (uint32_t)(base / 4)),
                           noise);
#pragma unroll
        for (unsigned q = 0; q < 4; q++)
            if (base + q < F) eps[d * F + base + q] = noise[q];
    }
}

extern "C" devo_status devo_cuda_lowrank_perturb(devo_cuda_lowrank *g, const float *center,
                                                 const float *sigma, uint64_t seed,
                                                 uint32_t generation, float *host_eps)
{
    CUDA_TRY(cudaMemcpyAsync(g->center, center, g->D * sizeof(float), cudaMemcpyHostToDevice,
                             g->stream));
    CUDA_TRY(cudaMemcpyAsync(g->sigma, sigma, g->D * sizeof(float), cudaMemcpyHostToDevice,
                             g->stream));
    g->traffic.to_device += 2 * g->D * sizeof(float);
    dim3 grid = vary_grid(g->dirs, g->F);
    draw_factors_kernel<<<grid, DEVO_VARY_THREADS, 0, g->stream>>>(g->eps, g->dirs, g->F, seed,
                                                                  generation);
    CUDA_TRY_LAUNCH();
    if (host_eps) {
        CUDA_TRY(cudaMemcpyAsync(host_eps, g->eps, g->dirs * g->F * sizeof(float),
                                 cudaMemcpyDeviceToHost, g->stream));
        g->traffic.to_host += g->dirs * g->F * sizeof(float);
    }
    CUDA_TRY(devo_cuda_wait(g->stream));
    return DEVO_OK;
}

extern "C" devo_status devo_cuda_lowrank_evaluate(devo_cuda_lowrank *g,
                                                  const devo_lowrank_population *pop,
                                                  const size_t *rows, size_t samples,
                                                  devo_fitness kind, size_t first, size_t count,
                                                  double *fitness)
{
    const devo_es_noise *noise = pop->noise;
    if (noise->rank != g->r || noise->dirs != g->dirs || noise->factor_floats != g->F)
        return devo_fail(DEVO_ERR_INTERNAL,
                         "cuda low rank: %zu directions of rank %zu, %zu floats each, in a "
                         "context for %zu of rank %zu, %zu floats", noise->dirs, noise->rank,
                         noise->factor_floats, g->dirs, g->r, g->F);
    lowrank_pass s = {noise->offsets, pop->antithetic, first, count, g->cols};
    return run(g, &s, rows, samples, kind, fitness + first);
}

extern "C" devo_status devo_cuda_lowrank_evaluate_center(devo_cuda_lowrank *g,
                                                         const size_t *rows, size_t samples,
                                                         devo_fitness kind, double *fitness)
{
    lowrank_pass s = {nullptr, 0, 0, 1, g->arch->layers[0].units};
    return run(g, &s, rows, samples, kind, fitness);
}

extern "C" void devo_cuda_lowrank_traffic(const devo_cuda_lowrank *g, devo_device_traffic *out)
{
    *out = g->traffic;
}
