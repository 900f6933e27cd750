/*
 * cuda_epilogue.cu - the evaluation's dense-layer GEMMs with the bias, and the ReLU where it
 * is safe, fused into the GEMM through cuBLASLt's epilogues, so a layer's output is written
 * once, already biased (and activated, or rounded to the next GEMM's BF16 operand), instead of
 * written by the GEMM then read and written again by a separate kernel.
 *
 * Fused only where the library does exactly what devo's own kernels do, as measured by a probe
 * when a context is made: a small GEMM of known answer through each epilogue and output type
 * the context would use, compared bit for bit with the FP32 bias added after the FP32 sum and
 * rounded once (RNE) to the output type. The ReLU is fused only if it keeps a NaN a NaN (as
 * devo_activate does, and Keras); otherwise the bias alone is fused and devo's kernel applies
 * the ReLU. Anything the probe refuses, or a shape no cuBLASLt algorithm takes, runs as before
 * (cublasGemmStridedBatchedEx, then bias and activation in cuda_evaluate.cu).
 */
#include "cuda_device.h"
#include "cuda_check.h"
#include "cuda_hooks.h"

#include <cublasLt.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#define LT_TRY(call) CUBLAS_TRY(call)
#define PLAN_SLOTS 32                       /* shapes kept: layers x chunk sizes x ranges */

namespace {

/* Everything that selects an algorithm: a plan is reused only for the same key. */
struct plan_key {
    int m, n, k, lda, ldb, ldc, batch;
    long long stride_a, stride_b, stride_c, bias_stride;
    cudaDataType out;
    cublasLtEpilogue_t epilogue;
    int align_a, align_b, align_c, align_bias; /* the pointers' alignment, up to 256 bytes */
};

struct plan {
    bool used, usable;
    uint64_t last_used; /* the plan clock when it last ran: the oldest is replaced */
    plan_key key;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
};

int alignment(const void *p)
{
    uintptr_t at = (uintptr_t)p;
    int a = 1;
    while (a < 256 && at % (2 * a) == 0) a *= 2;
    return a;
}

} // namespace

struct cuda_lt {
    cublasLtHandle_t handle;
    void *workspace;
    plan plans[PLAN_SLOTS];
    uint64_t clock;
    /* The probe's verdicts, per output type (0: FP32, 1: BF16): the bias epilogue gives devo's
     * bits; the ReLU epilogue too, NaN kept. */
    bool bias_ok[2], relu_ok[2];
};

static char last_verdict[160]; /* the last context's cuda_lt_describe, for the tests */
static std::atomic<uint64_t> fused_gemms; /* GEMMs run with a fused epilogue, for the tests */

extern "C" uint64_t devo_cuda_fused_gemms(void) { return fused_gemms.load(); }

static int out_index(cudaDataType out) { return out == CUDA_R_16BF ? 1 : 0; }

static void release(plan *p)
{
    if (!p->used) return;
    if (p->op) cublasLtMatmulDescDestroy(p->op);
    if (p->a) cublasLtMatrixLayoutDestroy(p->a);
    if (p->b) cublasLtMatrixLayoutDestroy(p->b);
    if (p->c) cublasLtMatrixLayoutDestroy(p->c);
    memset(p, 0, sizeof *p);
}

void cuda_lt_destroy(cuda_lt *lt)
{
    if (!lt) return;
    for (plan &p : lt->plans) release(&p);
    cudaFree(lt->workspace);
    if (lt->handle) cublasLtDestroy(lt->handle);
    free(lt);
}

