/*
 * cuda_evaluate.cu - evaluation on the GPU: every individual on every sample of
 * a chunk at once. The first layer of a shared input is one GEMM against the
 * first-layer kernels of all individuals packed side by side; later layers are
 * strided-batched GEMMs over individuals; each GEMM adds the bias (and a ReLU) in
 * cuBLASLt's epilogue where that gives devo's bits (cuda_epilogue.cu), and one
 * kernel per layer does what it did not (bias, activation, the BF16 operand); loss and accuracy are reduced per individual in a fixed
 * order, so the same inputs give the same fitness bit for bit, as long as the
 * chunking is the same too (the GPU chunk of devo_cuda_chunk: another chunk
 * size, like the CPU's, changes the GEMM shapes and the order of the sums, and
 * agrees only to rounding). The packed first-layer kernels and the BF16
 * population are written by the variation kernels (cuda_vary.cu). Also the
 * batched forward of ask/tell, where each individual has its own inputs.
 */
#include "cuda_device.h"
#include "cuda_check.h"
#include "cuda_gather.cuh"
#include "cuda_layout.h"
#include "cuda_loss.cuh"

#include <cstring>

extern "C" {
#include "nn_math.h"
}

/* ----------------------------------------------------------------------------- kernels */

// h holds count individuals x rows x units pre-activations in view v; adds the bias of each
// individual (w is (count, D); NULL: the GEMM added it) and, unless last, applies an
// elementwise activation (NaN in, NaN out: devo_activate; LINEAR when the GEMM applied it). When operand is not NULL the result goes there instead, as the next
// GEMM's operand at the same offsets (the FP32 activations are then never read again). Grid
// devo_bias_grid, blocks (DEVO_BIAS_X, DEVO_BIAS_Y): thread (x, y) of block (bx, by, bz) takes
// unit bx * DEVO_BIAS_X + x of rows by * DEVO_BIAS_Y + y, ... of individuals bz, ...; each
// bias is read once per thread and individual.
template <typename T>
__global__ void bias_activate_kernel(cuda_view v, size_t count, size_t rows, size_t units,
                                     const float *__restrict__ w, size_t D, size_t bias_offset,
                                     devo_activation act, int last, T *__restrict__ operand)
{
    size_t j = (size_t)blockIdx.x * DEVO_BIAS_X + threadIdx.x;
    if (j >= units) return;
    for (size_t p = blockIdx.z; p < count; p += gridDim.z) {
        float bias = w ? w[p * D + bias_offset + j] : 0.0f;
        float *h = v.base + p * v.individual_stride + j;
        T *out = operand ? operand + p * v.individual_stride + j : nullptr;
        for (size_t r = (size_t)blockIdx.y * DEVO_BIAS_Y + threadIdx.y; r < rows;
             r += (size_t)gridDim.y * DEVO_BIAS_Y) {
            size_t at = r * v.row_stride;
            float z = w ? h[at] + bias : h[at]; // -0.0 stays -0.0 with no bias
            if (!last) z = devo_activate(act, z);
            if (out)
                out[at] = to_operand<T>(z);
            else
                h[at] = z;
        }
    }
}

// A BF16 operand the GEMM wrote with its bias: ReLU on it in place, NaN kept (rounding and ReLU
// commute, so this is the ReLU of the FP32 value rounded). Grid as bias_activate_kernel's.
__global__ void relu_operand_kernel(__nv_bfloat16 *__restrict__ operand, size_t individual_stride,
                                    size_t row_stride, size_t count, size_t rows, size_t units)
{
    size_t j = (size_t)blockIdx.x * DEVO_BIAS_X + threadIdx.x;
    if (j >= units) return;
    for (size_t p = blockIdx.z; p < count; p += gridDim.z)
        for (size_t r = (size_t)blockIdx.y * DEVO_BIAS_Y + threadIdx.y; r < rows;
             r += (size_t)gridDim.y * DEVO_BIAS_Y) {
            __nv_bfloat16 *at = operand + p * individual_stride + r * row_stride + j;
            if (__bfloat162float(*at) < 0.0f) *at = __float2bfloat16(0.0f);
        }
}

// biases[i * stride + j] = individual first + i's bias j of a layer (devo_bias_stride's rows).
__global__ void gather_biases_kernel(const float *__restrict__ w, size_t D, size_t bias_offset,
                                     size_t units, size_t first, size_t count, size_t stride,
                                     float *__restrict__ biases)
{
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < count * units;
         e += (size_t)gridDim.x * blockDim.x) {
        size_t i = e / units, j = e % units;
        biases[i * stride + j] = w[(first + i) * D + bias_offset + j];
    }
}

