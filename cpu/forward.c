/*
 * forward.c - the CPU reference forward pass of a population (see forward.h).
 * Plain loops around cblas_sgemm (or, in BF16, oneDNN's matmul with operands rounded to
 * BF16 where the layer before writes them); readability first, it is the oracle.
 */
#include "forward.h"

#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "nn_math.h"

size_t devo_cpu_forward_bytes(const devo_model *arch, size_t max_rows, size_t max_individuals)
{
    return 2 * max_individuals * max_rows * devo_model_max_units(arch) * sizeof(float);
}

size_t devo_cpu_packed_floats(const devo_model *arch, size_t count)
{
    return arch->input_dim * count * arch->layers[0].units;
}

devo_status devo_cpu_forward_init(devo_cpu_forward *f, const devo_model *arch, size_t max_rows,
                                  size_t max_individuals)
{
    size_t widest = devo_model_max_units(arch) > arch->input_dim ? devo_model_max_units(arch)
                                                                 : arch->input_dim;
    if (max_rows > INT_MAX || widest > INT_MAX / max_individuals)
        return devo_fail(DEVO_ERR_UNSUPPORTED,
                         "cpu forward: %zu rows x %zu individuals x %zu units exceeds BLAS's int "
                         "dimensions", max_rows, max_individuals, widest);
    devo_blas_select(); // done at load already; this call links blas.c into every GEMM user
    memset(f, 0, sizeof *f);
    f->arch = arch;
    f->max_rows = max_rows;
    f->max_individuals = max_individuals;
    size_t buffer = max_individuals * max_rows * devo_model_max_units(arch);
    f->buffers[0] = malloc(buffer * sizeof(float));
    f->buffers[1] = malloc(buffer * sizeof(float));
    f->bias = malloc(max_individuals * arch->layers[0].units * sizeof(float));
    if (!f->buffers[0] || !f->buffers[1] || !f->bias) {
        devo_cpu_forward_release(f);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "cpu forward: cannot allocate %zu bytes of work space",
                         devo_cpu_forward_bytes(arch, max_rows, max_individuals));
    }
    return DEVO_OK;
}

void devo_cpu_forward_release(devo_cpu_forward *f)
{
    free(f->buffers[0]);
    free(f->buffers[1]);
    free(f->bias);
    free(f->operands[0]);
    free(f->operands[1]);
    devo_bf16_gemm_free(f->bf16);
    f->buffers[0] = f->buffers[1] = f->bias = NULL;
    f->operands[0] = f->operands[1] = NULL;
    f->bf16 = NULL;
}

devo_status devo_cpu_forward_use_bf16(devo_cpu_forward *f)
{
    DEVO_TRY(devo_bf16_available());
    size_t buffer = f->max_individuals * f->max_rows * devo_model_max_units(f->arch);
    f->operands[0] = malloc(buffer * sizeof(devo_bf16));
    f->operands[1] = malloc(buffer * sizeof(devo_bf16));
    if (!f->operands[0] || !f->operands[1])
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu forward: cannot allocate %zu BF16 "
                                                 "activations", 2 * buffer);
    return devo_bf16_gemm_create(&f->bf16, 1);
}

void devo_cpu_pack_first_layer(const devo_model *arch, const float *w, size_t count,
                               float *packed)
{
    devo_cpu_pack_block(arch, w, 0, count, count, packed);
}

void devo_cpu_pack_block(const devo_model *arch, const float *w, size_t slot, size_t count,
                         size_t slots, float *packed)
{
    devo_cpu_pack_block_of(arch, w, sizeof(float), slot, count, slots, packed);
}

void devo_cpu_pack_block_of(const devo_model *arch, const void *w, size_t size, size_t slot,
                            size_t count, size_t slots, void *packed)
{
    // packed is (inputs, slots * units), individual p's kernel in columns (slot + p) * units ..,
    // row by row so that the writes are sequential; the other slots' columns are zero
    const devo_layer *first = &arch->layers[0];
    size_t D = arch->param_count, units = first->units, width = slots * units;
    const char *rows = w;
    for (size_t i = 0; i < first->inputs; i++) {
        char *row = (char *)packed + i * width * size;
        memset(row, 0, slot * units * size);
        for (size_t p = 0; p < count; p++)
            memcpy(row + (slot + p) * units * size,
                   rows + (p * D + first->kernel_offset + i * units) * size, units * size);
        memset(row + (slot + count) * units * size, 0, (slots - slot - count) * units * size);
    }
}

