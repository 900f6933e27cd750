/*
 * metrics.c - loss and accuracy sums of one individual's logits (see metrics.h).
 * The softmax tile: the tile's logits transposed to (outputs, rows), then every step a loop
 * over the tile's rows that the compiler vectorises for the kernel's instruction set (the
 * row maximum and first argmax, own_math.h's exp of z - max, their sum in output order, its
 * log), each lane doing what nn_math.h's devo_log_sum_exp and devo_predicted_class do for
 * one row, with own_math.h's fmaf-only arithmetic: the same bits as the scalar functions on
 * every instruction set, and as CUDA. The loss and hit of each row then come from
 * nn_math.h, added in row order.
 */
#include "metrics.h"

#include <stdint.h>

#include "nn_math.h"

#define ROWS DEVO_METRICS_TILE_ROWS

static inline __attribute__((always_inline)) void
softmax_tile(const float *z, size_t stride, size_t outputs, size_t rows, double *lse,
             size_t *predicted)
{
    float zt[DEVO_METRICS_TILE_OUTPUTS][ROWS]; // (outputs, rows): lane r is row r
    size_t r = 0;
    for (; r < rows; r++)
        for (size_t j = 0; j < outputs; j++) zt[j][r] = z[r * stride + j];
    for (; r < ROWS; r++)
        for (size_t j = 0; j < outputs; j++) zt[j][r] = 0.0f;
    // per lane, all in float so that every loop is one of vectors: the maximum, the first
    // index reaching it, whether a NaN was seen (1) or not (0), the sum of exponentials
    float top[ROWS], best[ROWS], nan[ROWS], sum[ROWS], log_sum[ROWS];
    for (r = 0; r < ROWS; r++) {
        top[r] = zt[0][r];
        best[r] = 0.0f;
        nan[r] = zt[0][r] != zt[0][r] ? 1.0f : 0.0f;
        sum[r] = 0.0f;
    }
    for (size_t j = 1; j < outputs; j++) {
        float index = (float)(uint32_t)j; // j <= 64: exact, and a conversion without branches
        for (r = 0; r < ROWS; r++) {
            float v = zt[j][r];
            nan[r] = v != v ? 1.0f : nan[r];
            best[r] = v > top[r] ? index : best[r];
            top[r] = v > top[r] ? v : top[r];
        }
    }
    for (size_t j = 0; j < outputs; j++)
        for (r = 0; r < ROWS; r++) sum[r] += devo_exp_nonpositive(zt[j][r] - top[r]);
    for (r = 0; r < ROWS; r++) log_sum[r] = devo_log_positive(sum[r]);
    for (r = 0; r < rows; r++) {
        lse[r] = devo_log_sum_exp_from(top[r], sum[r], log_sum[r]);
        predicted[r] = nan[r] != 0.0f ? outputs : (size_t)best[r];
    }
}

typedef void (*tile_kernel)(const float *, size_t, size_t, size_t, double *, size_t *);

#define DEVO_SOFTMAX_TILE_KERNEL(name, isa_attribute)                                          \
    static isa_attribute void name(const float *z, size_t stride, size_t outputs, size_t rows, \
                                   double *lse, size_t *predicted)                             \
    {                                                                                          \
        softmax_tile(z, stride, outputs, rows, lse, predicted);                                \
    }

DEVO_SOFTMAX_TILE_KERNEL(tile_generic, )
#if defined(__x86_64__)
DEVO_SOFTMAX_TILE_KERNEL(tile_avx2, __attribute__((target("avx2,fma"))))
DEVO_SOFTMAX_TILE_KERNEL(tile_avx512,
                         __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))))
#endif

static tile_kernel choose_kernel(devo_cpu_isa isa)
{
    isa = devo_cpu_isa_cap(isa);
#if defined(__x86_64__)
    if (isa >= DEVO_ISA_AVX512) return tile_avx512;
    if (isa >= DEVO_ISA_AVX2) return tile_avx2;
#endif
    return tile_generic;
}

void devo_cpu_softmax_tile_isa(devo_cpu_isa isa, const float *z, size_t stride, size_t outputs,
                               size_t rows, double *lse, size_t *predicted)
{
    choose_kernel(isa)(z, stride, outputs, rows, lse, predicted);
}

/* Whether the vector path computes this model's metrics. */
static int takes_softmax_tiles(const devo_model *arch, devo_activation act, size_t outputs)
{
    devo_loss loss = arch->loss;
    return act == DEVO_ACT_SOFTMAX && outputs >= 2 && outputs <= DEVO_METRICS_TILE_OUTPUTS &&
           (loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
            loss == DEVO_LOSS_CATEGORICAL_CROSSENTROPY || loss == DEVO_LOSS_NONE);
}

void devo_cpu_accumulate_metrics(const devo_model *arch, devo_logits_view view, size_t p,
                                 size_t rows, const float *t, double *loss_sum, size_t *correct)
{
    size_t outputs = devo_model_output_dim(arch), width = devo_model_target_width(arch);
    devo_activation act = arch->layers[arch->layer_count - 1].act;
    const float *logits = view.base + p * view.individual_stride;
    if (takes_softmax_tiles(arch, act, outputs)) {
        tile_kernel kernel = choose_kernel(DEVO_ISA_AVX512);
        double lse[ROWS];
        size_t predicted[ROWS];
        for (size_t r0 = 0; r0 < rows; r0 += ROWS) {
            size_t tile = rows - r0 < ROWS ? rows - r0 : ROWS;
            kernel(logits + r0 * view.row_stride, view.row_stride, outputs, tile, lse, predicted);
            for (size_t r = 0; r < tile; r++) {
                const float *z = logits + (r0 + r) * view.row_stride;
                const float *target = t + (r0 + r) * width;
                if (arch->loss != DEVO_LOSS_NONE)
                    *loss_sum += devo_softmax_crossentropy(arch->loss, z, outputs, target, lse[r]);
                *correct += (size_t)devo_class_correct(arch->loss, predicted[r], target, outputs);
            }
        }
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *z = logits + r * view.row_stride, *target = t + r * width;
        if (arch->loss != DEVO_LOSS_NONE)
            *loss_sum += devo_sample_loss(act, arch->loss, z, outputs, target);
        *correct += (size_t)devo_sample_correct(act, arch->loss, z, outputs, target);
    }
}
