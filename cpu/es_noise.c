/*
 * es_noise.c - an evolution strategy's directions, population and update sums
 * (see es_noise.h). Plain loops and one sgemm per kernel; the reference. The directions'
 * normals come from normals.c's vector kernels, bitwise rng.h's block-by-block draws.
 */
#include "es_noise.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "evaluate.h"
#include "normals.h"
#include "parallel.h"
#include "rng.h"

devo_status devo_es_noise_init(devo_es_noise *n, const devo_model *arch, size_t dirs,
                               size_t rank, int threads)
{
    memset(n, 0, sizeof *n);
    n->arch = arch;
    n->D = arch->param_count;
    n->dirs = dirs;
    n->rank = rank;
    n->threads = threads;
    n->offsets = malloc(arch->layer_count * sizeof *n->offsets);
    if (!n->offsets) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "es noise: out of memory");
    for (size_t l = 0; l < arch->layer_count; l++) {
        const devo_layer *layer = &arch->layers[l];
        n->offsets[l] = n->factor_floats;
        n->factor_floats += rank * (layer->inputs + layer->units) + layer->units;
    }
    size_t per_direction = rank ? n->factor_floats : n->D;
    if (dirs > SIZE_MAX / sizeof(float) / per_direction ||
        !(n->eps = malloc((dirs ? dirs : 1) * per_direction * sizeof(float)))) {
        devo_es_noise_release(n);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "es noise: cannot allocate %zu directions of %zu floats", dirs,
                         per_direction);
    }
    return DEVO_OK;
}

void devo_es_noise_release(devo_es_noise *n)
{
    free(n->offsets);
    free(n->eps);
    n->offsets = NULL;
    n->eps = NULL;
}

typedef struct draw_job {
    devo_es_noise *n;
    uint64_t seed;
    uint32_t generation;
} draw_job;

static void draw_directions(void *ctx, size_t part, size_t begin, size_t end)
{
    (void)part;
    draw_job *job = ctx;
    devo_es_noise *n = job->n;
    devo_rng_stream stream = n->rank ? DEVO_STREAM_LOW_RANK : DEVO_STREAM_ES_NOISE;
    size_t length = n->rank ? n->factor_floats : n->D;
    for (size_t d = begin; d < end; d++)
        devo_cpu_normals(n->eps + d * length, length, job->seed, stream, job->generation,
                         (uint32_t)(n->first + d));
}

devo_status devo_es_noise_draw(devo_es_noise *n, uint64_t seed, uint32_t generation)
{
    draw_job job = {n, seed, generation};
    return devo_parallel_for((size_t)devo_cpu_thread_count(n->threads), n->dirs, draw_directions,
                             &job);
}

const float *devo_es_factor_a(const devo_es_noise *n, size_t d, size_t l)
{
    return n->eps + d * n->factor_floats + n->offsets[l];
}

const float *devo_es_factor_bt(const devo_es_noise *n, size_t d, size_t l)
{
    return devo_es_factor_a(n, d, l) + n->rank * n->arch->layers[l].inputs;
}

const float *devo_es_factor_bias(const devo_es_noise *n, size_t d, size_t l)
{
    return devo_es_factor_bt(n, d, l) + n->rank * n->arch->layers[l].units;
}

void devo_es_materialise(const devo_es_noise *n, const float *center, const float *sigma,
                         size_t d, float sign, float *dst)
{
    if (!n->rank) {
        const float *eps = n->eps + (d - n->first) * n->D;
        for (size_t j = 0; j < n->D; j++) dst[j] = center[j] + sign * sigma[j] * eps[j];
        return;
    }
    float root = sqrtf((float)n->rank);
    for (size_t l = 0; l < n->arch->layer_count; l++) {
        const devo_layer *layer = &n->arch->layers[l];
        const float *a = devo_es_factor_a(n, d, l), *bt = devo_es_factor_bt(n, d, l);
        const float *bias = devo_es_factor_bias(n, d, l);
        float scale = sign * sigma[layer->kernel_offset] / root;
        // kernel (inputs, units) += scale * A (inputs, r) B^T (r, units)
        for (size_t i = 0; i < layer->inputs; i++)
            for (size_t k = 0; k < layer->units; k++) {
                float sum = 0.0f;
                for (size_t q = 0; q < n->rank; q++) sum += a[i * n->rank + q] * bt[q * layer->units + k];
                size_t j = layer->kernel_offset + i * layer->units + k;
                dst[j] = center[j] + scale * sum;
            }
        for (size_t k = 0; k < layer->units; k++) {
            size_t j = layer->bias_offset + k;
            dst[j] = center[j] + sign * sigma[j] * bias[k];
        }
    }
}

typedef struct sums_job {
    const devo_es_noise *n;
    const float *w, *v;
    size_t from;
    float *s1, *s2;
} sums_job;

/* Full rank: elements [begin, end) of s1 and s2, added over the directions from `from` on in
 * order. */