static cudaDataType operand_type(const cuda_device *b)
{
    return b->cfg.precision == DEVO_PRECISION_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

/* Makes p's descriptors for key and asks the heuristic for an algorithm; p->usable says whether
 * one was found (a refusal is not an error: the caller runs the unfused path). */
static devo_status make_plan(cuda_device *b, const plan_key &key, const float *bias, plan *p)
{
    cuda_lt *lt = b->lt;
    memset(p, 0, sizeof *p);
    p->used = true;
    p->key = key;
    cudaDataType operand = operand_type(b);
    cublasComputeType_t compute = b->cfg.precision == DEVO_PRECISION_TF32
                                      ? CUBLAS_COMPUTE_32F_FAST_TF32
                                      : CUBLAS_COMPUTE_32F;
    LT_TRY(cublasLtMatmulDescCreate(&p->op, compute, CUDA_R_32F));
    int32_t bias_type = CUDA_R_32F;
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &key.epilogue,
                                          sizeof key.epilogue));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type,
                                          sizeof bias_type));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE,
                                          &key.bias_stride, sizeof key.bias_stride));
    // The heuristic judges the bias's alignment from the pointer it is given.
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                          sizeof bias));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->a, operand, key.m, key.k, key.lda));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->b, operand, key.k, key.n, key.ldb));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->c, key.out, key.m, key.n, key.ldc));
    struct {
        cublasLtMatrixLayout_t layout;
        long long stride;
    } batched[] = {{p->a, key.stride_a}, {p->b, key.stride_b}, {p->c, key.stride_c}};
    for (auto &m : batched) {
        LT_TRY(cublasLtMatrixLayoutSetAttribute(m.layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                &key.batch, sizeof key.batch));
        LT_TRY(cublasLtMatrixLayoutSetAttribute(
            m.layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &m.stride, sizeof m.stride));
    }
    cublasLtMatmulPreference_t pref = nullptr;
    LT_TRY(cublasLtMatmulPreferenceCreate(&pref));
    size_t workspace = CUDA_LT_WORKSPACE_BYTES;
    uint32_t aligned[] = {(uint32_t)key.align_a, (uint32_t)key.align_b, (uint32_t)key.align_c,
                          (uint32_t)key.align_c};
    cublasLtMatmulPreferenceAttributes_t which[] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    // No split-K reduction: the bias is added once, after the whole sum, and the sums are the
    // same on every run (a reduction across blocks may be neither).
    uint32_t reduction = CUBLASLT_REDUCTION_SCHEME_NONE;
    cublasStatus_t status = cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
    if (status == CUBLAS_STATUS_SUCCESS)
        status = cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &reduction, sizeof reduction);
    for (int i = 0; i < 4 && status == CUBLAS_STATUS_SUCCESS; i++)
        status = cublasLtMatmulPreferenceSetAttribute(pref, which[i], &aligned[i],
                                                      sizeof aligned[i]);
    cublasLtMatmulHeuristicResult_t found = {};
    int count = 0;
    if (status == CUBLAS_STATUS_SUCCESS)
        status = cublasLtMatmulAlgoGetHeuristic(lt->handle, p->op, p->a, p->b, p->c, p->c, pref,
                                                1, &found, &count);
    cublasLtMatmulPreferenceDestroy(pref);
    // NOT_SUPPORTED, or no algorithm: this shape runs unfused.
    p->usable = status == CUBLAS_STATUS_SUCCESS && count > 0 && found.state == CUBLAS_STATUS_SUCCESS;
    if (p->usable) p->algo = found.algo;
    return DEVO_OK;
}

/* The plan for key: kept, or made in a free slot or the one used longest ago. */
static devo_status find_plan(cuda_device *b, const plan_key &key, const float *bias, plan **out)
{
    cuda_lt *lt = b->lt;
    plan *oldest = &lt->plans[0];
    for (plan &p : lt->plans) {
        if (p.used && memcmp(&p.key, &key, sizeof key) == 0) {
            p.last_used = ++lt->clock;
            *out = &p;
            return DEVO_OK;
        }
        if (!p.used || (oldest->used && p.last_used < oldest->last_used)) oldest = &p;
    }
    release(oldest);
    devo_status status = make_plan(b, key, bias, oldest);
    oldest->last_used = ++lt->clock;
    *out = oldest;
    return status;
}

/* D = epilogue(A . B + bias) through plan p, on b's stream. */
static devo_status run_plan(cuda_device *b, plan *p, const void *A, const void *B, void *D,
                            const float *bias)
{
    const float alpha = 1.0f, beta = 0.0f;
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                          sizeof bias));
    LT_TRY(cublasLtMatmul(b->lt->handle, p->op, &alpha, A, p->a, B, p->b, &beta, D, p->c, D, p->c,
                          &p->algo, b->lt->workspace, CUDA_LT_WORKSPACE_BYTES, b->stream));
    return DEVO_OK;
}

static plan_key key_of(const cuda_layer_gemm &g, cudaDataType out, cublasLtEpilogue_t epilogue,
                       const void *D)
{
    plan_key key;
    memset(&key, 0, sizeof key); // padding too: keys are compared with memcmp
    key.m = g.m;
    key.n = g.n;
    key.k = g.k;
    key.lda = g.lda;
    key.ldb = g.ldb;
    key.ldc = g.ldc;
    key.batch = g.batch;
    key.stride_a = g.stride_a;
    key.stride_b = g.stride_b;
    key.stride_c = g.stride_c;
    key.bias_stride = g.bias_stride;
    key.out = out;
    key.epilogue = epilogue;
    key.align_a = alignment(g.A);
    key.align_b = alignment(g.B);
    key.align_c = alignment(D);
    key.align_bias = alignment(g.bias);
    return key;
}

