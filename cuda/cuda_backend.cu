/*
 * cuda_backend.cu - the CUDA backend's life cycle: device discovery, the memory
 * plan and its refusal when the run does not fit, data upload, host views of
 * the population, the hardware ceiling, and the backend table. Evaluation,
 * selection and variation are in cuda_evaluate.cu, cuda_select.cu and cuda_vary.cu.
 */
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_layout.h"

extern "C" {
#include "options.h"
}

#include <climits>
#include <cstdlib>
#include <cstring>

extern "C" int devo_cuda_device_count(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError(); // clear the "no device" / "no driver" error
        return 0;
    }
    return count;
}

devo_status cuda_alloc(cuda_backend *b, void **ptr, size_t bytes)
{
    CUDA_TRY(cudaMalloc(ptr, bytes ? bytes : 1));
    b->device_bytes += bytes;
    return DEVO_OK;
}

static void cuda_destroy(void *ctx)
{
    cuda_backend *b = static_cast<cuda_backend *>(ctx);
    if (!b) return;
    void *device[] = {b->population, b->next,      b->population_bf16, b->packed,
                      b->pre[0],     b->pre[1],    b->act_bf16[0],     b->act_bf16[1],
                      b->loss_sum,   b->correct,   b->fitness,         b->keys_in,
                      b->keys_out,   b->values_in, b->values_out,      b->sort_temp,
                      b->sources,    b->x,         b->x_bf16,          b->y,
                      b->rows,       b->gathered_x, b->gathered_y,     b->forward_x,
                      b->forward_y,  b->forward_x_bf16};
    for (void *p : device) cudaFree(p);
    if (b->blas) cublasDestroy(b->blas);
    if (b->stream) cudaStreamDestroy(b->stream);
    free(b->host_sums);
    free(b->host_correct);
    free(b->host_order);
    free(b->host_sources);
    if (b->host_population_pinned)
        cudaFreeHost(b->host_population);
    else
        free(b->host_population);
    free(b);
}

/* Bytes the run needs on the device before any data: population buffers, one
 * chunk of activations per layer (ping-pong), packed kernels, selection and work space. */
static double planned_bytes(const cuda_backend *b, size_t sort_temp_bytes)
{
    double P = (double)b->P, D = (double)b->D, ob = (double)b->operand_bytes;
    double activations = 2.0 * P * (double)b->batch * (double)b->max_units;
    int bf16 = b->cfg.precision == DEVO_PRECISION_BF16;
    return 2.0 * P * D * 4.0 + (bf16 ? P * D * 2.0 : 0.0) +
           (double)b->inputs * P * (double)b->cfg.arch->layers[0].units * ob +
           activations * 4.0 + (bf16 ? activations * 2.0 : 0.0) +
           P * (8.0 + 8.0 + 3 * 8.0 + 2 * 4.0 + 8.0) + (double)sort_temp_bytes +
           (double)b->batch * ((double)b->inputs * ob + (double)b->width * 4.0);
}

static devo_status check_fits(double needed, const char *what)
{
    size_t free_bytes = 0, total_bytes = 0;
    CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (needed > 0.95 * (double)free_bytes)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "cuda backend: %s needs %.0f bytes (%.2f GiB) but the device has %zu "
                         "bytes (%.2f GiB) free of %zu", what, needed, needed / 1073741824.0,
                         free_bytes, (double)free_bytes / 1073741824.0, total_bytes);
    return DEVO_OK;
}

static devo_status allocate(cuda_backend *b)
{
    size_t P = b->P, D = b->D, act = P * b->batch * b->max_units;
    size_t units0 = b->cfg.arch->layers[0].units;
    int bf16 = b->cfg.precision == DEVO_PRECISION_BF16;
    DEVO_TRY(cuda_alloc(b, (void **)&b->population, P * D * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->next, P * D * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, &b->packed, b->inputs * P * units0 * b->operand_bytes));
    for (int i = 0; i < 2; i++) DEVO_TRY(cuda_alloc(b, (void **)&b->pre[i], act * sizeof(float)));
    if (bf16) {
        DEVO_TRY(cuda_alloc(b, (void **)&b->population_bf16, P * D * sizeof(__nv_bfloat16)));
        for (int i = 0; i < 2; i++)
            DEVO_TRY(cuda_alloc(b, (void **)&b->act_bf16[i], act * sizeof(__nv_bfloat16)));
    }
    DEVO_TRY(cuda_alloc(b, (void **)&b->loss_sum, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->correct, P * sizeof(unsigned long long)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->fitness, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->keys_in, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->keys_out, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->values_in, P * sizeof(int)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->values_out, P * sizeof(int)));
    DEVO_TRY(cuda_alloc(b, &b->sort_temp, b->sort_temp_bytes));
    DEVO_TRY(cuda_alloc(b, (void **)&b->sources, P * sizeof(int2)));
    DEVO_TRY(cuda_alloc(b, &b->gathered_x, b->batch * b->inputs * b->operand_bytes));
    DEVO_TRY(cuda_alloc(b, (void **)&b->gathered_y, b->batch * b->width * sizeof(float)));
    b->host_sums = static_cast<double *>(malloc(P * sizeof(double)));
    b->host_correct = static_cast<unsigned long long *>(malloc(P * sizeof(unsigned long long)));
    b->host_order = static_cast<int *>(malloc(P * sizeof(int)));
    b->host_sources = static_cast<int2 *>(malloc(P * sizeof(int2)));
    if (!b->host_sums || !b->host_correct || !b->host_order || !b->host_sources)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cuda backend: out of host memory");
    return DEVO_OK;
}

