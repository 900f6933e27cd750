/*
 * cuda_device.h - the CUDA device's context (device.h) and the entry points its
 * files share. The GA's population is one P x D float tensor on the device,
 * double-buffered; a full-rank ES's is the same tensor with one slot more, its
 * centre (slot P), written with its directions on the device (cuda_perturb.cu);
 * a low-rank ES's is its factors (cuda_lowrank.cu). The training data is
 * uploaded once per run; every buffer is a plain cudaMalloc sized at create
 * (population, work space) or at bind (data), after checking that it fits.
 */
#ifndef DEVO_CUDA_DEVICE_H
#define DEVO_CUDA_DEVICE_H

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

extern "C" {
#include "cuda_lowrank.h"
#include "device.h"
#include "es_noise.h"
}

struct cuda_lt; /* cuda_epilogue.cu: cuBLASLt's handle, plans and what its probe found */

struct cuda_device {
    devo_device_config cfg;
    size_t P, D, k;
    size_t slots;          /* rows of population: P, or P + 1 for a full-rank ES (its centre) */
    size_t inputs, outputs, width, max_units, batch;
    size_t operand_bytes;  /* 4 (FP32, TF32) or 2 (BF16): GEMM operand element size */
    cudaStream_t stream;
    cublasHandle_t blas;

    float *population;     /* (slots, D) */
    float *next;           /* (slots, D): the generation being made (an ES: unused) */
    __nv_bfloat16 *population_bf16; /* (slots, D): GEMM operands, BF16 only, written with the
                                       population */
    void *packed;          /* (inputs, slots * units0) operands: first-layer kernels side by side,
                              written with the population (cuda_vary.cu, cuda_perturb.cu) */
    void *tail;            /* (slots, devo_tail_stride(tail_size)) operands: each individual's
                              weights from layer 1's kernel on, rows padded (cuda_layout.h);
                              written with the population; NULL for one layer */
    size_t tail_offset, tail_size; /* layer 1's kernel_offset, D - it (0, 0: one layer) */
    float *pre[2];         /* ping-pong (P, batch, max_units) GEMM outputs */
    cuda_lt *lt;           /* the fused epilogues, or NULL (full rank only) */
    float *biases;         /* each layer's biases of the individuals evaluated, at
                              bias_at, gathered per evaluation (cuda_evaluate.cu) */
    size_t *bias_at;       /* (layers + 1) host: each layer's region in biases, then the total */
    __nv_bfloat16 *act_bf16[2]; /* the activations as BF16 operands, BF16 only */
    double *loss_sum;      /* (P) */
    unsigned long long *correct; /* (P) */
    double *host_sums;     /* (P) staging of loss_sum; every host_ staging buffer is pinned */
    unsigned long long *host_correct; /* (P) */

    /* selection: fitness (P) holds, on the device, the fitness the host has of the first
     * fitness_known slots (a rank: all of them; vary: the elites' carried; evaluate: its
     * range's). When evaluate completes it, it ranks at once and brings the order (and the
     * GA's best row) up with the sums, so a generation waits once (cuda_select.cu). */
    double *fitness, *fitness_spare, *keys_in, *keys_out; /* (P) */
    size_t fitness_known;
    bool ranked_ahead;                    /* host_order and host_fitness hold that ranking */
    double *host_fitness;                 /* (P) pinned: the fitness it ranked */
    float *best_row;                      /* (D) the GA's row host_order[0], copied ahead */
    float *host_best;                     /* (D) pinned */
    bool best_ahead;                      /* host_best is row host_order[0] of the population */
    int *values_in, *values_out;          /* (P) */
    void *sort_temp;
    size_t sort_temp_bytes;
    int *host_order;                      /* (P) */
    int2 *sources;                        /* (P): per slot the two parents (elites: the same one) */
    int2 *host_sources;                   /* (P) */
    cudaEvent_t sources_copied;           /* recorded after each upload of host_sources */

    /* bound data */
    float *x;              /* (n, inputs) */
    __nv_bfloat16 *x_bf16; /* (n, inputs), BF16 only */
    float *y;              /* (n, width) */
    size_t n;
    long long *rows;       /* (n): a subset's row indices */
    size_t *host_rows;     /* (n) pinned: their staging */
    void *gathered_x;      /* (batch, inputs) operands */
    float *gathered_y;     /* (batch, width) */

    /* devo_evolver_forward: inputs and outputs of every individual, grown on demand */
    float *forward_x, *forward_y;
    __nv_bfloat16 *forward_x_bf16;
    size_t forward_rows;

    float *host_population; /* (P, D) host mirror for ask and custom fitness, on first use */
    bool host_population_pinned; /* allocated by cudaMallocHost (else malloc) */
    size_t device_bytes;
    devo_device_traffic traffic; /* bytes copied each way (held: see device_bytes) */

    /* An evolution strategy (cfg.directions > 0): */
    float *center, *sigma;  /* (D) each, on the device: what the population is drawn around */
    float *eps;             /* full rank: (directions, D) the directions last drawn */
    float *w, *v;           /* full rank: (directions) the update's weights */
    float *s1, *s2;         /* full rank: (D) the update's sums */
    bool perturbed;         /* a centre has been given */
    /* Low rank: the factors on the device (their evaluation), and their host copy for the
     * update's sums, a row asked for, and devo_evolver_forward (the CPU's reference). */
    devo_cuda_lowrank *lowrank;
    devo_es_noise host_noise;
    float *host_center, *host_sigma; /* (D) each */
    devo_lowrank_eval *own;          /* devo_evolver_forward's work space, own_rows rows */
    size_t own_rows;
    size_t *scratch;                 /* (P): a low-rank population's ranking on the host */
};