devo_status cuda_layer_gemm_run(cuda_device *b, const cuda_layer_gemm *g, cuda_fused *done)
{
    *done = {};
    cuda_lt *lt = b->lt;
    if (!lt || !g->bias || alignment(g->bias) < 16 || (g->bias_stride * 4) % 16 != 0)
        return DEVO_OK;
    // A hidden ReLU or linear layer in BF16 writes the next GEMM's operand straight away.
    bool relu = !g->last && g->act == DEVO_ACT_RELU;
    bool to_operand = g->operand && (relu || g->act == DEVO_ACT_LINEAR) && lt->bias_ok[1];
    cudaDataType out = to_operand ? CUDA_R_16BF : CUDA_R_32F;
    int o = out_index(out);
    if (!lt->bias_ok[o]) return DEVO_OK;
    bool fuse_relu = relu && lt->relu_ok[o];
    cublasLtEpilogue_t epilogue = fuse_relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    void *D = to_operand ? (void *)g->operand : (void *)g->C;
    plan *p = nullptr;
    // A cuBLASLt error here launched nothing: the plan is dropped and the layer runs unfused.
    if (find_plan(b, key_of(*g, out, epilogue, D), g->bias, &p) != DEVO_OK) {
        if (p) p->usable = false;
        return DEVO_OK;
    }
    if (!p->usable) return DEVO_OK; // no algorithm for this shape
    if (run_plan(b, p, g->A, g->B, D, g->bias) != DEVO_OK) {
        p->usable = false;
        cudaGetLastError();
        return DEVO_OK;
    }
    fused_gemms++;
    done->bias = true;
    done->activation = fuse_relu || g->act == DEVO_ACT_LINEAR || g->last;
    done->operand = to_operand;
    return DEVO_OK;
}

/* ------------------------------------------------------------------------------ the probe */

/* The probe's problem: column-major C (M x N) = A (M x K) . B (K x N) + bias (M), small
 * integers and halves so every product and sum is exact in any arithmetic; biases that no
 * BF16 holds, so a bias rounded before it is added shows. Column 0 of B holds a NaN. */
enum { M = 16, N = 8, K = 16 };

static float probe_a(int i, int k) { return (float)((i * 3 + k * 5) % 7) - 3.0f; }
static float probe_b(int k, int j) { return j == 0 && k == 1 ? NAN : (float)((k + 2 * j) % 5) * 0.5f - 1.0f; }
static float probe_bias(int i) { return 0.3f + 0.0173f * (float)i - (float)(i % 3); }

/* devo's answer for element (i, j): the FP32 sum, the FP32 bias added, ReLU with NaN kept. */
static float probe_expected(int i, int j, bool relu)
{
    float sum = 0.0f;
    for (int k = 0; k < K; k++) sum += probe_a(i, k) * probe_b(k, j);
    float z = sum + probe_bias(i);
    return relu && z < 0.0f ? 0.0f : z;
}

/* Element `index` of a host operand array: v as FP32, or rounded to BF16. */
static void put_operand(unsigned char *array, int index, float v, bool bf16)
{
    if (bf16) {
        __nv_bfloat16 h = __float2bfloat16(v);
        memcpy(array + (size_t)index * 2, &h, 2);
    } else
        memcpy(array + (size_t)index * 4, &v, 4);
}

/* Runs the probe GEMM for out and epilogue; *ok when every element is devo's bit for bit
 * (rounded once to BF16 for a BF16 out; NaN where devo has NaN). */
