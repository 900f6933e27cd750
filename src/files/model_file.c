/*
 * model_file.c - devo_model_save and devo_model_load: models as safetensors
 * files, through the one safetensors reader and writer (safetensors.h), which
 * validates the format; here, what a model file holds: its metadata (format
 * version, input width, layers, loss) and exactly its kernels and biases as
 * F32 tensors of the architecture's shapes, in Keras' names. Everything is
 * checked before it is used, and no allocation is larger than the file holds.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "names.h"
#include "safetensors.h"

/* "dense/kernel", "dense_1/bias", ...: Keras' names for layer l's tensors. */
static void tensor_name(size_t layer, int bias, char *out, size_t size)
{
    if (layer == 0)
        snprintf(out, size, "dense/%s", bias ? "bias" : "kernel");
    else
        snprintf(out, size, "dense_%zu/%s", layer, bias ? "bias" : "kernel");
}

/* Shape and place of tensor t (0..2L-1: kernel then bias of each layer) in the flat weights. */
static void tensor_layout(const devo_model *m, size_t t, size_t shape[2], size_t *rank,
                          size_t *offset)
{
    const devo_layer *layer = &m->layers[t / 2];
    int bias = (int)(t % 2);
    *rank = bias ? 1 : 2;
    shape[0] = bias ? layer->units : layer->inputs;
    shape[1] = layer->units;
    *offset = bias ? layer->bias_offset : layer->kernel_offset;
}

static size_t tensor_elements(const size_t shape[2], size_t rank)
{
    return rank == 1 ? shape[0] : shape[0] * shape[1];
}

/* ------------------------------------------------------------------------------- save */

/* The metadata of m's file: format version, input width, layers and loss. */
static json_t *metadata(const devo_model *m)
{
    char input_dim[32], version[16];
    char *layers = devo_layers_text(m);
    if (!layers) return NULL;
    snprintf(input_dim, sizeof input_dim, "%zu", m->input_dim);
    snprintf(version, sizeof version, "%d", DEVO_FORMAT_VERSION);
    json_t *meta = json_object();
    json_object_set_new(meta, "devo_format_version", json_string(version));
    json_object_set_new(meta, "input_dim", json_string(input_dim));
    json_object_set_new(meta, "layers", json_string(layers));
    free(layers);
    json_object_set_new(meta, "loss", json_string(devo_loss_name(m->loss)));
    return meta;
}

/* Tensor t of m (layer t / 2's kernel or bias) as the safetensors layer describes it, its data
 * in m's weights (NULL before m is compiled); name is its storage (64 bytes). */
static devo_st_tensor tensor_of(const devo_model *m, size_t t, char *name)
{
    size_t shape[2], rank, offset;
    tensor_layout(m, t, shape, &rank, &offset);
    tensor_name(t / 2, (int)(t % 2), name, 64);
    devo_st_tensor x = {name, DEVO_ST_F32, rank, {shape[0], rank == 2 ? shape[1] : 0},
                        m->weights ? m->weights + offset : NULL};
    return x;
}

/* DEVO_ERR_NUMERIC naming the first non-finite weight: a file devo_model_load would refuse. */
static devo_status check_finite_weights(const devo_model *m, const char *path)
{
    for (size_t t = 0; t < 2 * m->layer_count; t++) {
        size_t shape[2], rank, offset;
        tensor_layout(m, t, shape, &rank, &offset);
        for (size_t i = 0; i < tensor_elements(shape, rank); i++) {
            if (isfinite(m->weights[offset + i])) continue;
            char name[64];
            tensor_name(t / 2, (int)(t % 2), name, sizeof name);
            return devo_fail(DEVO_ERR_NUMERIC, "devo_model_save: %s: tensor '%s' holds %g at "
                                               "element %zu; only finite weights are saved",
                             path, name, (double)m->weights[offset + i], i);
        }
    }
    return DEVO_OK;
}

devo_status devo_model_save(const devo_model *m, const char *path)
{
    const char *fn = "devo_model_save";
    DEVO_TRY(devo_model_check_compiled(m, fn));
    DEVO_REQUIRE_NONNULL(path, fn);
    DEVO_TRY(check_finite_weights(m, path));
    size_t count = 2 * m->layer_count;
    json_t *meta = metadata(m);
    devo_st_tensor *tensors = malloc(count * sizeof *tensors);
    char (*names)[64] = malloc(count * sizeof *names);
    devo_status status = DEVO_OK;
    if (!meta || !tensors || !names) {
        status = devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot build the header", fn);
    } else {
        // Kernel then bias, layer by layer: the order of the weights, so each tensor's
        // data_offsets are 4 x its offset in them.
        for (size_t t = 0; t < count; t++) tensors[t] = tensor_of(m, t, names[t]);
        status = devo_st_write(path, meta, tensors, count, fn);
    }
    json_decref(meta);
    free(tensors);
    free(names);
    return status;
}

/* ------------------------------------------------------------------------------- load */

