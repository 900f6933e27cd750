/*
 * cuda_lowrank.cu - low-rank population evaluation on the GPU (see cuda_lowrank.h).
 * Individual p is direction d = p / 2 with sign +-1 (antithetic) or d = p, sign +1;
 * its kernel l is W_l + sign sigma_l / sqrt(r) A B^T with the factors read from the
 * direction's factor vector (es_noise.h's layout) at eps + d F + offsets[l].
 */
#include <cuda_runtime.h>

#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_loss.cuh"

extern "C" {
#include "cuda_lowrank.h"
#include "nn_math.h"
}

/* Device copies of the population's parts, layer offsets included. */
struct lowrank_device {
    size_t D, F, dirs, r, P, rows, cols;
    int antithetic;
    float *center, *sigma, *eps; /* (D), (D), (dirs, F) */
    float *x, *y;                /* (rows, inputs), (rows, width) */
    float *packed, *shared;      /* (inputs, cols), (rows, cols): cols = units0 + dirs r */
    float *act[2];               /* (P, rows, max units) each */
    float *thin;                 /* (P, rows, r) */
    double *loss;                /* (P) */
    unsigned long long *correct; /* (P) */
};

/* ----------------------------------------------------------------------------- kernels */

__device__ __forceinline__ size_t direction_of(size_t p, int antithetic, float *sign)
{
    *sign = antithetic && (p & 1) ? -1.0f : 1.0f;
    return antithetic ? p / 2 : p;
}

// packed (inputs, cols) = [W_0 | A_1 .. A_dirs]; A_d (inputs, r) at eps + d F + a_offset.
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

// out (P, rows, units) = act(base + bias_p + sign_p scale sum_q thin(p, row, q) B^T_d(q, k)),
// where base and thin are read through strides: layer 0 takes both from the shared product
// (base: the first `units` columns, thin: direction d's r columns), later layers from out
// itself (x W) and the thin buffer.
__global__ void correct_kernel(float *out, const float *base,
                               size_t base_row_stride, size_t base_individual_stride,
                               const float *__restrict__ thin, size_t thin_row_stride,
                               size_t thin_individual_stride, size_t thin_direction_stride,
                               size_t P, size_t rows, size_t units, size_t r,
                               const float *__restrict__ center, const float *__restrict__ sigma,
                               size_t kernel_offset, size_t bias_offset,
                               const float *__restrict__ eps, size_t F, size_t bt_offset,
                               size_t bias_eps_offset, int antithetic, devo_activation act,
                               int last)
{
    float scale = sigma[kernel_offset] * rsqrtf((float)r);
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < P * rows * units;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t k = i % units, pr = i / units, row = pr % rows, p = pr / rows;
        float sign;
        size_t d = direction_of(p, antithetic, &sign);
        const float *factors = eps + d * F;
        float z = base[p * base_individual_stride + row * base_row_stride + k] +
                  center[bias_offset + k] +
                  sign * sigma[bias_offset + k] * factors[bias_eps_offset + k];
        const float *t = thin + p * thin_individual_stride + d * thin_direction_stride +
                         row * thin_row_stride;
        float low = 0.0f;
        for (size_t q = 0; q < r; q++) low += t[q] * factors[bt_offset + q * units + k];
        z += sign * scale * low;
        out[i] = last ? z : devo_activate(act, z);
    }
}

// thin (P, rows, r) = in_p (rows, inputs) A_d (inputs, r), A_d at eps + d F + a_offset.
__global__ void thin_kernel(const float *__restrict__ in, size_t P, size_t rows, size_t inputs,
                            const float *__restrict__ eps, size_t F, size_t a_offset, size_t r,
                            int antithetic, float *__restrict__ thin)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < P * rows * r;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t q = i % r, pr = i / r, p = pr / rows;
        float sign;
        const float *a = eps + direction_of(p, antithetic, &sign) * F + a_offset;
        const float *h = in + pr * inputs;
        float sum = 0.0f;
        for (size_t j = 0; j < inputs; j++) sum += h[j] * a[j * r + q];
        thin[i] = sum;
    }
}

/* ---------------------------------------------------------------------------- launchers */

static void release(lowrank_device *g)
{
    float *floats[] = {g->center, g->sigma, g->eps, g->x, g->y, g->packed, g->shared,
                       g->act[0], g->act[1], g->thin};
    for (float *f : floats) cudaFree(f);
    cudaFree(g->loss);
    cudaFree(g->correct);
}

