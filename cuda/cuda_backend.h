/*
 * cuda_backend.h - the CUDA backend's context and the entry points its files
 * share. The population is one P x D float tensor on the device,
 * double-buffered; the training data is uploaded once per run; every buffer
 * is a plain cudaMalloc sized at create (population, work space) or at bind
 * (data), after checking that it fits.
 */
#ifndef DEVO_CUDA_BACKEND_H
#define DEVO_CUDA_BACKEND_H

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

extern "C" {
#include "backend.h"
}

struct cuda_backend {
    devo_backend_config cfg;
    size_t P, D, k;
    size_t inputs, outputs, width, max_units, batch;
    size_t operand_bytes;  /* 4 (FP32, TF32) or 2 (BF16): GEMM operand element size */
    cudaStream_t stream;
    cublasHandle_t blas;

    float *population;     /* (P, D) */
    float *next;           /* (P, D): the generation being made */
    __nv_bfloat16 *population_bf16; /* (P, D): GEMM operands, BF16 only, written with the population */
    void *packed;          /* (inputs, P * units0) operands: first-layer kernels side by side,
                              written with the population (cuda_vary.cu) */
    float *pre[2];         /* ping-pong (P, batch, max_units) GEMM outputs */
    __nv_bfloat16 *act_bf16[2]; /* the activations as BF16 operands, BF16 only */
    double *loss_sum;      /* (P) */
    unsigned long long *correct; /* (P) */
    double *host_sums;     /* (P) staging of loss_sum */
    unsigned long long *host_correct; /* (P) */

    /* selection */
    double *fitness, *keys_in, *keys_out; /* (P) */
    int *values_in, *values_out;          /* (P) */
    void *sort_temp;
    size_t sort_temp_bytes;
    int *host_order;                      /* (P) */
    int2 *sources;                        /* (P): per slot the two parents (elites: the same one) */
    int2 *host_sources;                   /* (P) */

    /* bound data */
    float *x;              /* (n, inputs) */
    __nv_bfloat16 *x_bf16; /* (n, inputs), BF16 only */
    float *y;              /* (n, width) */
    size_t n;
    long long *rows;       /* (n): a subset's row indices */
    void *gathered_x;      /* (batch, inputs) operands */
    float *gathered_y;     /* (batch, width) */

    /* devo_evolver_forward: inputs and outputs of every individual, grown on demand */
    float *forward_x, *forward_y;
    __nv_bfloat16 *forward_x_bf16;
    size_t forward_rows;

    float *host_population; /* (P, D) host mirror for ask and custom fitness, on first use */
    bool host_population_pinned; /* allocated by cudaMallocHost (else malloc) */
    size_t device_bytes;
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
devo_status cuda_forward(void *ctx, const float *x, size_t rows, float *y);

/* cuda_select.cu */
devo_status cuda_sort_temp_bytes(size_t P, size_t *bytes);
devo_status cuda_rank(void *ctx, const double *fitness, size_t *order);

/* cuda_vary.cu */
devo_status cuda_init_population(void *ctx, const float *w0);
devo_status cuda_breed(void *ctx, const size_t *order, const uint32_t *pairs, uint32_t generation);
devo_status cuda_breed_range(void *ctx, const size_t *order, const uint32_t *pairs,
                             uint32_t generation, size_t first, size_t count);
devo_status cuda_load_population(void *ctx, const float *rows, size_t first, size_t count);

/* out (count) = in (count) rounded to BF16, on b's stream (cuda_backend.cu). */
devo_status cuda_to_bf16(cuda_backend *b, const float *in, __nv_bfloat16 *out, size_t count);

/* Allocates `bytes` on the device into *ptr and counts them in b->device_bytes. */
devo_status cuda_alloc(cuda_backend *b, void **ptr, size_t bytes);

#endif /* DEVO_CUDA_BACKEND_H */
