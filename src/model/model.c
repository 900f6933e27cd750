/*
 * model.c - devo_model: building a dense network and its weights (predict and
 * evaluate are in model_predict.c, on the CPU's forward pass, which needs this file).
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_data.h"
#include "error.h"
#include "rng.h"

devo_status devo_model_create(devo_model **out, size_t input_dim)
{
    DEVO_REQUIRE_NONNULL(out, "devo_model_create");
    if (input_dim == 0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_model_create: input_dim must be > 0");
    devo_model *m = calloc(1, sizeof *m);
    if (!m) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "devo_model_create: out of memory");
    m->input_dim = input_dim;
    *out = m;
    return DEVO_OK;
}

void devo_model_free(devo_model *m)
{
    if (!m) return;
    free(m->layers);
    free(m->weights);
    free(m);
}

devo_status devo_model_add_dense(devo_model *m, size_t units, devo_activation act)
{
    DEVO_REQUIRE_NONNULL(m, "devo_model_add_dense");
    if (m->compiled)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "devo_model_add_dense: the model is compiled; its architecture is fixed");
    if (units == 0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_model_add_dense: units must be > 0");
    if ((unsigned)act > DEVO_ACT_SOFTMAX)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_model_add_dense: unknown activation %d",
                         (int)act);
    size_t inputs = m->layer_count ? m->layers[m->layer_count - 1].units : m->input_dim;
    if (inputs > SIZE_MAX / 4 / units || m->param_count > SIZE_MAX / 4 - (inputs + 1) * units)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_model_add_dense: layer too large");
    if (m->layer_count == m->layer_capacity) {
        size_t capacity = m->layer_capacity ? 2 * m->layer_capacity : 4;
        devo_layer *grown = realloc(m->layers, capacity * sizeof *grown);
        if (!grown) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "devo_model_add_dense: out of memory");
        m->layers = grown;
        m->layer_capacity = capacity;
    }
    devo_layer *layer = &m->layers[m->layer_count++];
    layer->inputs = inputs;
    layer->units = units;
    layer->act = act;
    layer->kernel_offset = m->param_count;
    layer->bias_offset = m->param_count + inputs * units;
    m->param_count += (inputs + 1) * units;
    return DEVO_OK;
}

devo_status devo_model_compile(devo_model *m, devo_loss loss)
{
    DEVO_REQUIRE_NONNULL(m, "devo_model_compile");
    if (m->compiled)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_model_compile: already compiled");
    if (m->layer_count == 0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_model_compile: the model has no layers");
    if ((unsigned)loss > DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_model_compile: unknown loss %d", (int)loss);
    if (loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && devo_model_output_dim(m) < 2)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "devo_model_compile: sparse categorical cross-entropy needs >= 2 outputs");
    m->weights = malloc(m->param_count * sizeof(float));
    if (!m->weights)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "devo_model_compile: cannot allocate %zu weights",
                         m->param_count);
    m->loss = loss;
    m->compiled = 1;
    return devo_model_init_weights(m, 0);
}

devo_status devo_model_check_compiled(const devo_model *m, const char *fn)
{
    if (!m) return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
    if (!m->compiled)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: the model is not compiled", fn);
    return DEVO_OK;
}

devo_status devo_model_init_weights(devo_model *m, uint64_t seed)
{
    DEVO_TRY(devo_model_check_compiled(m, "devo_model_init_weights"));
    // Glorot-uniform kernels: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)); zero biases.
    for (size_t l = 0; l < m->layer_count; l++) {
        const devo_layer *layer = &m->layers[l];
        double limit = sqrt(6.0 / (double)(layer->inputs + layer->units));
        for (size_t i = 0; i < layer->inputs * layer->units; i++) {
            size_t e = layer->kernel_offset + i;
            devo_philox_block b =
                devo_rng_block(seed, DEVO_STREAM_GLOROT, 0, 0, (uint32_t)(e / 4));
            double u = (double)b.w[e % 4] * (1.0 / 4294967296.0);
            m->weights[e] = (float)((2.0 * u - 1.0) * limit);
        }
        memset(m->weights + layer->bias_offset, 0, layer->units * sizeof(float));
    }
    return DEVO_OK;
}

size_t devo_model_param_count(const devo_model *m) { return m ? m->param_count : 0; }
size_t devo_model_input_dim(const devo_model *m) { return m ? m->input_dim : 0; }
size_t devo_model_layer_count(const devo_model *m) { return m ? m->layer_count : 0; }
devo_loss devo_model_loss(const devo_model *m) { return m && m->compiled ? m->loss : DEVO_LOSS_NONE; }
int devo_model_is_compiled(const devo_model *m) { return m ? m->compiled : 0; }

size_t devo_model_output_dim(const devo_model *m)
{
    return m && m->layer_count ? m->layers[m->layer_count - 1].units : 0;
}

size_t devo_model_max_units(const devo_model *m)
{
    size_t widest = 0;
    for (size_t l = 0; l < m->layer_count; l++)
        if (m->layers[l].units > widest) widest = m->layers[l].units;
    return widest;
}

size_t devo_model_target_width(const devo_model *m)
{
    return m->loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? 1 : devo_model_output_dim(m);
}

devo_status devo_model_layer(const devo_model *m, size_t index, size_t *units, devo_activation *act)
{
    DEVO_REQUIRE_NONNULL(m, "devo_model_layer");
    if (index >= m->layer_count)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_model_layer: index %zu >= %zu layers",
                         index, m->layer_count);
    if (units) *units = m->layers[index].units;
    if (act) *act = m->layers[index].act;
    return DEVO_OK;
}

static devo_status check_weight_count(const devo_model *m, const void *buffer, size_t count,
                                      const char *fn)
{
    DEVO_TRY(devo_model_check_compiled(m, fn));
    if (!buffer) return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: weight buffer is NULL", fn);
    if (count != m->param_count)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: count is %zu, the model has %zu weights",
                         fn, count, m->param_count);
    return DEVO_OK;
}

devo_status devo_model_get_weights(const devo_model *m, float *dst, size_t count)
{
    DEVO_TRY(check_weight_count(m, dst, count, "devo_model_get_weights"));
    memcpy(dst, m->weights, count * sizeof(float));
    return DEVO_OK;
}

devo_status devo_model_set_weights(devo_model *m, const float *src, size_t count)
{
    DEVO_TRY(check_weight_count(m, src, count, "devo_model_set_weights"));
    memcpy(m->weights, src, count * sizeof(float));
    return DEVO_OK;
}

devo_status devo_model_clone(const devo_model *m, devo_model **out)
{
    DEVO_REQUIRE_NONNULL(m, "devo_model_clone");
    DEVO_REQUIRE_NONNULL(out, "devo_model_clone");
    devo_model *copy = calloc(1, sizeof *copy);
    if (!copy) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "devo_model_clone: out of memory");
    *copy = *m;
    copy->layers = NULL;
    copy->weights = NULL;
    copy->layer_capacity = m->layer_count;
    if (m->layer_count) copy->layers = malloc(m->layer_count * sizeof *copy->layers);
    if (m->compiled) copy->weights = malloc(m->param_count * sizeof(float));
    if ((m->layer_count && !copy->layers) || (m->compiled && !copy->weights)) {
        devo_model_free(copy);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "devo_model_clone: out of memory");
    }
    if (m->layer_count) memcpy(copy->layers, m->layers, m->layer_count * sizeof *copy->layers);
    if (m->compiled) memcpy(copy->weights, m->weights, m->param_count * sizeof(float));
    *out = copy;
    return DEVO_OK;
}

/* Tolerance on the sum of a categorical target row (float rounding of probabilities). */
#define DEVO_TARGET_SUM_TOLERANCE 1e-3