template <typename T> static devo_status upload(T **dst, const T *src, size_t count)
{
    CUDA_TRY(cudaMalloc((void **)dst, count * sizeof(T)));
    if (src) CUDA_TRY(cudaMemcpy(*dst, src, count * sizeof(T), cudaMemcpyHostToDevice));
    return DEVO_OK;
}

static devo_status prepare(lowrank_device *g, const devo_lowrank_population *pop, size_t P,
                           const float *x, const float *y, size_t rows)
{
    const devo_es_noise *n = pop->noise;
    const devo_model *arch = n->arch;
    g->D = n->D;
    g->F = n->factor_floats;
    g->dirs = n->dirs;
    g->r = n->rank;
    g->P = P;
    g->rows = rows;
    g->antithetic = pop->antithetic;
    g->cols = arch->layers[0].units + g->dirs * g->r;
    size_t widest = devo_model_max_units(arch);
    DEVO_TRY(upload(&g->center, pop->center, g->D));
    DEVO_TRY(upload(&g->sigma, pop->sigma, g->D));
    DEVO_TRY(upload(&g->eps, n->eps, g->dirs * g->F));
    DEVO_TRY(upload(&g->x, x, rows * arch->input_dim));
    DEVO_TRY(upload(&g->y, y, rows * devo_model_target_width(arch)));
    DEVO_TRY(upload<float>(&g->packed, NULL, arch->input_dim * g->cols));
    DEVO_TRY(upload<float>(&g->shared, NULL, rows * g->cols));
    DEVO_TRY(upload<float>(&g->act[0], NULL, P * rows * widest));
    DEVO_TRY(upload<float>(&g->act[1], NULL, P * rows * widest));
    DEVO_TRY(upload<float>(&g->thin, NULL, P * rows * g->r));
    DEVO_TRY(upload<double>(&g->loss, NULL, P));
    DEVO_TRY(upload<unsigned long long>(&g->correct, NULL, P));
    CUDA_TRY(cudaMemset(g->loss, 0, P * sizeof(double)));
    CUDA_TRY(cudaMemset(g->correct, 0, P * sizeof(unsigned long long)));
    return DEVO_OK;
}

/* Every layer of every individual; returns the logits' buffer in *logits. */
static devo_status forward(lowrank_device *g, cublasHandle_t blas, const devo_es_noise *n,
                           float **logits)
{
    const devo_model *arch = n->arch;
    const devo_layer *first = &arch->layers[0];
    const float one = 1.0f, zero = 0.0f;
    size_t L = arch->layer_count, r = g->r, P = g->P, rows = g->rows;
    pack_kernel<<<cuda_grid_for(first->inputs * g->cols), 256>>>(
        g->center, first->kernel_offset, first->units, g->eps, g->F, n->offsets[0], r,
        first->inputs, g->cols, g->packed);
    CUDA_TRY_LAUNCH();
    // Row-major shared (rows, cols) = x (rows, inputs) packed (inputs, cols) is column-major
    // shared^T (cols, rows) = packed^T (cols, inputs) x^T (inputs, rows): no transposes.
    CUBLAS_TRY(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)g->cols, (int)rows,
                           (int)first->inputs, &one, g->packed, (int)g->cols, g->x,
                           (int)first->inputs, &zero, g->shared, (int)g->cols));
    // Layer 0: base = shared's first units columns (no individual stride), thin = direction
    // d's r columns after them.
    correct_kernel<<<cuda_grid_for(P * rows * first->units), 256>>>(
        g->act[0], g->shared, g->cols, 0, g->shared + first->units, g->cols, 0, r, P, rows,
        first->units, r, g->center, g->sigma, first->kernel_offset, first->bias_offset, g->eps,
        g->F, n->offsets[0] + r * first->inputs, n->offsets[0] + r * (first->inputs + first->units),
        g->antithetic, first->act, L == 1);
    CUDA_TRY_LAUNCH();
    int in = 0;
    for (size_t l = 1; l < L; l++) {
        const devo_layer *layer = &arch->layers[l];
        float *src = g->act[in], *dst = g->act[1 - in];
        // Row-major dst (P rows, units) = src (P rows, inputs) W_l (inputs, units), as
        // column-major dst^T (units, P rows) = W_l^T (units, inputs) src^T (inputs, P rows).
        CUBLAS_TRY(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)layer->units, (int)(P * rows),
                               (int)layer->inputs, &one, g->center + layer->kernel_offset,
                               (int)layer->units, src, (int)layer->inputs, &zero, dst,
                               (int)layer->units));
        thin_kernel<<<cuda_grid_for(P * rows * r), 256>>>(src, P, rows, layer->inputs, g->eps,
                                                           g->F, n->offsets[l], r, g->antithetic,
                                                           g->thin);
        CUDA_TRY_LAUNCH();
        correct_kernel<<<cuda_grid_for(P * rows * layer->units), 256>>>(
            dst, dst, layer->units, rows * layer->units, g->thin, r, rows * r, 0, P, rows,
            layer->units, r, g->center, g->sigma, layer->kernel_offset, layer->bias_offset,
            g->eps, g->F, n->offsets[l] + r * layer->inputs,
            n->offsets[l] + r * (layer->inputs + layer->units), g->antithetic, layer->act,
            l + 1 == L);
        CUDA_TRY_LAUNCH();
        in = 1 - in;
    }
    *logits = g->act[in];
    return DEVO_OK;
}

