/*
 * model_file.c - devo_model_save and devo_model_load: models as safetensors
 * (8-byte little-endian header length, JSON header, raw little-endian F32
 * tensors). The JSON is parsed by jansson; everything in a file is validated
 * before it is used, and no allocation is larger than what the file holds.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "error.h"
#include "model.h"
#include "names.h"

/* The largest JSON header accepted (the safetensors reference's own bound). */
#define DEVO_MAX_HEADER_BYTES ((uint64_t)100 << 20)

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

/* Bytes a layer description needs: per layer 20 digits, ':', the longest activation name, ','. */
#define DEVO_LAYER_SPEC_BYTES 32

static json_t *header_json(const devo_model *m)
{
    char input_dim[32], version[16];
    size_t layers_size = m->layer_count * DEVO_LAYER_SPEC_BYTES + 1;
    char *layers = malloc(layers_size);
    if (!layers || !devo_layers_format(m, layers, layers_size)) {
        free(layers);
        return NULL;
    }
    snprintf(input_dim, sizeof input_dim, "%zu", m->input_dim);
    snprintf(version, sizeof version, "%d", DEVO_FORMAT_VERSION);
    json_t *root = json_object(), *meta = json_object();
    json_object_set_new(meta, "devo_format_version", json_string(version));
    json_object_set_new(meta, "input_dim", json_string(input_dim));
    json_object_set_new(meta, "layers", json_string(layers));
    free(layers);
    json_object_set_new(meta, "loss", json_string(devo_loss_name(m->loss)));
    json_object_set_new(root, "__metadata__", meta);
    for (size_t t = 0; t < 2 * m->layer_count; t++) {
        size_t shape[2], rank, offset;
        tensor_layout(m, t, shape, &rank, &offset);
        char name[64];
        tensor_name(t / 2, (int)(t % 2), name, sizeof name);
        json_t *dims = json_array();
        for (size_t d = 0; d < rank; d++) json_array_append_new(dims, json_integer((json_int_t)shape[d]));
        uint64_t begin = 4 * (uint64_t)offset, end = begin + 4 * (uint64_t)tensor_elements(shape, rank);
        json_t *entry = json_object();
        json_object_set_new(entry, "dtype", json_string("F32"));
        json_object_set_new(entry, "shape", dims);
        json_object_set_new(entry, "data_offsets",
                            json_pack("[II]", (json_int_t)begin, (json_int_t)end));
        json_object_set_new(root, name, entry);
    }
    return root;
}

static void put_u64_le(unsigned char *out, uint64_t v)
{
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(v >> (8 * i));
}

/* Writes header and weights to f; 0 on a write error. */
static int write_model(FILE *f, const devo_model *m, const char *header, size_t header_len)
{
    size_t padded = (header_len + 7) / 8 * 8; // the data section starts 8-byte aligned
    unsigned char length[8];
    put_u64_le(length, padded);
    if (fwrite(length, 1, 8, f) != 8 || fwrite(header, 1, header_len, f) != header_len) return 0;
    for (size_t i = header_len; i < padded; i++)
        if (fputc(' ', f) == EOF) return 0;
    for (size_t i = 0; i < m->param_count; i++) {
        uint32_t bits;
        memcpy(&bits, &m->weights[i], 4);
        unsigned char le[4] = {(unsigned char)bits, (unsigned char)(bits >> 8),
                               (unsigned char)(bits >> 16), (unsigned char)(bits >> 24)};
        if (fwrite(le, 1, 4, f) != 4) return 0;
    }
    return 1;
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
    json_t *root = header_json(m);
    char *header = root ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    if (!header) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot build the header", fn);
    devo_atomic_file file;
    devo_status status = devo_atomic_begin(&file, path, fn);
    if (status == DEVO_OK)
        status = devo_atomic_commit(&file, write_model(file.f, m, header, strlen(header)), fn);
    free(header);
    return status;
}

/* ------------------------------------------------------------------------------- load */

typedef struct interval {
    uint64_t begin, end;
} interval;

static int compare_interval(const void *a, const void *b)
{
    uint64_t x = ((const interval *)a)->begin, y = ((const interval *)b)->begin;
    return (x > y) - (x < y);
}

static devo_status bad(const char *path, const char *what)
{
    return devo_fail(DEVO_ERR_FORMAT, "%s: %s", path, what);
}

