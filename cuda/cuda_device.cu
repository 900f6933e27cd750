/*
 * cuda_device.cu - the CUDA device's life cycle: device discovery, the memory
 * plan and its refusal when the run does not fit, data upload, host views of
 * the population, the copies counted both ways, the hardware ceiling, and the
 * device table, which sends a low-rank ES's operations to cuda_lowrank.cu.
 * Evaluation, selection, the GA's variation and an ES's perturbation are in
 * cuda_evaluate.cu, cuda_select.cu, cuda_vary.cu and cuda_perturb.cu.
 */
#include "cuda_device.h"
#include "cuda_check.h"
#include "cuda_hooks.h"
#include "cuda_layout.h"

extern "C" {
#include "device_predict.h"
#include "options.h"
#include "selection.h"
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

static size_t chunk_cap; /* the tests' cap on a chunk's samples (0: none) */

extern "C" void devo_cuda_set_chunk_cap(size_t samples) { chunk_cap = samples; }

size_t cuda_chunk(size_t batch_size, size_t P, size_t max_units, bool bf16)
{
    return devo_cuda_capped_chunk(devo_cuda_chunk(batch_size, P, max_units, bf16 ? 1 : 0),
                                  batch_size, chunk_cap);
}

devo_status cuda_alloc(cuda_device *b, void **ptr, size_t bytes)
{
    CUDA_TRY(cudaMalloc(ptr, bytes ? bytes : 1));
    b->device_bytes += bytes;
    return DEVO_OK;
}

devo_status cuda_upload(cuda_device *b, void *dst, const void *src, size_t bytes)
{
    CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, b->stream));
    b->traffic.to_device += bytes;
    return DEVO_OK;
}

devo_status cuda_download(cuda_device *b, void *dst, const void *src, size_t bytes)
{
    CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, b->stream));
    b->traffic.to_host += bytes;
    return DEVO_OK;
}

/* A low-rank ES: its factors live in cuda_lowrank.cu's context. */
static bool low_rank(const cuda_device *b) { return b->lowrank != nullptr; }

static void cuda_destroy(void *ctx)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (!b) return;
    void *device[] = {b->population, b->next,      b->population_bf16, b->packed,
                      b->pre[0],     b->pre[1],    b->act_bf16[0],     b->act_bf16[1],
                      b->loss_sum,   b->correct,   b->fitness,         b->keys_in,
                      b->keys_out,   b->values_in, b->values_out,      b->sort_temp,
                      b->sources,    b->x,         b->x_bf16,          b->y,
                      b->rows,       b->gathered_x, b->gathered_y,     b->forward_x,
                      b->forward_y,  b->forward_x_bf16, b->center,     b->sigma,
                      b->eps,        b->w,         b->v,               b->s1,
                      b->s2,         b->tail,      b->fitness_spare,   b->best_row,
                      b->biases};
    for (void *p : device) cudaFree(p);
    devo_cuda_lowrank_free(b->lowrank);
    cuda_lt_destroy(b->lt);
    free(b->bias_at);
    devo_es_noise_release(&b->host_noise);
    free(b->host_center);
    free(b->host_sigma);
    devo_lowrank_free(b->own);
    free(b->scratch);
    if (b->blas) cublasDestroy(b->blas);
    if (b->stream) cudaStreamDestroy(b->stream);
    if (b->sources_copied) cudaEventDestroy(b->sources_copied);
    void *staging[] = {b->host_sums,    b->host_correct, b->host_order,
                       b->host_sources, b->host_fitness, b->host_best, b->host_rows};
    for (void *p : staging) cudaFreeHost(p);
    if (b->host_population_pinned)
        cudaFreeHost(b->host_population);
    else
        free(b->host_population);
    free(b);
}

/* Bytes the run needs on the device before any data: population buffers, one
 * chunk of activations per layer (ping-pong), packed kernels, selection and work space. */