static devo_status create_in(cuda_backend *b)
{
    CUDA_TRY(cudaSetDevice(b->cfg.device));
    CUDA_TRY(cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking));
    CUBLAS_TRY(cublasCreate(&b->blas));
    CUBLAS_TRY(cublasSetStream(b->blas, b->stream));
    // The memory first (an absurd population is refused with the numbers), then the int
    // dimensions cuBLAS and CUB take, then the sort's temp storage, which needs them.
    DEVO_TRY(check_fits(planned_bytes(b, 0), "the population and work space"));
    size_t widest = b->P * (b->max_units > b->inputs ? b->max_units : b->inputs);
    if (b->P > (size_t)INT_MAX || widest > (size_t)INT_MAX || b->batch > (size_t)INT_MAX)
        return devo_fail(DEVO_ERR_UNSUPPORTED,
                         "cuda backend: population %zu x %zu units exceeds cuBLAS's int "
                         "dimensions", b->P, widest / b->P);
    DEVO_TRY(cuda_sort_temp_bytes(b->P, &b->sort_temp_bytes));
    DEVO_TRY(check_fits(planned_bytes(b, b->sort_temp_bytes), "the population and work space"));
    return allocate(b);
}

static devo_status cuda_create(void **ctx, const devo_backend_config *cfg)
{
    cuda_backend *b = static_cast<cuda_backend *>(calloc(1, sizeof(cuda_backend)));
    if (!b) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    const devo_model *arch = cfg->arch;
    b->cfg = *cfg;
    b->P = cfg->population;
    b->k = cfg->top_k;
    b->D = arch->param_count;
    b->inputs = arch->input_dim;
    b->outputs = devo_model_output_dim(arch);
    b->width = devo_model_target_width(arch);
    b->max_units = devo_model_max_units(arch);
    b->batch = devo_cuda_chunk(cfg->batch_size, b->P, b->max_units,
                               cfg->precision == DEVO_PRECISION_BF16);
    b->operand_bytes = cfg->precision == DEVO_PRECISION_BF16 ? 2 : 4;
    devo_status status = create_in(b);
    if (status != DEVO_OK) {
        cuda_destroy(b);
        return status;
    }
    *ctx = b;
    return DEVO_OK;
}

__global__ void to_bf16_kernel(const float *__restrict__ in, __nv_bfloat16 *__restrict__ out,
                               size_t count)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16(in[i]);
}

/* Launcher: out (count) = in (count) rounded to BF16. */
devo_status cuda_to_bf16(cuda_backend *b, const float *in, __nv_bfloat16 *out, size_t count)
{
    to_bf16_kernel<<<cuda_grid_for(count), 256, 0, b->stream>>>(in, out, count);
    CUDA_TRY_LAUNCH();
    return DEVO_OK;
}

static devo_status cuda_bind_data(void *ctx, const float *x, const float *y, size_t n)
{
    cuda_backend *b = static_cast<cuda_backend *>(ctx);
    void *old[] = {b->x, b->x_bf16, b->y, b->rows};
    for (void *p : old) cudaFree(p);
    b->device_bytes -= b->n * (b->inputs * (4 + (b->x_bf16 ? 2 : 0)) + b->width * 4 + 8);
    b->x = nullptr;
    b->x_bf16 = nullptr;
    b->y = nullptr;
    b->rows = nullptr;
    b->n = 0;
    int bf16 = b->cfg.precision == DEVO_PRECISION_BF16;
    double needed = (double)n * ((double)b->inputs * (bf16 ? 6.0 : 4.0) + (double)b->width * 4.0 + 8.0);
    DEVO_TRY(check_fits(needed, "the training data"));
    DEVO_TRY(cuda_alloc(b, (void **)&b->x, n * b->inputs * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->y, n * b->width * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->rows, n * sizeof(long long)));
    CUDA_TRY(cudaMemcpyAsync(b->x, x, n * b->inputs * sizeof(float), cudaMemcpyHostToDevice,
                             b->stream));
    CUDA_TRY(cudaMemcpyAsync(b->y, y, n * b->width * sizeof(float), cudaMemcpyHostToDevice,
                             b->stream));
    if (bf16) {
        DEVO_TRY(cuda_alloc(b, (void **)&b->x_bf16, n * b->inputs * sizeof(__nv_bfloat16)));
        DEVO_TRY(cuda_to_bf16(b, b->x, b->x_bf16, n * b->inputs));
    }
    CUDA_TRY(cudaStreamSynchronize(b->stream));
    b->n = n;
    return DEVO_OK;
}