/* c (m, n; ldc) = a (m, k; lda) x b (k, n; ldb), row-major: FP32 operands on OpenBLAS, or
 * BF16 ones on oneDNN when f is BF16 (a failure is kept in f->status). */
static void layer_gemm(devo_cpu_forward *f, size_t m, size_t n, size_t k, const void *a,
                       size_t lda, const void *b, size_t ldb, float *c, size_t ldc)
{
    if (!f->bf16) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a,
                    (int)lda, b, (int)ldb, 0.0f, c, (int)ldc);
        return;
    }
    devo_status status = devo_bf16_gemm_run(f->bf16, m, n, k, a, lda, b, ldb, c, ldc);
    if (f->status == DEVO_OK) f->status = status;
}

/* Adds bias (units) to each of `rows` rows of `units` values (row stride ld) and applies
 * act, except on the last layer, whose pre-activations are the result. A hidden layer's row
 * is also rounded into operand (same layout; BF16, else NULL), the next GEMM's input, while
 * it is in cache. */
static void bias_activate(float *h, size_t rows, size_t ld, const float *bias, size_t units,
                          devo_activation act, int last, devo_bf16 *operand)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = h + r * ld;
        for (size_t j = 0; j < units; j++) row[j] += bias[j];
        if (last) continue;
        if (act == DEVO_ACT_RELU) // the usual hidden layer: a loop the compiler vectorises
            for (size_t j = 0; j < units; j++) row[j] = devo_activate(DEVO_ACT_RELU, row[j]);
        else
            devo_activate_row(act, row, units);
        if (operand) devo_bf16_round_n(row, operand + r * ld, units);
    }
}

/* Layers 1.. of every individual, from layer 0's output `in` (BF16: its rounded copy at the
 * same offsets from in16, and w16 the rows rounded); returns the logits. */
static devo_logits_view forward_rest(devo_cpu_forward *f, const float *w, const devo_bf16 *w16,
                                     size_t count, devo_logits_view in, const devo_bf16 *in16,
                                     size_t rows)
{
    const devo_model *arch = f->arch;
    size_t D = arch->param_count;
    for (size_t l = 1; l < arch->layer_count; l++) {
        const devo_layer *layer = &arch->layers[l];
        float *out = f->buffers[l % 2];
        int last = l + 1 == arch->layer_count;
        // per individual: out_p (rows, units) = in_p (rows, inputs) x kernel_p (inputs, units)
        for (size_t p = 0; p < count; p++) {
            float *out_p = out + p * rows * layer->units;
            const float *weights = w + p * D;
            if (f->bf16)
                layer_gemm(f, rows, layer->units, layer->inputs, in16 + p * in.individual_stride,
                           in.row_stride, w16 + p * D + layer->kernel_offset, layer->units,
                           out_p, layer->units);
            else
                layer_gemm(f, rows, layer->units, layer->inputs,
                           in.base + p * in.individual_stride, in.row_stride,
                           weights + layer->kernel_offset, layer->units, out_p, layer->units);
            bias_activate(out_p, rows, layer->units, weights + layer->bias_offset, layer->units,
                          layer->act, last,
                          f->bf16 ? f->operands[l % 2] + p * rows * layer->units : NULL);
        }
        in.base = out;
        in.individual_stride = rows * layer->units;
        in.row_stride = layer->units;
        in16 = f->operands[l % 2];
    }
    return in;
}

devo_logits_view devo_cpu_forward_shared(devo_cpu_forward *f, const float *w, size_t count,
                                         const float *packed, const float *x, size_t rows)
{
    return devo_cpu_forward_block(f, w, 0, count, count, packed, x, rows);
}

