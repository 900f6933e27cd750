/*
 * safetensors.c - devo's one safetensors writer and validating reader (see
 * safetensors.h), under model files and state files alike.
 */
#include "safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "atomic_file.h"
#include "error.h"

/* The largest JSON header accepted (the safetensors reference's own bound). */
#define DEVO_ST_MAX_HEADER ((uint64_t)100 << 20)

static const char *const dtype_names[] = {"F32", "F64", "I64"};
static const size_t dtype_sizes[] = {4, 8, 8};

static uint64_t elements(size_t rank, const uint64_t shape[2])
{
    return rank == 1 ? shape[0] : shape[0] * shape[1];
}

/* ------------------------------------------------------------------------------ write */

static json_t *header_json(json_t *metadata, const devo_st_tensor *tensors, size_t count)
{
    json_t *root = json_object();
    json_object_set(root, "__metadata__", metadata);
    uint64_t offset = 0;
    for (size_t t = 0; t < count; t++) {
        const devo_st_tensor *x = &tensors[t];
        json_t *dims = json_array();
        for (size_t d = 0; d < x->rank; d++)
            json_array_append_new(dims, json_integer((json_int_t)x->shape[d]));
        uint64_t bytes = elements(x->rank, x->shape) * dtype_sizes[x->dtype];
        json_t *entry = json_object();
        json_object_set_new(entry, "dtype", json_string(dtype_names[x->dtype]));
        json_object_set_new(entry, "shape", dims);
        json_object_set_new(entry, "data_offsets",
                            json_pack("[II]", (json_int_t)offset, (json_int_t)(offset + bytes)));
        json_object_set_new(root, x->name, entry);
        offset += bytes;
    }
    return root;
}

/* Element i of native data (`size` bytes) as little-endian bytes into le. */
static void element_le(const unsigned char *p, size_t size, unsigned char le[8])
{
    uint64_t bits = 0;
    if (size == 4) {
        uint32_t b32;
        memcpy(&b32, p, 4);
        bits = b32;
    } else {
        memcpy(&bits, p, 8);
    }
    for (size_t b = 0; b < size; b++) le[b] = (unsigned char)(bits >> (8 * b));
}

/* Writes n little-endian values of `size` bytes from native data; 0 on a write error. */
static int write_le(FILE *f, const void *data, uint64_t n, size_t size)
{
    const unsigned char *p = data;
    unsigned char le[8];
    for (uint64_t i = 0; i < n; i++, p += size) {
        element_le(p, size, le);
        if (fwrite(le, 1, size, f) != size) return 0;
    }
    return 1;
}

uint32_t devo_st_crc32(const devo_st_tensor *tensors, size_t count)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    unsigned char le[8];
    for (size_t t = 0; t < count; t++) {
        const unsigned char *p = tensors[t].data;
        size_t size = dtype_sizes[tensors[t].dtype];
        for (uint64_t i = 0; i < elements(tensors[t].rank, tensors[t].shape); i++, p += size) {
            element_le(p, size, le);
            crc = crc32(crc, le, (uInt)size);
        }
    }
    return (uint32_t)crc;
}

static int write_all(FILE *f, const char *header, const devo_st_tensor *tensors, size_t count)
{
    size_t len = strlen(header), padded = (len + 7) / 8 * 8; // data starts 8-byte aligned
    uint64_t padded64 = padded;
    if (!write_le(f, &padded64, 1, 8) || fwrite(header, 1, len, f) != len) return 0;
    for (size_t i = len; i < padded; i++)
        if (fputc(' ', f) == EOF) return 0;
    for (size_t t = 0; t < count; t++)
        if (!write_le(f, tensors[t].data, elements(tensors[t].rank, tensors[t].shape),
                      dtype_sizes[tensors[t].dtype]))
            return 0;
    return 1;
}

devo_status devo_st_write(const char *path, json_t *metadata, const devo_st_tensor *tensors,
                          size_t count, const char *fn)
{
    json_t *root = header_json(metadata, tensors, count);
    char *header = root ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    if (!header)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot build the header of %s", fn, path);
    // A locked temporary beside the target, synced and renamed over it (atomic_file.h).
    devo_atomic_file file;
    devo_status status = devo_atomic_begin(&file, path, fn);
    if (status == DEVO_OK)
        status = devo_atomic_commit(&file, write_all(file.f, header, tensors, count), fn);
    free(header);
    return status;
}

/* ------------------------------------------------------------------------------- read */

typedef struct span {
    uint64_t begin, end;
} span;

/* By begin, then end: an empty tensor sorts before a non-empty one starting where it does. */
static int compare_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin) return (x->begin > y->begin) - (x->begin < y->begin);
    return (x->end > y->end) - (x->end < y->end);
}

/* A JSON array of `count` non-negative integers into values; 0 if it is not one. */
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