static devo_status cuda_population(void *ctx, const float **view)
{
    cuda_backend *b = static_cast<cuda_backend *>(ctx);
    if (!b->host_population) {
        // Pinned, so the download (once per generation for a custom fitness) runs at full
        // speed; pageable memory when the system cannot pin that much.
        size_t bytes = b->P * b->D * sizeof(float);
        b->host_population_pinned = cudaMallocHost((void **)&b->host_population, bytes) ==
                                    cudaSuccess;
        if (!b->host_population_pinned) {
            cudaGetLastError(); // clear the failed pin
            b->host_population = static_cast<float *>(malloc(bytes));
        }
        if (!b->host_population)
            return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                             "cuda backend: cannot allocate the %zu x %zu host view", b->P, b->D);
    }
    CUDA_TRY(cudaMemcpyAsync(b->host_population, b->population, b->P * b->D * sizeof(float),
                             cudaMemcpyDeviceToHost, b->stream));
    CUDA_TRY(cudaStreamSynchronize(b->stream));
    *view = b->host_population;
    return DEVO_OK;
}

static devo_status cuda_individual(void *ctx, size_t index, float *dst)
{
    cuda_backend *b = static_cast<cuda_backend *>(ctx);
    CUDA_TRY(cudaMemcpyAsync(dst, b->population + index * b->D, b->D * sizeof(float),
                             cudaMemcpyDeviceToHost, b->stream));
    CUDA_TRY(cudaStreamSynchronize(b->stream));
    return DEVO_OK;
}

static size_t cuda_device_bytes(void *ctx) { return static_cast<cuda_backend *>(ctx)->device_bytes; }

/* The ceiling: the fastest of a few timed repetitions of one square GEMM in a precision's
 * arithmetic, and of one large device-to-device copy. */
struct ceiling_state {
    cublasHandle_t blas;
    cudaStream_t stream;
    cudaEvent_t start, stop;
    float *a, *b, *c;                  /* (n, n) each */
    __nv_bfloat16 *a_bf16, *b_bf16;    /* (n, n) each, BF16 only */
    int n;
    devo_precision precision;
    size_t copy_bytes;
};

// out (count) = uniform values in [-1, 1) from stream GLOROT's layout under `seed`: random
// operands, since zeros run faster than real data on some GPUs.
__global__ void fill_uniform_kernel(float *__restrict__ out, size_t count, uint64_t seed)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        devo_philox_block r = devo_rng_block(seed, DEVO_STREAM_GLOROT, 0, (uint32_t)(i >> 34),
                                             (uint32_t)(i / 4));
        uint32_t q = (uint32_t)(i % 4);
        uint32_t word = q == 0 ? r.w[0] : q == 1 ? r.w[1] : q == 2 ? r.w[2] : r.w[3];
        out[i] = 2.0f * devo_u01(word) - 1.0f;
    }
}

/* One square GEMM c = a * b as evaluation runs it in s->precision. */
static devo_status square_gemm(ceiling_state *s)
{
    const float alpha = 1.0f, beta = 0.0f;
    bool bf16 = s->precision == DEVO_PRECISION_BF16;
    cudaDataType operand = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t compute = s->precision == DEVO_PRECISION_TF32
                                      ? CUBLAS_COMPUTE_32F_FAST_TF32
                                      : CUBLAS_COMPUTE_32F;
    const void *a = bf16 ? (const void *)s->a_bf16 : (const void *)s->a;
    const void *b = bf16 ? (const void *)s->b_bf16 : (const void *)s->b;
    CUBLAS_TRY(cublasGemmEx(s->blas, CUBLAS_OP_N, CUBLAS_OP_N, s->n, s->n, s->n, &alpha, a,
                            operand, s->n, b, operand, s->n, &beta, s->c, CUDA_R_32F, s->n,
                            compute, CUBLAS_GEMM_DEFAULT));
    return DEVO_OK;
}