/* devo_cpu_forward_block's work: FP32 (w16 NULL; packed, x float) or BF16 (devo_bf16). */
static devo_logits_view forward_block(devo_cpu_forward *f, const float *w, const devo_bf16 *w16,
                                      size_t slot, size_t count, size_t slots,
                                      const void *packed, const void *x, size_t rows)
{
    const devo_layer *first = &f->arch->layers[0];
    size_t D = f->arch->param_count, units = first->units, width = slots * units;
    float *all = f->buffers[0], *out = all + slot * units;
    // all (rows, slots * units) = x (rows, inputs) x packed (inputs, slots * units)
    layer_gemm(f, rows, width, first->inputs, x, first->inputs, packed, width, all, width);
    int last = f->arch->layer_count == 1;
    devo_bf16 *operand = f->bf16 ? f->operands[0] + slot * units : NULL;
    if (last || first->act != DEVO_ACT_SOFTMAX) { // elementwise: all individuals' rows at once
        for (size_t p = 0; p < count; p++) // bias (count * units): the biases side by side
            memcpy(f->bias + p * units, w + p * D + first->bias_offset, units * sizeof(float));
        bias_activate(out, rows, width, f->bias, count * units, first->act, last, operand);
    } else {
        for (size_t p = 0; p < count; p++)
            bias_activate(out + p * units, rows, width, w + p * D + first->bias_offset, units,
                          first->act, last, operand ? operand + p * units : NULL);
    }
    devo_logits_view view = {out, units, width};
    return forward_rest(f, w, w16, count, view, operand, rows);
}

devo_logits_view devo_cpu_forward_block(devo_cpu_forward *f, const float *w, size_t slot,
                                        size_t count, size_t slots, const float *packed,
                                        const float *x, size_t rows)
{
    return forward_block(f, w, NULL, slot, count, slots, packed, x, rows);
}

devo_logits_view devo_cpu_forward_block_bf16(devo_cpu_forward *f, const float *w,
                                             const devo_bf16 *w16, size_t slot, size_t count,
                                             size_t slots, const devo_bf16 *packed16,
                                             const devo_bf16 *x16, size_t rows)
{
    return forward_block(f, w, w16, slot, count, slots, packed16, x16, rows);
}

/* devo_cpu_forward_own's work: FP32 (w16 NULL; x float) or BF16 (x devo_bf16). */
static devo_logits_view forward_own(devo_cpu_forward *f, const float *w, const devo_bf16 *w16,
                                    size_t count, const void *x, size_t rows)
{
    const devo_layer *first = &f->arch->layers[0];
    size_t D = f->arch->param_count, in = rows * first->inputs, units = first->units;
    float *out = f->buffers[0];
    int last = f->arch->layer_count == 1;
    for (size_t p = 0; p < count; p++) {
        // out_p (rows, units) = x_p (rows, inputs) x kernel_p (inputs, units)
        const float *weights = w + p * D;
        float *out_p = out + p * rows * units;
        if (f->bf16)
            layer_gemm(f, rows, units, first->inputs, (const devo_bf16 *)x + p * in,
                       first->inputs, w16 + p * D + first->kernel_offset, units, out_p, units);
        else
            layer_gemm(f, rows, units, first->inputs, (const float *)x + p * in, first->inputs,
                       weights + first->kernel_offset, units, out_p, units);
        bias_activate(out_p, rows, units, weights + first->bias_offset, units, first->act, last,
                      f->bf16 ? f->operands[0] + p * rows * units : NULL);
    }
    devo_logits_view view = {out, rows * units, units};
    return forward_rest(f, w, w16, count, view, f->operands[0], rows);
}

devo_logits_view devo_cpu_forward_own(devo_cpu_forward *f, const float *w, size_t count,
                                      const float *x, size_t rows)
{
    return forward_own(f, w, NULL, count, x, rows);
}

devo_logits_view devo_cpu_forward_own_bf16(devo_cpu_forward *f, const float *w,
                                           const devo_bf16 *w16, size_t count,
                                           const devo_bf16 *x16, size_t rows)
{
    return forward_own(f, w, w16, count, x16, rows);
}

void devo_cpu_write_outputs(const devo_model *arch, devo_logits_view view, size_t p, size_t rows,
                            float *y)
{
    size_t outputs = devo_model_output_dim(arch);
    devo_activation act = arch->layers[arch->layer_count - 1].act;
    const float *logits = view.base + p * view.individual_stride;
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * outputs;
        memcpy(row, logits + r * view.row_stride, outputs * sizeof(float));
        devo_activate_row(act, row, outputs);
    }
}