static double planned_bytes(const cuda_device *b, size_t sort_temp_bytes)
{
    double P = (double)b->P, D = (double)b->D, ob = (double)b->operand_bytes;
    double S = (double)b->slots, dirs = (double)b->cfg.directions;
    double activations = 2.0 * P * (double)b->batch * (double)b->max_units;
    int bf16 = b->cfg.precision == DEVO_PRECISION_BF16;
    // The GA's population twice (double-buffered); an ES's once, with its directions.
    double rows = dirs > 0.0 ? S * D * 4.0 + dirs * D * 4.0 + 4.0 * D * 4.0 : 2.0 * S * D * 4.0;
    return rows + (bf16 ? S * D * 2.0 : 0.0) +
           (double)b->inputs * S * (double)b->cfg.arch->layers[0].units * ob +
           S * (double)devo_tail_stride(b->tail_size) * ob +
           activations * 4.0 + (bf16 ? activations * 2.0 : 0.0) +
           P * (8.0 + 8.0 + 4 * 8.0 + 2 * 4.0 + 8.0) + D * 4.0 + (double)sort_temp_bytes +
           (double)b->batch * ((double)b->inputs * ob + (double)b->width * 4.0) +
           (double)b->bias_at[b->cfg.arch->layer_count] * 4.0 + (double)CUDA_LT_WORKSPACE_BYTES;
}

static devo_status check_fits(double needed, const char *what)
{
    size_t free_bytes = 0, total_bytes = 0;
    CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (needed > 0.95 * (double)free_bytes)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "cuda device: %s needs %.0f bytes (%.2f GiB) but the device has %zu "
                         "bytes (%.2f GiB) free of %zu", what, needed, needed / 1073741824.0,
                         free_bytes, (double)free_bytes / 1073741824.0, total_bytes);
    return DEVO_OK;
}

static devo_status allocate(cuda_device *b)
{
    size_t P = b->P, S = b->slots, D = b->D, act = P * b->batch * b->max_units;
    size_t units0 = b->cfg.arch->layers[0].units;
    int bf16 = b->cfg.precision == DEVO_PRECISION_BF16;
    DEVO_TRY(cuda_alloc(b, (void **)&b->population, S * D * sizeof(float)));
    if (b->cfg.directions) DEVO_TRY(cuda_es_allocate(b));
    else DEVO_TRY(cuda_alloc(b, (void **)&b->next, S * D * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, &b->packed, b->inputs * S * units0 * b->operand_bytes));
    if (b->tail_size)
        DEVO_TRY(cuda_alloc(b, &b->tail, S * devo_tail_stride(b->tail_size) * b->operand_bytes));
    for (int i = 0; i < 2; i++) DEVO_TRY(cuda_alloc(b, (void **)&b->pre[i], act * sizeof(float)));
    if (bf16) {
        DEVO_TRY(cuda_alloc(b, (void **)&b->population_bf16, S * D * sizeof(__nv_bfloat16)));
        for (int i = 0; i < 2; i++)
            DEVO_TRY(cuda_alloc(b, (void **)&b->act_bf16[i], act * sizeof(__nv_bfloat16)));
    }
    DEVO_TRY(cuda_alloc(b, (void **)&b->loss_sum, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->correct, P * sizeof(unsigned long long)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->fitness, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->fitness_spare, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->best_row, D * sizeof(float)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->keys_in, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->keys_out, P * sizeof(double)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->values_in, P * sizeof(int)));
    DEVO_TRY(cuda_alloc(b, (void **)&b->values_out, P * sizeof(int)));
    DEVO_TRY(cuda_alloc(b, &b->sort_temp, b->sort_temp_bytes));
    DEVO_TRY(cuda_alloc(b, (void **)&b->sources, P * sizeof(int2)));
    DEVO_TRY(cuda_alloc(b, &b->gathered_x, b->batch * b->inputs * b->operand_bytes));
    DEVO_TRY(cuda_alloc(b, (void **)&b->gathered_y, b->batch * b->width * sizeof(float)));
    // Pinned staging: copies through it neither wait for the stream nor bounce through a
    // driver buffer; sources_copied says when host_sources may be written again.
    CUDA_TRY(cudaMallocHost((void **)&b->host_sums, P * sizeof(double)));
    CUDA_TRY(cudaMallocHost((void **)&b->host_correct, P * sizeof(unsigned long long)));
    CUDA_TRY(cudaMallocHost((void **)&b->host_order, P * sizeof(int)));
    CUDA_TRY(cudaMallocHost((void **)&b->host_sources, P * sizeof(int2)));
    CUDA_TRY(cudaMallocHost((void **)&b->host_fitness, P * sizeof(double)));
    CUDA_TRY(cudaMallocHost((void **)&b->host_best, D * sizeof(float)));
    CUDA_TRY(cudaEventCreateWithFlags(&b->sources_copied, cudaEventDisableTiming));
    DEVO_TRY(cuda_alloc(b, (void **)&b->biases,
                        b->bias_at[b->cfg.arch->layer_count] * sizeof(float)));
    return cuda_lt_create(b);
}