static devo_status probe(cuda_device *b, cudaDataType out, bool relu, bool *ok)
{
    *ok = false;
    bool bf16_operands = operand_type(b) == CUDA_R_16BF, bf16_out = out == CUDA_R_16BF;
    size_t ob = bf16_operands ? 2 : 4;
    unsigned char host_a[M * K * 4], host_b[K * N * 4], host_d[M * N * 4];
    float host_bias[M];
    for (int i = 0; i < M; i++) {
        host_bias[i] = probe_bias(i);
        for (int k = 0; k < K; k++) put_operand(host_a, k * M + i, probe_a(i, k), bf16_operands);
    }
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) put_operand(host_b, j * K + k, probe_b(k, j), bf16_operands);
    cuda_layer_gemm g = {};
    g.m = M;
    g.n = N;
    g.k = K;
    g.lda = M;
    g.ldb = K;
    g.ldc = M;
    g.batch = 1;
    void *dev = nullptr; // A, B, D and the bias, each at a 256-byte boundary
    size_t part = 4096;
    CUDA_TRY(cudaMalloc(&dev, 4 * part));
    char *base = static_cast<char *>(dev);
    g.A = base;
    g.B = base + part;
    void *D = base + 2 * part;
    g.bias = reinterpret_cast<float *>(base + 3 * part);
    devo_status status = DEVO_OK;
    plan *p = nullptr;
    // Copies on the GEMM's stream, so it runs after them (a plain cudaMemcpy from pageable
    // memory may return before its data lands, and b->stream does not wait for it).
    if (cudaMemcpyAsync(base, host_a, M * K * ob, cudaMemcpyHostToDevice, b->stream) != cudaSuccess ||
        cudaMemcpyAsync(base + part, host_b, K * N * ob, cudaMemcpyHostToDevice, b->stream) !=
            cudaSuccess ||
        cudaMemcpyAsync(base + 3 * part, host_bias, sizeof host_bias, cudaMemcpyHostToDevice,
                        b->stream) != cudaSuccess)
        status = devo_fail(DEVO_ERR_BACKEND, "cuda device: the epilogue probe's upload failed");
    if (status == DEVO_OK)
        status = find_plan(b, key_of(g, out, relu ? CUBLASLT_EPILOGUE_RELU_BIAS
                                                   : CUBLASLT_EPILOGUE_BIAS, D), g.bias, &p);
    bool ran = false;
    if (status == DEVO_OK && p->usable) {
        ran = run_plan(b, p, g.A, g.B, D, g.bias) == DEVO_OK &&
              cudaMemcpyAsync(host_d, D, M * N * (bf16_out ? 2 : 4), cudaMemcpyDeviceToHost,
                              b->stream) == cudaSuccess &&
              cudaStreamSynchronize(b->stream) == cudaSuccess;
        if (!ran) cudaGetLastError(); // a refusal at run time: unfused, not an error
    }
    cudaStreamSynchronize(b->stream); // the uploads have left the host arrays
    if (p) release(p); // the probe's shape is never evaluated
    cudaFree(dev);
    DEVO_TRY(status);
    if (!ran) return DEVO_OK;
    bool same = true;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < M; i++) {
            float want = probe_expected(i, j, relu), got;
            if (bf16_out) {
                __nv_bfloat16 h;
                memcpy(&h, host_d + (j * M + i) * 2, 2);
                got = __bfloat162float(h);
                want = __bfloat162float(__float2bfloat16(want));
            } else
                memcpy(&got, host_d + (j * M + i) * 4, 4);
            bool nan_want = std::isnan(want), nan_got = std::isnan(got);
            if (nan_want != nan_got || (!nan_want && memcmp(&want, &got, 4) != 0)) same = false;
        }
    *ok = same;
    return DEVO_OK;
}

/* One line on what the probe allowed to fuse per output type, e.g. "cuBLASLt epilogues:
 * FP32 out: bias and ReLU fused;". */
static void cuda_lt_describe(const cuda_device *b, char *out, size_t size)
{
    const cuda_lt *lt = b->lt;
    const char *names[] = {"FP32 out", "BF16 out"};
    int n = snprintf(out, size, "cuBLASLt epilogues:");
    for (int o = 0; o < (operand_type(b) == CUDA_R_16BF ? 2 : 1) && n > 0 && (size_t)n < size; o++)
        n += snprintf(out + n, size - (size_t)n, " %s: %s;", names[o],
                      !lt || !lt->bias_ok[o] ? "unfused"
                      : lt->relu_ok[o]       ? "bias and ReLU fused"
                                             : "bias fused, ReLU apart (the epilogue loses NaN)");
}

devo_status cuda_lt_create(cuda_device *b)
{
    cuda_lt *lt = static_cast<cuda_lt *>(calloc(1, sizeof(cuda_lt)));
    if (!lt) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cuda device: out of host memory");
    b->lt = lt;
    LT_TRY(cublasLtCreate(&lt->handle));
    DEVO_TRY(cuda_alloc(b, &lt->workspace, CUDA_LT_WORKSPACE_BYTES));
    bool bf16 = operand_type(b) == CUDA_R_16BF;
    for (cudaDataType out : {CUDA_R_32F, CUDA_R_16BF}) {
        if (out == CUDA_R_16BF && !bf16) continue; // BF16 outputs feed BF16 operands only
        // A probe that fails outright (a cuBLASLt error) leaves that output unfused.
        int o = out_index(out);
        if (probe(b, out, false, &lt->bias_ok[o]) != DEVO_OK) lt->bias_ok[o] = false;
        if (lt->bias_ok[o] && probe(b, out, true, &lt->relu_ok[o]) != DEVO_OK)
            lt->relu_ok[o] = false;
    }
    cuda_lt_describe(b, last_verdict, sizeof last_verdict);
    return DEVO_OK;
}

extern "C" void devo_cuda_epilogue_verdict(char *out, size_t size)
{
    snprintf(out, size, "%s", last_verdict);
}

bool cuda_lt_fuses(const cuda_device *b)
{
    return b->lt && (b->lt->bias_ok[0] || b->lt->bias_ok[1]);
}

