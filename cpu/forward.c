/*
 * forward.c - the CPU reference forward pass of a population (see forward.h).
 * Plain loops around cblas_sgemm; readability first, it is the oracle.
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
    f->buffers[0] = f->buffers[1] = f->bias = NULL;
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
    f->buffers[0] = f->buffers[1] = f->bias = NULL;
}

void devo_cpu_pack_first_layer(const devo_model *arch, const float *w, size_t count,
                               float *packed)
{
    devo_cpu_pack_block(arch, w, 0, count, count, packed);
}

void devo_cpu_pack_block(const devo_model *arch, const float *w, size_t slot, size_t count,
                         size_t slots, float *packed)
{
    // packed is (inputs, slots * units), individual p's kernel in columns (slot + p) * units ..,
    // row by row so that the writes are sequential; the other slots' columns are zero
    const devo_layer *first = &arch->layers[0];
    size_t D = arch->param_count, units = first->units, width = slots * units;
    for (size_t i = 0; i < first->inputs; i++) {
        float *row = packed + i * width;
        memset(row, 0, slot * units * sizeof(float));
        for (size_t p = 0; p < count; p++)
            memcpy(row + (slot + p) * units, w + p * D + first->kernel_offset + i * units,
                   units * sizeof(float));
        memset(row + (slot + count) * units, 0, (slots - slot - count) * units * sizeof(float));
    }
}

/* Adds bias (units) to each of `rows` rows of `units` values (row stride ld) and applies
 * act, except on the last layer, whose pre-activations are the result. */
static void bias_activate(float *h, size_t rows, size_t ld, const float *bias, size_t units,
                          devo_activation act, int last)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = h + r * ld;
        for (size_t j = 0; j < units; j++) row[j] += bias[j];
        if (last) continue;
        if (act == DEVO_ACT_RELU) // the usual hidden layer: a loop the compiler vectorises
            for (size_t j = 0; j < units; j++) row[j] = devo_activate(DEVO_ACT_RELU, row[j]);
        else
            devo_activate_row(act, row, units);
    }
}

/* Layers 1.. of every individual, from layer 0's output `in`; returns the logits. */
static devo_logits_view forward_rest(devo_cpu_forward *f, const float *w, size_t count,
                                     devo_logits_view in, size_t rows)
{
    const devo_model *arch = f->arch;
    size_t D = arch->param_count;
    for (size_t l = 1; l < arch->layer_count; l++) {
        const devo_layer *layer = &arch->layers[l];
        float *out = f->buffers[l % 2];
        // per individual: out_p (rows, units) = in_p (rows, inputs) x kernel_p (inputs, units)
        for (size_t p = 0; p < count; p++) {
            const float *in_p = in.base + p * in.individual_stride;
            float *out_p = out + p * rows * layer->units;
            const float *weights = w + p * D;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)layer->units,
                        (int)layer->inputs, 1.0f, in_p, (int)in.row_stride,
                        weights + layer->kernel_offset, (int)layer->units, 0.0f, out_p,
                        (int)layer->units);
            bias_activate(out_p, rows, layer->units, weights + layer->bias_offset, layer->units,
                          layer->act, l + 1 == arch->layer_count);
        }
        in.base = out;
        in.individual_stride = rows * layer->units;
        in.row_stride = layer->units;
    }
    return in;
}

devo_logits_view devo_cpu_forward_shared(devo_cpu_forward *f, const float *w, size_t count,
                                         const float *packed, const float *x, size_t rows)
{
    return devo_cpu_forward_block(f, w, 0, count, count, packed, x, rows);
}

devo_logits_view devo_cpu_forward_block(devo_cpu_forward *f, const float *w, size_t slot,
                                        size_t count, size_t slots, const float *packed,
                                        const float *x, size_t rows)
{
    const devo_layer *first = &f->arch->layers[0];
    size_t D = f->arch->param_count, units = first->units, width = slots * units;
    float *all = f->buffers[0], *out = all + slot * units;
    // all (rows, slots * units) = x (rows, inputs) x packed (inputs, slots * units)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)width,
                (int)first->inputs, 1.0f, x, (int)first->inputs, packed, (int)width, 0.0f, all,
                (int)width);
    int last = f->arch->layer_count == 1;
    if (last || first->act != DEVO_ACT_SOFTMAX) { // elementwise: all individuals' rows at once
        for (size_t p = 0; p < count; p++) // bias (count * units): the biases side by side
            memcpy(f->bias + p * units, w + p * D + first->bias_offset, units * sizeof(float));
        bias_activate(out, rows, width, f->bias, count * units, first->act, last);
    } else {
        for (size_t p = 0; p < count; p++)
            bias_activate(out + p * units, rows, width, w + p * D + first->bias_offset, units,
                          first->act, last);
    }
    devo_logits_view view = {out, units, width};
    return forward_rest(f, w, count, view, rows);
}

devo_logits_view devo_cpu_forward_own(devo_cpu_forward *f, const float *w, size_t count,
                                      const float *x, size_t rows)
{
    const devo_layer *first = &f->arch->layers[0];
    size_t D = f->arch->param_count;
    float *out = f->buffers[0];
    int last = f->arch->layer_count == 1;
    for (size_t p = 0; p < count; p++) {
        // out_p (rows, units) = x_p (rows, inputs) x kernel_p (inputs, units)
        const float *weights = w + p * D;
        float *out_p = out + p * rows * first->units;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)first->units,
                    (int)first->inputs, 1.0f, x + p * rows * first->inputs, (int)first->inputs,
                    weights + first->kernel_offset, (int)first->units, 0.0f, out_p,
                    (int)first->units);
        bias_activate(out_p, rows, first->units, weights + first->bias_offset, first->units,
                      first->act, last);
    }
    devo_logits_view view = {out, rows * first->units, first->units};
    return forward_rest(f, w, count, view, rows);
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