static devo_status bad(const char *path, const char *what)
{
    return devo_fail(DEVO_ERR_FORMAT, "%s: %s", path, what);
}

/* Builds the (uncompiled) architecture the metadata describes (its values are strings). */
static devo_status model_from_metadata(const devo_st_file *st, devo_model **out, devo_loss *loss)
{
    const char *path = st->path;
    const char *version = devo_st_meta(st, "devo_format_version");
    const char *input = devo_st_meta(st, "input_dim"), *layers = devo_st_meta(st, "layers");
    const char *loss_name = devo_st_meta(st, "loss");
    if (!version || !input || !layers || !loss_name)
        return bad(path, "__metadata__ lacks one of devo_format_version, input_dim, layers, loss");
    char expected[16];
    snprintf(expected, sizeof expected, "%d", DEVO_FORMAT_VERSION);
    if (strcmp(version, expected) != 0)
        return devo_fail(DEVO_ERR_FORMAT, "%s: devo_format_version '%s' is not one this devo "
                                          "reads (%s)", path, version, expected);
    char *end = NULL;
    errno = 0;
    unsigned long long input_dim = strtoull(input, &end, 10);
    if (errno || *end || input[0] < '0' || input[0] > '9' || input_dim == 0 ||
        input_dim > (1ull << 31))
        return devo_fail(DEVO_ERR_FORMAT, "%s: input_dim '%s' is not a positive integer", path,
                         input);
    if (!devo_loss_from_name(loss_name, loss))
        return devo_fail(DEVO_ERR_FORMAT, "%s: unknown loss '%s'", path, loss_name);
    devo_model *m = NULL;
    DEVO_TRY(devo_model_create(&m, (size_t)input_dim));
    devo_status status = devo_layers_parse(m, layers, path);
    if (status != DEVO_OK) {
        devo_model_free(m);
        // The same message, but in a file a bad layer description is a format error.
        return devo_fail(DEVO_ERR_FORMAT, "%s", devo_last_error());
    }
    *out = m;
    return DEVO_OK;
}

/* The file's tensors against m's architecture: exactly its kernels and biases, each F32 of
 * the architecture's shape (the reader has checked that they tile the data section). */
static devo_status check_tensors(const devo_st_file *st, const devo_model *m)
{
    size_t count = 2 * m->layer_count;
    if (4 * (uint64_t)m->param_count != st->data_bytes)
        return devo_fail(DEVO_ERR_FORMAT, "%s: the architecture has %zu weights (%" PRIu64
                                          " bytes) but the data section holds %" PRIu64 " bytes",
                         st->path, m->param_count, 4 * (uint64_t)m->param_count, st->data_bytes);
    if (st->tensors != count)
        return devo_fail(DEVO_ERR_FORMAT, "%s: the header has %zu tensors, the architecture %zu",
                         st->path, st->tensors, count);
    for (size_t t = 0; t < count; t++) {
        char name[64];
        devo_st_tensor x = tensor_of(m, t, name);
        DEVO_TRY(devo_st_check(st, name, DEVO_ST_F32, x.rank, x.shape));
    }
    return DEVO_OK;
}

/* Reads the checked tensors into m->weights; only finite weights are accepted. */
static devo_status read_weights(const devo_st_file *st, devo_model *m)
{
    for (size_t t = 0; t < 2 * m->layer_count; t++) {
        char name[64];
        devo_st_tensor x = tensor_of(m, t, name);
        float *w = (float *)x.data;
        DEVO_TRY(devo_st_read(st, name, DEVO_ST_F32, x.rank, x.shape, w));
        size_t count = x.rank == 2 ? x.shape[0] * x.shape[1] : x.shape[0];
        for (size_t i = 0; i < count; i++)
            if (!isfinite(w[i]))
                return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' holds a non-finite value at "
                                                  "element %zu", st->path, name, i);
    }
    return DEVO_OK;
}

devo_status devo_model_load(devo_model **out, const char *path)
{
    const char *fn = "devo_model_load";
    DEVO_REQUIRE_NONNULL(out, fn);
    DEVO_REQUIRE_NONNULL(path, fn);
    devo_st_file st;
    devo_model *m = NULL;
    devo_loss loss = DEVO_LOSS_NONE;
    // The reader validates the format; here, the model's metadata and tensors, each before the
    // next allocation (an architecture larger than the data is refused before compiling it).
    devo_status status = devo_st_open(&st, path);
    if (status == DEVO_OK) status = model_from_metadata(&st, &m, &loss);
    if (status == DEVO_OK) status = check_tensors(&st, m);
    if (status == DEVO_OK) status = devo_model_compile(m, loss);
    if (status == DEVO_ERR_INVALID_ARGUMENT) // an architecture the loss refuses (sparse, 1 output)
        status = devo_fail(DEVO_ERR_FORMAT, "%s: %s", path, devo_last_error());
    if (status == DEVO_OK) status = read_weights(&st, m);
    devo_st_close(&st);
    if (status != DEVO_OK) {
        devo_model_free(m);
        return status;
    }
    *out = m;
    return DEVO_OK;
}