static devo_status evaluate(lowrank_device *g, cublasHandle_t blas,
                            const devo_lowrank_population *pop, devo_fitness kind,
                            double *fitness)
{
    const devo_model *arch = pop->noise->arch;
    float *logits = NULL;
    DEVO_TRY(forward(g, blas, pop->noise, &logits));
    size_t outputs = devo_model_output_dim(arch);
    cuda_view v = {logits, g->rows * outputs, outputs};
    devo_cuda_loss_kernel<<<(unsigned)g->P, DEVO_CUDA_REDUCE_THREADS>>>(
        v, g->rows, outputs, arch->layers[arch->layer_count - 1].act, arch->loss, g->y,
        devo_model_target_width(arch), g->loss, g->correct);
    CUDA_TRY_LAUNCH();
    double *loss = (double *)malloc(g->P * sizeof(double));
    unsigned long long *correct = (unsigned long long *)malloc(g->P * sizeof *correct);
    devo_status status = loss && correct ? DEVO_OK : DEVO_ERR_OUT_OF_MEMORY;
    if (status == DEVO_OK &&
        (cudaMemcpy(loss, g->loss, g->P * sizeof(double), cudaMemcpyDeviceToHost) != cudaSuccess ||
         cudaMemcpy(correct, g->correct, g->P * sizeof *correct, cudaMemcpyDeviceToHost) !=
             cudaSuccess))
        status = devo_fail(DEVO_ERR_BACKEND, "cuda low rank: cannot read the fitness back");
    for (size_t p = 0; status == DEVO_OK && p < g->P; p++)
        fitness[p] = kind == DEVO_FITNESS_ACCURACY ? (double)correct[p] / (double)g->rows
                                                   : -loss[p] / (double)g->rows;
    free(loss);
    free(correct);
    if (status == DEVO_ERR_OUT_OF_MEMORY)
        return devo_fail(status, "cuda low rank: out of host memory for %zu fitnesses", g->P);
    return status;
}

extern "C" devo_status devo_cuda_lowrank_evaluate(const devo_lowrank_population *pop, size_t P,
                                                  const float *x, const float *y, size_t rows,
                                                  devo_fitness kind, double *fitness)
{
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "cuda low rank: no CUDA device is present");
    const devo_model *arch = pop->noise->arch;
    for (size_t l = 0; l + 1 < arch->layer_count; l++)
        if (arch->layers[l].act == DEVO_ACT_SOFTMAX)
            return devo_fail(DEVO_ERR_UNSUPPORTED, "cuda low rank: hidden softmax layers");
    lowrank_device g = {};
    cublasHandle_t blas = NULL;
    devo_status status = DEVO_OK;
    if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS)
        status = devo_fail(DEVO_ERR_BACKEND, "cuda low rank: cublasCreate failed");
    // FP32 exactly, as the CPU reference (no TF32 tensor-core rounding).
    if (status == DEVO_OK && cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH) != CUBLAS_STATUS_SUCCESS)
        status = devo_fail(DEVO_ERR_BACKEND, "cuda low rank: cublasSetMathMode failed");
    if (status == DEVO_OK) status = prepare(&g, pop, P, x, y, rows);
    if (status == DEVO_OK) status = evaluate(&g, blas, pop, kind, fitness);
    release(&g);
    if (blas) cublasDestroy(blas);
    return status;
}