// Softmax (a hidden layer's) needs whole rows: one thread per (individual, row).
template <typename T>
__global__ void bias_softmax_kernel(cuda_view v, size_t count, size_t rows, size_t units,
                                    const float *__restrict__ w, size_t D, size_t bias_offset,
                                    T *__restrict__ operand)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count * rows;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t p = i / rows, r = i % rows, offset = p * v.individual_stride + r * v.row_stride;
        float *row = v.base + offset;
        if (w) // NULL: the GEMM added the bias
            for (size_t j = 0; j < units; j++) row[j] += w[p * D + bias_offset + j];
        devo_activate_row(DEVO_ACT_SOFTMAX, row, units);
        if (operand)
            for (size_t j = 0; j < units; j++) operand[offset + j] = to_operand<T>(row[j]);
    }
}

// y row (p, r0 + r) of (count, total_rows, outputs) = the activated logits of (p, r).
__global__ void output_kernel(cuda_view v, size_t count, size_t rows, size_t outputs,
                              devo_activation act, float *__restrict__ y, size_t total_rows,
                              size_t r0)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count * rows;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t p = i / rows, r = i % rows;
        const float *z = v.base + p * v.individual_stride + r * v.row_stride;
        float *out = y + (p * total_rows + r0 + r) * outputs;
        for (size_t j = 0; j < outputs; j++) out[j] = z[j];
        devo_activate_row(act, out, outputs);
    }
}

/* ---------------------------------------------------------------------------- launchers */

static bool is_bf16(const cuda_device *b) { return b->cfg.precision == DEVO_PRECISION_BF16; }

/* C (m x n, column-major, ldc) = A (m x k, lda) * B (k x n, ldb) for `batch` matrices at the
 * given strides; operands FP32 or BF16 by precision, C always FP32, FP32 accumulation. */
static devo_status gemm(cuda_device *b, int m, int n, int k, const void *A, int lda,
                        long long stride_a, const void *B, int ldb, long long stride_b, float *C,
                        int ldc, long long stride_c, int batch)
{
    const float alpha = 1.0f, beta = 0.0f;
    cudaDataType operand = is_bf16(b) ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t compute = b->cfg.precision == DEVO_PRECISION_TF32
                                      ? CUBLAS_COMPUTE_32F_FAST_TF32
                                      : CUBLAS_COMPUTE_32F;
    CUBLAS_TRY(cublasGemmStridedBatchedEx(b->blas, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A,
                                          operand, lda, stride_a, B, operand, ldb, stride_b, &beta,
                                          C, CUDA_R_32F, ldc, stride_c, batch, compute,
                                          CUBLAS_GEMM_DEFAULT));
    return DEVO_OK;
}

/* Bias and activation of one layer's output view: w (count, D) the individuals' weights, NULL
 * when the GEMM added the bias; activated when the GEMM applied the activation. A hidden
 * layer's result goes to the BF16 operand instead when there is one (softmax writes both: it
 * works on the FP32 row). */
static devo_status bias_activate(cuda_device *b, cuda_view v, size_t count, size_t rows,
                                 const devo_layer *layer, const float *w, bool activated,
                                 bool last, __nv_bfloat16 *operand)
{
    if (layer->act == DEVO_ACT_SOFTMAX && !last)
        bias_softmax_kernel<<<cuda_grid_for(count * rows), 256, 0, b->stream>>>(
            v, count, rows, layer->units, w, b->D, layer->bias_offset, operand);
    else {
        devo_grid3 g = devo_bias_grid(count, rows, layer->units);
        dim3 grid(g.x, g.y, g.z), block(DEVO_BIAS_X, DEVO_BIAS_Y);
        bias_activate_kernel<<<grid, block, 0, b->stream>>>(
            v, count, rows, layer->units, w, b->D, layer->bias_offset,
            activated ? DEVO_ACT_LINEAR : layer->act, last ? 1 : 0, last ? nullptr : operand);
    }
    CUDA_TRY_LAUNCH();
    return DEVO_OK;
}

/* One dense layer of individuals [first, first + count) over `rows` samples: g's GEMM into the
 * view v (C), fused with what cuBLASLt does as devo does, then the rest by devo's kernels. */