static int dtype_from_name(const char *name, devo_st_dtype *out)
{
    for (int d = 0; d < 3; d++)
        if (name && strcmp(name, dtype_names[d]) == 0) {
            *out = (devo_st_dtype)d;
            return 1;
        }
    return 0;
}

/* Checks one tensor entry: a known dtype, a shape of rank 1 or 2 whose bytes fit the data
 * section, data_offsets matching it. */
static devo_status check_entry(const devo_st_file *st, const char *name, json_t *entry,
                               span *out)
{
    devo_st_dtype dtype;
    json_t *dims = json_object_get(entry, "shape");
    uint64_t shape[2] = {0, 0}, offsets[2];
    size_t rank = json_is_array(dims) ? json_array_size(dims) : 0;
    if (!json_is_object(entry) || json_object_size(entry) != 3)
        return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' is not an object of dtype, shape and "
                                          "data_offsets", st->path, name);
    const char *dtype_name = json_string_value(json_object_get(entry, "dtype"));
    if (!dtype_from_name(dtype_name, &dtype))
        return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' has dtype %s, not one of F32, F64, I64",
                         st->path, name, dtype_name ? dtype_name : "(none)");
    uint64_t room = st->data_bytes / dtype_sizes[dtype]; // elements the data section holds
    if (rank < 1 || rank > 2 || !read_integers(dims, shape, rank) ||
        (rank == 1 && shape[0] > room) ||
        (rank == 2 && shape[1] != 0 && shape[0] > room / shape[1]))
        return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' has a bad shape (rank 1 or 2 of "
                                          "integers, within the data section)", st->path, name);
    if (!read_integers(json_object_get(entry, "data_offsets"), offsets, 2) ||
        offsets[0] > offsets[1] || offsets[1] > st->data_bytes ||
        offsets[1] - offsets[0] != elements(rank, shape) * dtype_sizes[dtype])
        return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' has data_offsets outside the %" PRIu64
                                          "-byte data section or not matching its shape",
                         st->path, name, st->data_bytes);
    out->begin = offsets[0];
    out->end = offsets[1];
    return DEVO_OK;
}

/* Checks the metadata and every tensor entry, and that the tensors tile the data section. */
static devo_status check_header(devo_st_file *st)
{
    st->meta = json_object_get(st->root, "__metadata__");
    if (!json_is_object(st->meta))
        return devo_fail(DEVO_ERR_FORMAT, "%s: no __metadata__ object in the header", st->path);
    const char *key;
    json_t *value;
    json_object_foreach(st->meta, key, value) {
        if (!json_is_string(value))
            return devo_fail(DEVO_ERR_FORMAT, "%s: __metadata__ value '%s' is not a string",
                             st->path, key);
    }
    st->tensors = json_object_size(st->root) - 1;
    span *spans = malloc((st->tensors + 1) * sizeof *spans);
    if (!spans) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", st->path);
    devo_status status = DEVO_OK;
    size_t t = 0;
    json_object_foreach(st->root, key, value) {
        if (strcmp(key, "__metadata__") == 0) continue;
        status = check_entry(st, key, value, &spans[t++]);
        if (status != DEVO_OK) break;
    }
    if (status == DEVO_OK) {
        qsort(spans, st->tensors, sizeof *spans, compare_span);
        uint64_t covered = 0;
        for (t = 0; status == DEVO_OK && t < st->tensors; t++) {
            if (spans[t].begin != covered)
                status = devo_fail(DEVO_ERR_FORMAT, "%s: the tensors %s the data section at byte "
                                                    "%" PRIu64, st->path,
                                   spans[t].begin < covered ? "overlap in" : "leave a gap in",
                                   covered);
            covered = spans[t].end;
        }
        if (status == DEVO_OK && covered != st->data_bytes)
            status = devo_fail(DEVO_ERR_FORMAT, "%s: %" PRIu64 " bytes of the data section are "
                                                "not covered by any tensor", st->path,
                               st->data_bytes - covered);
    }
    free(spans);
    return status;
}