/* Each layer's region of the gathered biases (cuda_layout.h), and their total. */
static devo_status plan_biases(cuda_device *b)
{
    const devo_model *arch = b->cfg.arch;
    size_t L = arch->layer_count;
    b->bias_at = static_cast<size_t *>(malloc((L + 1) * sizeof(size_t)));
    if (!b->bias_at) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cuda device: out of host memory");
    b->bias_at[0] = 0;
    for (size_t l = 0; l < L; l++)
        b->bias_at[l + 1] = devo_bias_region_after(b->bias_at[l], arch->layers[l].units, b->slots);
    return DEVO_OK;
}

static devo_status create_in(cuda_device *b)
{
    CUDA_TRY(cudaSetDevice(b->cfg.device));
    CUDA_TRY(cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking));
    CUBLAS_TRY(cublasCreate(&b->blas));
    CUBLAS_TRY(cublasSetStream(b->blas, b->stream));
    DEVO_TRY(plan_biases(b));
    // The memory first (an absurd population is refused with the numbers), then the int
    // dimensions cuBLAS and CUB take, then the sort's temp storage, which needs them.
    DEVO_TRY(check_fits(planned_bytes(b, 0), "the population and work space"));
    size_t widest = b->slots * (b->max_units > b->inputs ? b->max_units : b->inputs);
    if (b->slots > (size_t)INT_MAX || widest > (size_t)INT_MAX || b->batch > (size_t)INT_MAX)
        return devo_fail(DEVO_ERR_UNSUPPORTED,
                         "cuda device: population %zu x %zu units exceeds cuBLAS's int "
                         "dimensions", b->slots, widest / b->slots);
    DEVO_TRY(cuda_sort_temp_bytes(b->P, &b->sort_temp_bytes));
    DEVO_TRY(check_fits(planned_bytes(b, b->sort_temp_bytes), "the population and work space"));
    return allocate(b);
}

/* A low-rank ES: its factors on the device (cuda_lowrank.cu), their host copy for the sums,
 * and the host's ranking scratch. */
static devo_status create_low_rank(cuda_device *b)
{
    const devo_device_config *cfg = &b->cfg;
    DEVO_TRY(devo_cuda_lowrank_create(&b->lowrank, cfg->arch, b->P, cfg->directions, cfg->rank,
                                      cfg->batch_size, cfg->device));
    DEVO_TRY(devo_es_noise_init(&b->host_noise, cfg->arch, cfg->directions, cfg->rank,
                                cfg->threads));
    b->host_center = static_cast<float *>(malloc(b->D * sizeof(float)));
    b->host_sigma = static_cast<float *>(malloc(b->D * sizeof(float)));
    b->scratch = static_cast<size_t *>(malloc(b->P * sizeof(size_t)));
    if (!b->host_center || !b->host_sigma || !b->scratch)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cuda device: out of host memory");
    return DEVO_OK;
}

static devo_status cuda_create(void **ctx, const devo_device_config *cfg)
{
    cuda_device *b = static_cast<cuda_device *>(calloc(1, sizeof(cuda_device)));
    if (!b) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cuda device: out of memory");
    const devo_model *arch = cfg->arch;
    b->cfg = *cfg;
    b->P = cfg->population;
    b->slots = cfg->directions ? b->P + 1 : b->P; // a full-rank ES's centre in slot P
    b->k = cfg->top_k;
    b->D = arch->param_count;
    b->inputs = arch->input_dim;
    b->outputs = devo_model_output_dim(arch);
    b->width = devo_model_target_width(arch);
    b->max_units = devo_model_max_units(arch);
    b->batch = cuda_chunk(cfg->batch_size, b->P, b->max_units,
                          cfg->precision == DEVO_PRECISION_BF16);
    b->operand_bytes = cfg->precision == DEVO_PRECISION_BF16 ? 2 : 4;
    if (arch->layer_count > 1) {
        b->tail_offset = arch->layers[1].kernel_offset;
        b->tail_size = b->D - b->tail_offset;
    }
    devo_status status = cfg->directions && cfg->rank ? create_low_rank(b) : create_in(b);
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
devo_status cuda_to_bf16(cuda_device *b, const float *in, __nv_bfloat16 *out, size_t count)
{
    to_bf16_kernel<<<cuda_grid_for(count), 256, 0, b->stream>>>(in, out, count);
    CUDA_TRY_LAUNCH();
    return DEVO_OK;
}

static devo_status cuda_bind_data(void *ctx, const float *x, const float *y, size_t n)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (low_rank(b)) return devo_cuda_lowrank_bind(b->lowrank, x, y, n);
    void *old[] = {b->x, b->x_bf16, b->y, b->rows};
    for (void *p : old) cudaFree(p);
    cudaFreeHost(b->host_rows);
    b->host_rows = nullptr;
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
    CUDA_TRY(cudaMallocHost((void **)&b->host_rows, n * sizeof(size_t)));
    DEVO_TRY(cuda_upload(b, b->x, x, n * b->inputs * sizeof(float)));
    DEVO_TRY(cuda_upload(b, b->y, y, n * b->width * sizeof(float)));
    if (bf16) {
        DEVO_TRY(cuda_alloc(b, (void **)&b->x_bf16, n * b->inputs * sizeof(__nv_bfloat16)));
        DEVO_TRY(cuda_to_bf16(b, b->x, b->x_bf16, n * b->inputs));
    }
    CUDA_TRY(devo_cuda_wait(b->stream));
    b->n = n;
    return DEVO_OK;
}