static devo_status dense_layer(cuda_device *b, const cuda_layer_gemm &g, cuda_view v,
                               size_t count, size_t rows, const devo_layer *layer, size_t first)
{
    cuda_fused done;
    DEVO_TRY(cuda_layer_gemm_run(b, &g, &done));
    if (!done.bias)
        DEVO_TRY(gemm(b, g.m, g.n, g.k, g.A, g.lda, g.stride_a, g.B, g.ldb, g.stride_b, g.C,
                      g.ldc, g.stride_c, g.batch));
    if (done.operand) { // the GEMM wrote the BF16 operand; a ReLU it could not apply is left
        if (done.activation) return DEVO_OK;
        devo_grid3 grid = devo_bias_grid(count, rows, layer->units);
        relu_operand_kernel<<<dim3(grid.x, grid.y, grid.z), dim3(DEVO_BIAS_X, DEVO_BIAS_Y), 0,
                              b->stream>>>(g.operand, v.individual_stride, v.row_stride, count,
                                           rows, layer->units);
        CUDA_TRY_LAUNCH();
        return DEVO_OK;
    }
    if (done.bias && done.activation && !g.operand) return DEVO_OK; // C is final
    const float *w = done.bias ? nullptr : b->population + first * b->D;
    return bias_activate(b, v, count, rows, layer, w, done.activation, g.last, g.operand);
}

/* Gathers the biases of individuals [first, first + count) for the fused epilogues; layer 0's
 * packed for the shared-input GEMM (devo_bias_stride). */
static devo_status gather_biases(cuda_device *b, size_t first, size_t count, bool packed0)
{
    if (!cuda_lt_fuses(b)) return DEVO_OK;
    const devo_model *arch = b->cfg.arch;
    for (size_t l = 0; l < arch->layer_count; l++) {
        const devo_layer *layer = &arch->layers[l];
        gather_biases_kernel<<<cuda_grid_for(count * layer->units), 256, 0, b->stream>>>(
            b->population, b->D, layer->bias_offset, layer->units, first, count,
            devo_bias_stride(layer->units, l == 0 && packed0), b->biases + b->bias_at[l]);
        CUDA_TRY_LAUNCH();
    }
    return DEVO_OK;
}

/* The rows of one chunk: a shared input x (rows, inputs) when own_stride is 0, else
 * individual p's input at x + p * own_stride (rows, inputs each). Operand pointers. */
struct chunk_input {
    const void *x;
    long long own_stride;
};

/* Forwards individuals [first, first + count) over one chunk of `rows` samples; *logits
 * receives the last layer's pre-activations (bias added). */