/* One target row of a cross-entropy: a class index, a distribution, or values in [0, 1]. */
static devo_status check_target_row(const devo_model *m, const float *t, size_t row,
                                    const char *fn)
{
    size_t outputs = devo_model_output_dim(m);
    switch (m->loss) {
    case DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        if (t[0] < 0.0f || t[0] >= (float)outputs || t[0] != floorf(t[0]))
            return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                             "%s: y row %zu holds label %g, not a class index in [0, %zu) for "
                             "the %zu outputs", fn, row, (double)t[0], outputs, outputs);
        return DEVO_OK;
    case DEVO_LOSS_BINARY_CROSSENTROPY:
        for (size_t j = 0; j < outputs; j++)
            if (t[j] < 0.0f || t[j] > 1.0f)
                return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                                 "%s: y row %zu, column %zu holds %g; binary cross-entropy "
                                 "targets must lie in [0, 1]", fn, row, j, (double)t[j]);
        return DEVO_OK;
    case DEVO_LOSS_CATEGORICAL_CROSSENTROPY: {
        double sum = 0.0;
        for (size_t j = 0; j < outputs; j++) {
            if (t[j] < 0.0f)
                return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                                 "%s: y row %zu, column %zu holds %g; categorical targets must "
                                 "be >= 0", fn, row, j, (double)t[j]);
            sum += t[j];
        }
        if (fabs(sum - 1.0) > DEVO_TARGET_SUM_TOLERANCE)
            return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                             "%s: y row %zu sums to %g, not 1: categorical cross-entropy needs "
                             "one-hot (or probability) rows over the %zu outputs (a label "
                             "outside them?)", fn, row, sum, outputs);
        return DEVO_OK;
    }
    default: return DEVO_OK;
    }
}

devo_status devo_model_check_targets(const devo_model *m, const float *y, size_t n, const char *fn)
{
    size_t width = devo_model_target_width(m);
    DEVO_TRY(devo_check_finite(y, n, width, "y", fn));
    for (size_t i = 0; i < n; i++) DEVO_TRY(check_target_row(m, y + i * width, i, fn));
    return DEVO_OK;
}