static void full_sums(void *ctx, size_t part, size_t begin, size_t end)
{
    (void)part;
    sums_job *job = ctx;
    const devo_es_noise *n = job->n;
    for (size_t d = job->from; d < n->first + n->dirs; d++) {
        const float *eps = n->eps + (d - n->first) * n->D;
        float w = job->w[d], v = job->v[d];
        for (size_t j = begin; j < end; j++) {
            job->s1[j] += w * eps[j];
            job->s2[j] += v * (eps[j] * eps[j] - 1.0f);
        }
    }
}

/* |A B^T|_F^2 = sum_{q,q'} (A^T A)_{qq'} (B^T B)_{qq'}; A (inputs, r), B^T (r, units). */
static double factor_norm2(const float *a, const float *bt, size_t inputs, size_t units,
                           size_t r)
{
    double total = 0.0;
    for (size_t q = 0; q < r; q++)
        for (size_t p = 0; p < r; p++) {
            double ga = 0.0, gb = 0.0;
            for (size_t i = 0; i < inputs; i++) ga += (double)a[i * r + q] * a[i * r + p];
            for (size_t k = 0; k < units; k++) gb += (double)bt[q * units + k] * bt[p * units + k];
            total += ga * gb;
        }
    return total;
}

/* Low rank, layer l: the kernel's s1 as one GEMM and its s2 mean; the bias's s1 and s2.
 * aw (inputs, dirs r) and b (dirs r, units) are work space. */
static void layer_sums(const devo_es_noise *n, size_t l, const float *w, const float *v,
                       float *s1, float *s2, float *aw, float *b)
{
    const devo_layer *layer = &n->arch->layers[l];
    size_t r = n->rank, in = layer->inputs, units = layer->units, cols = n->dirs * r;
    double kernel_s2 = 0.0, count = (double)in * (double)units;
    for (size_t d = 0; d < n->dirs; d++) {
        const float *a = devo_es_factor_a(n, d, l), *bt = devo_es_factor_bt(n, d, l);
        for (size_t i = 0; i < in; i++)
            for (size_t q = 0; q < r; q++) aw[i * cols + d * r + q] = w[d] * a[i * r + q];
        memcpy(b + d * r * units, bt, r * units * sizeof(float));
        kernel_s2 += v[d] * (factor_norm2(a, bt, in, units, r) / ((double)r * count) - 1.0);
    }
    // s1 kernel (in, units) = aw (in, dirs r) x b (dirs r, units) / sqrt(r)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)in, (int)units, (int)cols,
                1.0f / sqrtf((float)r), aw, (int)cols, b, (int)units, 0.0f,
                s1 + layer->kernel_offset, (int)units);
    for (size_t j = 0; j < in * units; j++) s2[layer->kernel_offset + j] = (float)kernel_s2;
    for (size_t k = 0; k < units; k++) {
        double sum1 = 0.0, sum2 = 0.0;
        for (size_t d = 0; d < n->dirs; d++) {
            float eps = devo_es_factor_bias(n, d, l)[k];
            sum1 += (double)w[d] * eps;
            sum2 += (double)v[d] * ((double)eps * eps - 1.0);
        }
        s1[layer->bias_offset + k] = (float)sum1;
        s2[layer->bias_offset + k] = (float)sum2;
    }
}

devo_status devo_es_noise_add_sums(const devo_es_noise *n, const float *w, const float *v,
                                   size_t from, float *s1, float *s2)
{
    if (n->rank)
        return devo_fail(DEVO_ERR_INTERNAL, "es noise: low-rank sums are not added in parts");
    sums_job job = {n, w, v, from > n->first ? from : n->first, s1, s2};
    return devo_parallel_for((size_t)devo_cpu_thread_count(n->threads), n->D, full_sums, &job);
}

devo_status devo_es_noise_sums(const devo_es_noise *n, const float *w, const float *v, float *s1,
                               float *s2)
{
    if (!n->rank) {
        memset(s1, 0, n->D * sizeof(float));
        memset(s2, 0, n->D * sizeof(float));
        return devo_es_noise_add_sums(n, w, v, 0, s1, s2);
    }
    size_t widest = 0;
    for (size_t l = 0; l < n->arch->layer_count; l++) {
        const devo_layer *layer = &n->arch->layers[l];
        size_t need = n->dirs * n->rank * (layer->inputs + layer->units);
        if (need > widest) widest = need;
    }
    float *work = malloc(widest * sizeof(float));
    if (!work) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "es noise: cannot allocate the sums' work space");
    // One OpenBLAS thread (see blas.h): the GEMM is a fraction of a millisecond, and the
    // same bits on any thread count.
    int previous = devo_blas_threads(1);
    for (size_t l = 0; l < n->arch->layer_count; l++) {
        const devo_layer *layer = &n->arch->layers[l];
        layer_sums(n, l, w, v, s1, s2, work, work + n->dirs * n->rank * layer->inputs);
    }
    devo_blas_threads(previous);
    free(work);
    return DEVO_OK;
}