static devo_status forward_chunk(cuda_device *b, size_t first, size_t count, size_t rows,
                                 chunk_input in, cuda_view *logits)
{
    const devo_model *arch = b->cfg.arch;
    size_t ob = b->operand_bytes, L = arch->layer_count;
    const char *w_operand = is_bf16(b) ? (const char *)(b->population_bf16 + first * b->D)
                                       : (const char *)(b->population + first * b->D);
    const devo_layer *layer = &arch->layers[0];
    size_t u0 = layer->units;
    bool packed0 = in.own_stride == 0;
    cuda_layer_gemm g = {};
    g.n = (int)rows;
    g.k = (int)b->inputs;
    g.B = in.x;
    g.ldb = (int)b->inputs;
    g.C = b->pre[0];
    g.bias = cuda_lt_fuses(b) ? b->biases + b->bias_at[0] : nullptr; // gathered by the caller
    cuda_view v;
    if (packed0) {
        // Row-major h (rows, count*u0) = x (rows, inputs) . packed[:, first*u0 ..] (inputs,
        // count*u0), packed being (inputs, P*u0). Column-major, cuBLAS sees h^T (count*u0, rows)
        // = packed^T (count*u0, inputs) . x^T (inputs, rows): packed from column first*u0 with
        // ld P*u0 is that slice of packed^T, x with ld inputs is x^T. Its bias vector is every
        // individual's side by side (count*u0).
        g.m = (int)(count * u0);
        g.A = static_cast<const char *>(b->packed) + first * u0 * ob;
        g.lda = (int)(b->slots * u0);
        g.ldc = (int)(count * u0);
        g.batch = 1;
        v = {b->pre[0], u0, count * u0};
    } else {
        // Per individual p: row-major h_p (rows, u0) = x_p (rows, inputs) . kernel_p (inputs,
        // u0), i.e. column-major h_p^T (u0, rows) = kernel_p^T (u0, inputs) . x_p^T.
        g.m = (int)u0;
        g.A = w_operand + layer->kernel_offset * ob;
        g.lda = (int)u0;
        g.stride_a = (long long)b->D;
        g.stride_b = in.own_stride;
        g.ldc = (int)u0;
        g.stride_c = (long long)(rows * u0);
        g.batch = (int)count;
        g.bias_stride = (long long)devo_bias_stride(u0, 0);
        v = {b->pre[0], rows * u0, u0};
    }
    g.act = layer->act;
    g.last = L == 1;
    g.operand = g.last ? nullptr : b->act_bf16[0];
    DEVO_TRY(dense_layer(b, g, v, count, rows, layer, first));
    // The later layers' kernels, individual `first` on, in rows padded to tail_stride.
    size_t tail_stride = devo_tail_stride(b->tail_size);
    const char *tail = static_cast<const char *>(b->tail) + first * tail_stride * ob;
    for (size_t l = 1; l < L; l++) {
        const devo_layer *prev = layer;
        layer = &arch->layers[l];
        // Per individual: out_p (rows, units) = h_p (rows, inputs) . kernel_p (inputs, units);
        // column-major out_p^T = kernel_p^T (units, inputs) . h_p^T (inputs, rows), where h_p^T
        // has ld = the row stride of the view (count*u0 in the packed first-layer layout), and
        // kernel_p^T is individual p's row of the tail from the layer's offset in it.
        g.m = (int)layer->units;
        g.k = (int)prev->units;
        g.A = tail + (layer->kernel_offset - b->tail_offset) * ob;
        g.lda = (int)layer->units;
        g.stride_a = (long long)tail_stride;
        g.B = is_bf16(b) ? (const void *)b->act_bf16[(l - 1) % 2]
                         : (const void *)b->pre[(l - 1) % 2];
        g.ldb = (int)v.row_stride;
        g.stride_b = (long long)v.individual_stride;
        g.C = b->pre[l % 2];
        g.ldc = (int)layer->units;
        g.stride_c = (long long)(rows * layer->units);
        g.batch = (int)count;
        g.bias = cuda_lt_fuses(b) ? b->biases + b->bias_at[l] : nullptr;
        g.bias_stride = (long long)devo_bias_stride(layer->units, 0);
        g.act = layer->act;
        g.last = l + 1 == L;
        g.operand = g.last ? nullptr : b->act_bf16[l % 2];
        v = {g.C, rows * layer->units, layer->units};
        DEVO_TRY(dense_layer(b, g, v, count, rows, layer, first));
    }
    *logits = v;
    return DEVO_OK;
}

/* The input operands of chunk [s0, s0 + rows): the bound rows, or a subset gathered. */
static devo_status chunk_operands(cuda_device *b, bool subset, size_t s0, size_t rows,
                                  const void **x, const float **y)
{
    if (!subset) {
        *x = is_bf16(b) ? (const void *)(b->x_bf16 + s0 * b->inputs)
                        : (const void *)(b->x + s0 * b->inputs);
        *y = b->y + s0 * b->width;
        return DEVO_OK;
    }
    const long long *list = b->rows + s0;
    if (is_bf16(b))
        gather_rows_kernel<<<cuda_grid_for(rows * b->inputs), 256, 0, b->stream>>>(
            b->x, list, rows, b->inputs, static_cast<__nv_bfloat16 *>(b->gathered_x));
    else
        gather_rows_kernel<<<cuda_grid_for(rows * b->inputs), 256, 0, b->stream>>>(
            b->x, list, rows, b->inputs, static_cast<float *>(b->gathered_x));
    CUDA_TRY_LAUNCH();
    gather_rows_kernel<<<cuda_grid_for(rows * b->width), 256, 0, b->stream>>>(b->y, list, rows,
                                                                         b->width, b->gathered_y);
    CUDA_TRY_LAUNCH();
    *x = b->gathered_x;
    *y = b->gathered_y;
    return DEVO_OK;
}