/* A view of per-individual rows in device memory: individual p, row r starts at
 * base + p * individual_stride + r * row_stride. */
struct cuda_view {
    float *base;
    size_t individual_stride;
    size_t row_stride;
};

/* A float as a GEMM operand of type T (float, or __nv_bfloat16 rounded to nearest). */
template <typename T> __device__ T to_operand(float v);
template <> __device__ __forceinline__ float to_operand<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 to_operand<__nv_bfloat16>(float v)
{
    return __float2bfloat16(v);
}

/* cuda_evaluate.cu */
devo_status cuda_evaluate(void *ctx, const size_t *rows, size_t row_count, size_t first,
                          size_t count, double *fitness);
/* cuda_evaluate with fitness (count) for slots [first, first + count) (slot P: an ES's centre). */
devo_status cuda_evaluate_slots(cuda_device *b, const size_t *rows, size_t row_count,
                                size_t first, size_t count, double *fitness);
devo_status cuda_forward(void *ctx, const float *x, size_t rows, float *y);

/* cuda_epilogue.cu: one dense layer's GEMM, C (m x n, column-major, ldc) = A (m x k, lda) .
 * B (k x n, ldb) for `batch` matrices at the given strides (operands FP32 or BF16 by
 * precision, FP32 accumulation), with the layer's bias (FP32, one per row of C, matrix i's at
 * bias + i * bias_stride) and activation fused where cuBLASLt does them as devo does. */
struct cuda_layer_gemm {
    int m, n, k;
    const void *A;
    int lda;
    long long stride_a;
    const void *B;
    int ldb;
    long long stride_b;
    float *C;
    int ldc;
    long long stride_c;
    int batch;
    const float *bias;         /* 16-byte aligned, as is every matrix's */
    long long bias_stride;
    devo_activation act;
    bool last;                 /* the output layer: bias only (the loss activates) */
    __nv_bfloat16 *operand;    /* BF16 hidden layer: the next GEMM's operand, at C's offsets */
};
/* What the fused GEMM did beyond the product: nothing (none fused: the caller runs it all),
 * the bias added, the activation applied, the result written to operand (BF16) not C. */
struct cuda_fused {
    bool bias, activation, operand;
};
devo_status cuda_layer_gemm_run(cuda_device *b, const cuda_layer_gemm *g, cuda_fused *done);
/* cuBLASLt's work space, allocated with the context (cuBLASLt's recommendation for Hopper). */
#define CUDA_LT_WORKSPACE_BYTES ((size_t)32 << 20)
/* cuBLASLt's handle and work space for b, and the probe of what its epilogues do. */
devo_status cuda_lt_create(cuda_device *b);
void cuda_lt_destroy(cuda_lt *lt); /* accepts NULL */
/* Whether any epilogue may be fused (the biases are then gathered for it). */
bool cuda_lt_fuses(const cuda_device *b);

/* cuda_select.cu */
devo_status cuda_sort_temp_bytes(size_t P, size_t *bytes);
devo_status cuda_rank(void *ctx, const double *fitness, size_t *order);
/* After an evaluation of slots [first, first + count) has queued its sums of `samples`
 * samples: their fitness into b->fitness on the device and, when that completes the
 * population's, its ranking queued ahead (no wait: the evaluation's download waits). */
devo_status cuda_fitness_known(cuda_device *b, size_t first, size_t count, size_t samples);
/* The population changed: only its first `known` slots' device fitness is the host's
 * (the GA's elites after vary carried theirs: cuda_carry_elite_fitness), nothing ranked ahead. */
void cuda_population_changed(cuda_device *b, size_t known);
/* Vary's elites: slot r < k takes the device fitness of its source (b->sources[r].x). */
devo_status cuda_carry_elite_fitness(cuda_device *b);
/* dst (D) = row index when it is the row ranked ahead: true, and nothing waits. */
bool cuda_best_ahead(cuda_device *b, size_t index, float *dst);

/* cuda_vary.cu */
devo_status cuda_init_population(void *ctx, const float *w0);
devo_status cuda_vary(void *ctx, const size_t *order, const uint32_t *pairs, uint32_t generation,
                      size_t first, size_t count);
devo_status cuda_load_rows(void *ctx, const float *rows, size_t first, size_t count);

/* cuda_perturb.cu: a full-rank ES's population, centre and update sums. */
devo_status cuda_es_allocate(cuda_device *b);
devo_status cuda_perturb_full(cuda_device *b, const float *center, const float *sigma,
                              uint32_t generation);
devo_status cuda_update_sums_full(cuda_device *b, const float *w, const float *v, float *s1,
                                  float *s2);

/* cudaMemcpyAsync of `bytes` on b's stream, host to device or device to host, counted in
 * b->traffic (cuda_device.cu). */
devo_status cuda_upload(cuda_device *b, void *dst, const void *src, size_t bytes);
devo_status cuda_download(cuda_device *b, void *dst, const void *src, size_t bytes);

/* out (count) = in (count) rounded to BF16, on b's stream (cuda_device.cu). */
devo_status cuda_to_bf16(cuda_device *b, const float *in, __nv_bfloat16 *out, size_t count);

/* Samples per evaluation chunk of a context (devo_cuda_chunk under the tests' cap, cuda_hooks.h). */
size_t cuda_chunk(size_t batch_size, size_t P, size_t max_units, bool bf16);

/* Allocates `bytes` on the device into *ptr and counts them in b->device_bytes. */
devo_status cuda_alloc(cuda_device *b, void **ptr, size_t bytes);

#endif /* DEVO_CUDA_DEVICE_H */