static devo_lowrank_population low_rank_population(const cuda_device *b)
{
    devo_lowrank_population pop = {&b->host_noise, b->cfg.antithetic, b->host_center,
                                   b->host_sigma};
    return pop;
}

/* Individual i of a low-rank ES, materialised on the host from the factors' host copy. */
static void low_rank_row(const cuda_device *b, size_t i, float *dst)
{
    devo_lowrank_population pop = low_rank_population(b);
    devo_lowrank_individual(&pop, i, dst);
}

static devo_status cuda_view(void *ctx, const float **view)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
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
                             "cuda device: cannot allocate the %zu x %zu host view", b->P, b->D);
    }
    if (low_rank(b)) {
        for (size_t i = 0; i < b->P; i++) low_rank_row(b, i, b->host_population + i * b->D);
    } else {
        DEVO_TRY(cuda_download(b, b->host_population, b->population, b->P * b->D * sizeof(float)));
        CUDA_TRY(devo_cuda_wait(b->stream));
    }
    *view = b->host_population;
    return DEVO_OK;
}

/* A low-rank context waits in every call; a full-rank one's vary returns at once. */
static devo_status cuda_finish(void *ctx)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (b->stream) CUDA_TRY(devo_cuda_wait(b->stream));
    return DEVO_OK;
}

static devo_status cuda_copy_row(void *ctx, size_t index, float *dst)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (low_rank(b)) {
        low_rank_row(b, index, dst);
        return DEVO_OK;
    }
    if (cuda_best_ahead(b, index, dst)) return DEVO_OK; // came up with the evaluation
    DEVO_TRY(cuda_download(b, dst, b->population + index * b->D, b->D * sizeof(float)));
    CUDA_TRY(devo_cuda_wait(b->stream));
    return DEVO_OK;
}

static devo_status cuda_device_init_population(void *ctx, const float *w0)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (low_rank(b))
        return devo_fail(DEVO_ERR_INTERNAL, "cuda device: an ES population is perturbed");
    return cuda_init_population(ctx, w0);
}

static devo_status cuda_device_load_rows(void *ctx, const float *rows, size_t first, size_t count)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (low_rank(b))
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "cuda device: a low-rank population is drawn, never loaded");
    return cuda_load_rows(ctx, rows, first, count);
}

static devo_status cuda_device_vary(void *ctx, const size_t *order, const uint32_t *pairs,
                                    uint32_t generation, size_t first, size_t count)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (low_rank(b))
        return devo_fail(DEVO_ERR_INTERNAL, "cuda device: an ES population is perturbed");
    return cuda_vary(ctx, order, pairs, generation, first, count);
}

static devo_status cuda_device_evaluate(void *ctx, const size_t *rows, size_t row_count,
                                        size_t first, size_t count, double *fitness)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (!low_rank(b)) return cuda_evaluate(ctx, rows, row_count, first, count, fitness);
    devo_lowrank_population pop = low_rank_population(b);
    return devo_cuda_lowrank_evaluate(b->lowrank, &pop, rows, rows ? row_count : b->n,
                                      b->cfg.fitness, first, count, fitness);
}