devo_status cuda_evaluate_slots(cuda_device *b, const size_t *rows, size_t row_count,
                                size_t first, size_t count, double *fitness)
{
    const devo_model *arch = b->cfg.arch;
    size_t samples = rows ? row_count : b->n;
    if (count == 0) return DEVO_OK; // [P, P) when top_k == P: no GEMM of width 0, no launch
    if (rows && row_count <= b->n) { // through pinned staging: the upload then need not wait (the last one is done)
        memcpy(b->host_rows, rows, row_count * sizeof(size_t));
        rows = b->host_rows;
    }
    DEVO_TRY(devo_cuda_begin_sums(b->stream, rows, row_count, b->rows, b->loss_sum, b->correct,
                                  count, &b->traffic));
    DEVO_TRY(gather_biases(b, first, count, true));
    const devo_layer *last = &arch->layers[arch->layer_count - 1];
    for (size_t s0 = 0; s0 < samples; s0 += b->batch) {
        size_t chunk = samples - s0 < b->batch ? samples - s0 : b->batch;
        const void *x = nullptr;
        const float *y = nullptr;
        DEVO_TRY(chunk_operands(b, rows != nullptr, s0, chunk, &x, &y));
        cuda_view logits;
        DEVO_TRY(forward_chunk(b, first, count, chunk, {x, 0}, &logits));
        devo_cuda_loss_kernel<<<(unsigned)count, DEVO_CUDA_REDUCE_THREADS, 0, b->stream>>>(
            logits, chunk, b->outputs, last->act, arch->loss, y, b->width, b->loss_sum,
            b->correct);
        CUDA_TRY_LAUNCH();
    }
    DEVO_TRY(cuda_fitness_known(b, first, count, samples));
    return devo_cuda_read_fitness(b->stream, b->loss_sum, b->correct, b->host_sums,
                                  b->host_correct, count, samples, b->cfg.fitness, fitness,
                                  &b->traffic);
}

devo_status cuda_evaluate(void *ctx, const size_t *rows, size_t row_count, size_t first,
                          size_t count, double *fitness)
{
    return cuda_evaluate_slots(static_cast<cuda_device *>(ctx), rows, row_count, first, count,
                               fitness + first);
}

/* Grows the forward buffers to hold P x rows inputs and outputs. */
static devo_status reserve_forward(cuda_device *b, size_t rows)
{
    if (rows <= b->forward_rows) return DEVO_OK;
    void *old[] = {b->forward_x, b->forward_y, b->forward_x_bf16};
    for (void *p : old) cudaFree(p);
    size_t bf16 = is_bf16(b) ? 2 : 0;
    b->device_bytes -= b->forward_rows * b->P * (b->inputs * (4 + bf16) + b->outputs * 4);
    b->forward_x = b->forward_y = nullptr;
    b->forward_x_bf16 = nullptr;
    b->forward_rows = 0;
    DEVO_TRY(cuda_alloc(b, (void **)&b->forward_x, b->P * rows * b->inputs * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->forward_y, b->P * rows * b->outputs * sizeof(float)));
    if (bf16)
        DEVO_TRY(cuda_alloc(b, (void **)&b->forward_x_bf16,
                            b->P * rows * b->inputs * sizeof(__nv_bfloat16)));
    b->forward_rows = rows;
    return DEVO_OK;
}

devo_status cuda_forward(void *ctx, const float *x, size_t rows, float *y)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    const devo_layer *last = &b->cfg.arch->layers[b->cfg.arch->layer_count - 1];
    size_t P = b->P, in_floats = P * rows * b->inputs;
    DEVO_TRY(reserve_forward(b, rows));
    DEVO_TRY(cuda_upload(b, b->forward_x, x, in_floats * sizeof(float)));
    if (is_bf16(b)) DEVO_TRY(cuda_to_bf16(b, b->forward_x, b->forward_x_bf16, in_floats));
    DEVO_TRY(gather_biases(b, 0, P, false));
    for (size_t r0 = 0; r0 < rows; r0 += b->batch) {
        size_t chunk = rows - r0 < b->batch ? rows - r0 : b->batch;
        const void *xs = is_bf16(b) ? (const void *)(b->forward_x_bf16 + r0 * b->inputs)
                                    : (const void *)(b->forward_x + r0 * b->inputs);
        cuda_view logits;
        DEVO_TRY(forward_chunk(b, 0, P, chunk, {xs, (long long)(rows * b->inputs)}, &logits));
        output_kernel<<<cuda_grid_for(P * chunk), 256, 0, b->stream>>>(logits, P, chunk, b->outputs,
                                                                  last->act, b->forward_y, rows,
                                                                  r0);
        CUDA_TRY_LAUNCH();
    }
    DEVO_TRY(cuda_download(b, y, b->forward_y, P * rows * b->outputs * sizeof(float)));
    CUDA_TRY(devo_cuda_wait(b->stream));
    return DEVO_OK;
}