static devo_status square_copy(ceiling_state *s)
{
    CUDA_TRY(cudaMemcpyAsync(s->c, s->a, s->copy_bytes, cudaMemcpyDeviceToDevice, s->stream));
    return DEVO_OK;
}

/* *best_ms = the fastest of runs - 1 timed repetitions of work, after one warm-up. */
static devo_status fastest_ms(ceiling_state *s, devo_status (*work)(ceiling_state *), int runs,
                              float *best_ms)
{
    for (int run = 0; run < runs; run++) {
        CUDA_TRY(cudaEventRecord(s->start, s->stream));
        DEVO_TRY(work(s));
        CUDA_TRY(cudaEventRecord(s->stop, s->stream));
        CUDA_TRY(cudaEventSynchronize(s->stop));
        float ms = 0;
        CUDA_TRY(cudaEventElapsedTime(&ms, s->start, s->stop));
        if (run > 0 && (run == 1 || ms < *best_ms)) *best_ms = ms; // run 0 warms up
    }
    return DEVO_OK;
}

static devo_status ceiling_in(ceiling_state *s, double *gemm_flops, double *copy_bytes_per_second)
{
    CUDA_TRY(cudaSetDevice(devo_options_device())); // the device this process's runs use
    CUDA_TRY(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
    CUDA_TRY(cudaEventCreate(&s->start));
    CUDA_TRY(cudaEventCreate(&s->stop));
    CUBLAS_TRY(cublasCreate(&s->blas));
    CUBLAS_TRY(cublasSetStream(s->blas, s->stream));
    size_t count = (size_t)s->n * (size_t)s->n, bytes = count * sizeof(float);
    CUDA_TRY(cudaMalloc((void **)&s->a, bytes));
    CUDA_TRY(cudaMalloc((void **)&s->b, bytes));
    CUDA_TRY(cudaMalloc((void **)&s->c, bytes));
    fill_uniform_kernel<<<cuda_grid_for(count), 256, 0, s->stream>>>(s->a, count, 1);
    fill_uniform_kernel<<<cuda_grid_for(count), 256, 0, s->stream>>>(s->b, count, 2);
    CUDA_TRY_LAUNCH();
    if (s->precision == DEVO_PRECISION_BF16) {
        CUDA_TRY(cudaMalloc((void **)&s->a_bf16, count * sizeof(__nv_bfloat16)));
        CUDA_TRY(cudaMalloc((void **)&s->b_bf16, count * sizeof(__nv_bfloat16)));
        to_bf16_kernel<<<cuda_grid_for(count), 256, 0, s->stream>>>(s->a, s->a_bf16, count);
        to_bf16_kernel<<<cuda_grid_for(count), 256, 0, s->stream>>>(s->b, s->b_bf16, count);
        CUDA_TRY_LAUNCH();
    }
    s->copy_bytes = bytes;
    float gemm_ms = 0, copy_ms = 0;
    DEVO_TRY(fastest_ms(s, square_gemm, 4, &gemm_ms));
    DEVO_TRY(fastest_ms(s, square_copy, 6, &copy_ms));
    *gemm_flops = 2.0 * (double)s->n * s->n * s->n / (gemm_ms * 1e-3);
    *copy_bytes_per_second = 2.0 * (double)bytes / (copy_ms * 1e-3); // read + write
    return DEVO_OK;
}

static devo_status cuda_measure_ceiling(int threads, devo_precision precision, double *gemm_flops,
                                        double *copy_bytes_per_second, size_t *gemm_size)
{
    (void)threads;
    ceiling_state s = {};
    s.n = 8192;
    s.precision = precision;
    *gemm_size = (size_t)s.n;
    devo_status status = ceiling_in(&s, gemm_flops, copy_bytes_per_second);
    void *device[] = {s.a, s.b, s.c, s.a_bf16, s.b_bf16};
    for (void *p : device) cudaFree(p);
    if (s.blas) cublasDestroy(s.blas);
    if (s.start) cudaEventDestroy(s.start);
    if (s.stop) cudaEventDestroy(s.stop);
    if (s.stream) cudaStreamDestroy(s.stream);
    return status;
}

extern "C" const devo_backend_i *devo_backend_cuda(void)
{
    static const devo_backend_i cuda = {
        "cuda",
        cuda_create,
        cuda_destroy,
        cuda_init_population,
        cuda_bind_data,
        cuda_evaluate,
        cuda_rank,
        cuda_breed,
        cuda_population,
        cuda_individual,
        cuda_forward,
        cuda_device_bytes,
        cuda_measure_ceiling,
        cuda_load_population,
        cuda_breed_range,
        nullptr, // tell, center, evaluate_center, es_state: the GA has no search distribution
        nullptr,
        nullptr,
        nullptr,
    };
    return &cuda;
}