/* The string value `key` of the metadata, or NULL. */
static const char *meta_string(json_t *meta, const char *key)
{
    json_t *v = json_object_get(meta, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Builds the (uncompiled) architecture the metadata describes. */
static devo_status model_from_metadata(json_t *root, const char *path, devo_model **out,
                                       devo_loss *loss)
{
    json_t *meta = json_object_get(root, "__metadata__");
    if (!json_is_object(meta)) return bad(path, "no __metadata__ object in the header");
    const char *key;
    json_t *value;
    json_object_foreach(meta, key, value) {
        if (!json_is_string(value))
            return devo_fail(DEVO_ERR_FORMAT, "%s: __metadata__ value '%s' is not a string", path,
                             key);
    }
    const char *version = meta_string(meta, "devo_format_version");
    const char *input = meta_string(meta, "input_dim"), *layers = meta_string(meta, "layers");
    const char *loss_name = meta_string(meta, "loss");
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

/* A JSON array of `count` non-negative integers into values. */
static int read_integers(json_t *array, uint64_t *values, size_t count)
{
    if (!json_is_array(array) || json_array_size(array) != count) return 0;
    for (size_t i = 0; i < count; i++) {
        json_t *v = json_array_get(array, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0) return 0;
        values[i] = (uint64_t)json_integer_value(v);
    }
    return 1;
}

/* Checks every tensor entry against the architecture and that they tile the data section. */
static devo_status check_tensors(json_t *root, const devo_model *m, uint64_t data_bytes,
                                 const char *path, interval *spans)
{
    size_t tensors = 2 * m->layer_count;
    if (json_object_size(root) != tensors + 1)
        return devo_fail(DEVO_ERR_FORMAT, "%s: the header has %zu tensors, the architecture %zu",
                         path, json_object_size(root) - 1, tensors);
    for (size_t t = 0; t < tensors; t++) {
        char name[64];
        tensor_name(t / 2, (int)(t % 2), name, sizeof name);
        json_t *entry = json_object_get(root, name);
        if (!json_is_object(entry))
            return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' is missing", path, name);
        const char *dtype = json_string_value(json_object_get(entry, "dtype"));
        if (!dtype || strcmp(dtype, "F32") != 0)
            return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' has dtype %s, devo reads F32",
                             path, name, dtype ? dtype : "(none)");
        size_t shape[2], rank, offset;
        tensor_layout(m, t, shape, &rank, &offset);
        uint64_t dims[2] = {0, 0}, span[2];
        if (!read_integers(json_object_get(entry, "shape"), dims, rank) || dims[0] != shape[0] ||
            (rank == 2 && dims[1] != shape[1]))
            return devo_fail(DEVO_ERR_FORMAT,
                             "%s: tensor '%s' has a shape other than the architecture's [%zu%s%zu]",
                             path, name, shape[0], rank == 2 ? ", " : "",
                             rank == 2 ? shape[1] : (size_t)0);
        if (!read_integers(json_object_get(entry, "data_offsets"), span, 2) || span[0] > span[1] ||
            span[1] > data_bytes || span[1] - span[0] != 4 * (uint64_t)tensor_elements(shape, rank))
            return devo_fail(DEVO_ERR_FORMAT,
                             "%s: tensor '%s' has data_offsets outside the %" PRIu64
                             "-byte data section or not matching its shape", path, name,
                             data_bytes);
        spans[t].begin = span[0];
        spans[t].end = span[1];
    }
    qsort(spans, tensors, sizeof *spans, compare_interval);
    uint64_t covered = 0;
    for (size_t t = 0; t < tensors; t++) {
        if (spans[t].begin != covered)
            return devo_fail(DEVO_ERR_FORMAT,
                             "%s: the tensors %s the data section at byte %" PRIu64, path,
                             spans[t].begin < covered ? "overlap in" : "leave a gap in", covered);
        covered = spans[t].end;
    }
    if (covered != data_bytes)
        return devo_fail(DEVO_ERR_FORMAT, "%s: %" PRIu64 " bytes of the data section are not "
                                          "covered by any tensor", path, data_bytes - covered);
    return DEVO_OK;
}

/* Reads the tensors of the validated header into m->weights. */
static devo_status read_weights(FILE *f, json_t *root, devo_model *m, uint64_t data_start,
                                const char *path)
{
    unsigned char *raw = malloc(4 * m->param_count);
    if (!raw) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot hold the weights", path);
    devo_status status = DEVO_OK;
    for (size_t t = 0; status == DEVO_OK && t < 2 * m->layer_count; t++) {
        char name[64];
        tensor_name(t / 2, (int)(t % 2), name, sizeof name);
        uint64_t span[2];
        read_integers(json_object_get(json_object_get(root, name), "data_offsets"), span, 2);
        size_t shape[2], rank, offset;
        tensor_layout(m, t, shape, &rank, &offset);
        size_t count = tensor_elements(shape, rank);
        if (fseeko(f, (off_t)(data_start + span[0]), SEEK_SET) != 0 ||
            fread(raw, 4, count, f) != count) {
            status = devo_fail(DEVO_ERR_IO, "%s: cannot read tensor '%s'", path, name);
            break;
        }
        for (size_t i = 0; i < count; i++) {
            const unsigned char *b = raw + 4 * i;
            uint32_t bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                            (uint32_t)b[3] << 24;
            float v;
            memcpy(&v, &bits, 4);
            if (!isfinite(v)) {
                status = devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' holds a non-finite value "
                                                    "at element %zu", path, name, i);
                break;
            }
            m->weights[offset + i] = v;
        }
    }
    free(raw);
    return status;
}

static devo_status load_from(FILE *f, const char *path, devo_model **out)
{
    if (fseeko(f, 0, SEEK_END) != 0)
        return devo_fail(DEVO_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    off_t size = ftello(f);
    unsigned char length[8];
    if (size < 8 || fseeko(f, 0, SEEK_SET) != 0 || fread(length, 1, 8, f) != 8)
        return devo_fail(DEVO_ERR_FORMAT, "%s: %lld bytes, too short for a safetensors file",
                         path, (long long)size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | length[i];
    if (header_len == 0 || header_len > (uint64_t)size - 8 || header_len > DEVO_MAX_HEADER_BYTES)
        return devo_fail(DEVO_ERR_FORMAT, "%s: header length %" PRIu64 " at offset 0 does not fit "
                                          "the file's %lld bytes (or exceeds %" PRIu64 ")",
                         path, header_len, (long long)size, DEVO_MAX_HEADER_BYTES);
    char *text = malloc(header_len);
    if (!text) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot hold the header", path);
    if (fread(text, 1, header_len, f) != header_len) {
        free(text);
        return devo_fail(DEVO_ERR_IO, "%s: cannot read the header", path);
    }
    json_error_t error;
    json_t *root = json_loadb(text, header_len, JSON_REJECT_DUPLICATES, &error);
    free(text);
    if (!json_is_object(root)) {
        devo_status s = devo_fail(DEVO_ERR_FORMAT, "%s: bad JSON header at byte %lld: %s", path,
                                  root ? 8LL : 8LL + (long long)error.position,
                                  root ? "not an object" : error.text);
        json_decref(root);
        return s;
    }
    devo_model *m = NULL;
    devo_loss loss = DEVO_LOSS_NONE;
    uint64_t data_bytes = (uint64_t)size - 8 - header_len;
    interval *spans = NULL;
    devo_status status = model_from_metadata(root, path, &m, &loss);
    if (status == DEVO_OK && 4 * (uint64_t)m->param_count != data_bytes)
        status = devo_fail(DEVO_ERR_FORMAT, "%s: the architecture has %zu weights (%" PRIu64
                                            " bytes) but the data section holds %" PRIu64 " bytes",
                           path, m->param_count, 4 * (uint64_t)m->param_count, data_bytes);
    if (status == DEVO_OK) {
        spans = malloc(2 * m->layer_count * sizeof *spans);
        status = spans ? check_tensors(root, m, data_bytes, path, spans)
                       : devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    if (status == DEVO_OK) status = devo_model_compile(m, loss);
    if (status == DEVO_ERR_INVALID_ARGUMENT) // an architecture the loss refuses (sparse, 1 output)
        status = devo_fail(DEVO_ERR_FORMAT, "%s: %s", path, devo_last_error());
    if (status == DEVO_OK) status = read_weights(f, root, m, 8 + header_len, path);
    free(spans);
    json_decref(root);
    if (status != DEVO_OK) {
        devo_model_free(m);
        return status;
    }
    *out = m;
    return DEVO_OK;
}

devo_status devo_model_load(devo_model **out, const char *path)
{
    const char *fn = "devo_model_load";
    DEVO_REQUIRE_NONNULL(out, fn);
    DEVO_REQUIRE_NONNULL(path, fn);
    FILE *f = fopen(path, "rb");
    if (!f) return devo_fail(DEVO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    devo_status status = DEVO_OK;
    if (fstat(fileno(f), &st) != 0)
        status = devo_fail(DEVO_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        status = devo_fail(DEVO_ERR_IO, "%s: is a directory, not a model file", path);
    else
        status = load_from(f, path, out);
    fclose(f);
    return status;
}