static devo_status read_header(devo_st_file *st)
{
    const char *path = st->path;
    if (fseeko(st->f, 0, SEEK_END) != 0)
        return devo_fail(DEVO_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    off_t size = ftello(st->f);
    unsigned char length[8];
    if (size < 8 || fseeko(st->f, 0, SEEK_SET) != 0 || fread(length, 1, 8, st->f) != 8)
        return devo_fail(DEVO_ERR_FORMAT, "%s: %lld bytes, too short for a safetensors file",
                         path, (long long)size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | length[i];
    if (header_len == 0 || header_len > (uint64_t)size - 8 || header_len > DEVO_ST_MAX_HEADER)
        return devo_fail(DEVO_ERR_FORMAT, "%s: header length %" PRIu64 " at offset 0 does not fit "
                                          "the file's %lld bytes (or exceeds %" PRIu64 ")",
                         path, header_len, (long long)size, DEVO_ST_MAX_HEADER);
    char *text = malloc(header_len);
    if (!text) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot hold the header", path);
    if (fread(text, 1, header_len, st->f) != header_len) {
        free(text);
        return devo_fail(DEVO_ERR_IO, "%s: cannot read the header", path);
    }
    json_error_t error;
    st->root = json_loadb(text, header_len, JSON_REJECT_DUPLICATES, &error);
    free(text);
    if (!json_is_object(st->root))
        return devo_fail(DEVO_ERR_FORMAT, "%s: bad JSON header at byte %lld: %s", path,
                         st->root ? 8LL : 8LL + (long long)error.position,
                         st->root ? "not an object" : error.text);
    st->data_start = 8 + header_len;
    st->data_bytes = (uint64_t)size - st->data_start;
    return check_header(st);
}

devo_status devo_st_open(devo_st_file *st, const char *path)
{
    memset(st, 0, sizeof *st);
    st->path = path;
    st->f = fopen(path, "rb");
    if (!st->f) return devo_fail(DEVO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(st->f), &info) != 0)
        return devo_fail(DEVO_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (S_ISDIR(info.st_mode))
        return devo_fail(DEVO_ERR_IO, "%s: is a directory, not a safetensors file", path);
    return read_header(st);
}

void devo_st_close(devo_st_file *st)
{
    if (st->f) fclose(st->f);
    json_decref(st->root);
    memset(st, 0, sizeof *st);
}

devo_status devo_st_data_crc32(const devo_st_file *st, uint32_t *crc)
{
    if (fseeko(st->f, (off_t)st->data_start, SEEK_SET) != 0)
        return devo_fail(DEVO_ERR_IO, "%s: cannot seek to the data section", st->path);
    uLong sum = crc32(0L, Z_NULL, 0);
    unsigned char buf[1 << 16];
    for (uint64_t left = st->data_bytes; left > 0;) {
        size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
        if (fread(buf, 1, want, st->f) != want)
            return devo_fail(DEVO_ERR_IO, "%s: cannot read the data section", st->path);
        sum = crc32(sum, buf, (uInt)want);
        left -= want;
    }
    *crc = (uint32_t)sum;
    return DEVO_OK;
}

const char *devo_st_meta(const devo_st_file *st, const char *key)
{
    return json_string_value(json_object_get(st->meta, key));
}

devo_status devo_st_check(const devo_st_file *st, const char *name, devo_st_dtype dtype,
                          size_t rank, const uint64_t shape[2])
{
    json_t *entry = json_object_get(st->root, name);
    if (!entry || strcmp(name, "__metadata__") == 0)
        return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' is missing", st->path, name);
    devo_st_dtype found = DEVO_ST_F32;
    dtype_from_name(json_string_value(json_object_get(entry, "dtype")), &found);
    uint64_t dims[2] = {0, 0};
    json_t *shape_json = json_object_get(entry, "shape");
    if (found != dtype || json_array_size(shape_json) != rank ||
        !read_integers(shape_json, dims, rank) || dims[0] != shape[0] ||
        (rank == 2 && dims[1] != shape[1])) {
        char want[48];
        if (rank == 2)
            snprintf(want, sizeof want, "[%" PRIu64 ", %" PRIu64 "]", shape[0], shape[1]);
        else
            snprintf(want, sizeof want, "[%" PRIu64 "]", shape[0]);
        return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' is not %s of shape %s", st->path, name,
                         dtype_names[dtype], want);
    }
    return DEVO_OK;
}

devo_status devo_st_read(const devo_st_file *st, const char *name, devo_st_dtype dtype,
                         size_t rank, const uint64_t shape[2], void *dst)
{
    DEVO_TRY(devo_st_check(st, name, dtype, rank, shape));
    uint64_t offsets[2];
    read_integers(json_object_get(json_object_get(st->root, name), "data_offsets"), offsets, 2);
    size_t size = dtype_sizes[dtype];
    uint64_t n = elements(rank, shape);
    if (fseeko(st->f, (off_t)(st->data_start + offsets[0]), SEEK_SET) != 0)
        return devo_fail(DEVO_ERR_IO, "%s: cannot seek to tensor '%s'", st->path, name);
    unsigned char *out = dst, le[8];
    for (uint64_t i = 0; i < n; i++, out += size) {
        if (fread(le, 1, size, st->f) != size)
            return devo_fail(DEVO_ERR_IO, "%s: cannot read tensor '%s'", st->path, name);
        uint64_t bits = 0;
        for (size_t b = size; b-- > 0;) bits = bits << 8 | le[b];
        if (size == 4) {
            uint32_t b32 = (uint32_t)bits;
            memcpy(out, &b32, 4);
        } else {
            memcpy(out, &bits, 8);
        }
    }
    return DEVO_OK;
}