static devo_status cuda_evaluate_center(void *ctx, const size_t *rows, size_t row_count,
                                        double *fitness)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (!b->perturbed)
        return devo_fail(DEVO_ERR_INTERNAL, "cuda device: no centre has been perturbed around");
    if (low_rank(b))
        return devo_cuda_lowrank_evaluate_center(b->lowrank, rows, rows ? row_count : b->n,
                                                 b->cfg.fitness, fitness);
    // The centre is slot P, written with the population: one more individual evaluated.
    return cuda_evaluate_slots(b, rows, row_count, b->P, 1, fitness);
}

static devo_status cuda_device_rank(void *ctx, const double *fitness, size_t *order)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (!low_rank(b)) return cuda_rank(ctx, fitness, order);
    devo_rank(fitness, b->P, order, b->scratch); // its fitness is on the host already
    return DEVO_OK;
}

static devo_status cuda_device_forward(void *ctx, const float *x, size_t rows, float *y)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (!low_rank(b)) return cuda_forward(ctx, x, rows, y);
    // A low-rank population on its own inputs runs the CPU's reference from the factors'
    // host copy (no GPU kernel takes per-individual inputs at low rank yet).
    devo_lowrank_population pop = low_rank_population(b);
    return devo_lowrank_forward_kept(&b->own, &b->own_rows, b->cfg.arch, &pop, b->P, x, rows, y,
                                     b->cfg.threads);
}

static devo_status cuda_perturb(void *ctx, const float *center, const float *sigma,
                                uint32_t generation)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (!b->cfg.directions)
        return devo_fail(DEVO_ERR_INTERNAL, "cuda device: a GA population is varied");
    if (!low_rank(b)) return cuda_perturb_full(b, center, sigma, generation);
    memcpy(b->host_center, center, b->D * sizeof(float));
    memcpy(b->host_sigma, sigma, b->D * sizeof(float));
    DEVO_TRY(devo_cuda_lowrank_perturb(b->lowrank, center, sigma, b->cfg.seed, generation,
                                       b->host_noise.eps));
    b->perturbed = true;
    return DEVO_OK;
}

static devo_status cuda_update_sums(void *ctx, const float *w, const float *v, float *s1,
                                    float *s2)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    if (!b->perturbed)
        return devo_fail(DEVO_ERR_INTERNAL, "cuda device: no directions have been drawn");
    if (!low_rank(b)) return cuda_update_sums_full(b, w, v, s1, s2);
    // Low rank: the reference sums (es_noise.c) over the factors' host copy, drawn on the
    // device and copied up with the perturbation.
    return devo_es_noise_sums(&b->host_noise, w, v, s1, s2);
}

static void cuda_traffic(void *ctx, devo_device_traffic *out)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    *out = b->traffic;
    out->held = b->device_bytes;
    out->rows = low_rank(b) ? 0 : b->slots; // every slot: an MPI rank's share is not cut here yet
    out->directions = b->cfg.directions;    // and every direction
    if (!low_rank(b)) return;
    devo_device_traffic factors;
    devo_cuda_lowrank_traffic(b->lowrank, &factors);
    out->to_device += factors.to_device;
    out->to_host += factors.to_host;
    out->held += factors.held;
}

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

/* Every individual on the same inputs through forward, the inputs repeated per individual
 * (no shared-input kernel yet: the built-in fitness's GEMMs do not keep their outputs). */
static devo_status cuda_device_predict(void *ctx, const float *x, size_t n, float *y)
{
    cuda_device *b = static_cast<cuda_device *>(ctx);
    const devo_model *arch = b->cfg.arch;
    return devo_predict_by_forward(cuda_device_forward, ctx, b->P, arch->input_dim,
                                   devo_model_output_dim(arch), b->cfg.batch_size, x, n, y);
}

extern "C" const devo_device_i *devo_device_cuda(void)
{
    static const devo_device_i cuda = {
        "cuda",
        cuda_create,
        cuda_destroy,
        cuda_bind_data,
        cuda_device_init_population,
        cuda_device_load_rows,
        cuda_copy_row,
        cuda_view,
        cuda_device_evaluate,
        cuda_evaluate_center,
        cuda_device_rank,
        cuda_device_forward,
        cuda_device_predict,
        cuda_device_vary,
        cuda_perturb,
        cuda_update_sums,
        cuda_traffic,
        cuda_measure_ceiling,
        cuda_finish,
    };
    return &cuda;
}
