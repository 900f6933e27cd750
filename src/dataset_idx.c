/*
 * dataset_idx.c - devo_dataset and its IDX loader (the MNIST family of files),
 * plain or gzip-compressed. Every header field is checked against the data
 * that is really there before anything is trusted, and buffers grow only with
 * data actually read, so a lying header cannot cause a huge allocation.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "devo.h"
#include "error.h"

/* The largest data section accepted (4 GiB): far above any IDX set in use. */
#define DEVO_IDX_MAX_BYTES ((uint64_t)1 << 32)
#define DEVO_IDX_TYPE_UBYTE 0x08

struct devo_dataset {
    size_t count;
    size_t dim;
    size_t classes;
    float *x; /* (count, dim) in [0, 1] */
    float *y; /* (count) class indices */
};

typedef struct idx_file {
    size_t rank;
    uint32_t dims[4];
    uint8_t *data;
    size_t bytes;
} idx_file;

/* Reads up to `size` bytes; returns the count read, or -1 on a read or decompression error. */
static long long read_some(gzFile f, void *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        size_t want = size - done > (1u << 30) ? (1u << 30) : size - done;
        int got = gzread(f, (uint8_t *)buf + done, (unsigned)want);
        if (got < 0) return -1;
        if (got == 0) break;
        done += (size_t)got;
    }
    return (long long)done;
}

static devo_status corrupt(gzFile f, const char *path)
{
    int code;
    const char *message = gzerror(f, &code);
    if (code == Z_ERRNO) return devo_fail(DEVO_ERR_IO, "%s: read error: %s", path, strerror(errno));
    return devo_fail(DEVO_ERR_FORMAT, "%s: corrupt compressed data: %s", path, message);
}

static devo_status read_header(gzFile f, const char *path, size_t min_rank, size_t max_rank,
                               idx_file *idx, uint64_t *data_bytes)
{
    uint8_t magic[4];
    long long got = read_some(f, magic, 4);
    if (got < 0) return corrupt(f, path);
    if (got < 4)
        return devo_fail(DEVO_ERR_FORMAT, "%s: %lld bytes, too short for an IDX header", path, got);
    if (magic[0] != 0 || magic[1] != 0)
        return devo_fail(DEVO_ERR_FORMAT,
                         "%s: bad IDX magic %02x %02x at offset 0 (expected 00 00; not an IDX "
                         "file, or not gzip)", path, magic[0], magic[1]);
    if (magic[2] != DEVO_IDX_TYPE_UBYTE)
        return devo_fail(DEVO_ERR_FORMAT,
                         "%s: IDX element type 0x%02x at offset 2; only unsigned byte (0x08) is "
                         "supported", path, magic[2]);
    if (magic[3] < min_rank || magic[3] > max_rank)
        return devo_fail(DEVO_ERR_FORMAT, "%s: IDX rank %u at offset 3, expected %zu to %zu", path,
                         magic[3], min_rank, max_rank);
    idx->rank = magic[3];
    uint8_t dims[16];
    got = read_some(f, dims, 4 * idx->rank);
    if (got < 0) return corrupt(f, path);
    if ((size_t)got < 4 * idx->rank)
        return devo_fail(DEVO_ERR_FORMAT, "%s: truncated in the dimensions at offset %lld", path,
                         4 + got);
    uint64_t total = 1;
    for (size_t r = 0; r < idx->rank; r++) {
        const uint8_t *d = dims + 4 * r;
        idx->dims[r] = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
        if (idx->dims[r] == 0)
            return devo_fail(DEVO_ERR_FORMAT, "%s: dimension %zu (offset %zu) is 0", path, r,
                             4 + 4 * r);
        total *= idx->dims[r];
        if (total > DEVO_IDX_MAX_BYTES)
            return devo_fail(DEVO_ERR_FORMAT, "%s: the dimensions declare more than %llu bytes",
                             path, (unsigned long long)DEVO_IDX_MAX_BYTES);
    }
    *data_bytes = total;
    return DEVO_OK;
}

/* Reads exactly data_bytes after the header, growing the buffer with what arrives. */
static devo_status read_data(gzFile f, const char *path, uint64_t data_bytes, idx_file *idx)
{
    size_t header = 4 + 4 * idx->rank, capacity = 0, have = 0;
    uint8_t *data = NULL;
    while (have < data_bytes) {
        if (have == capacity) {
            size_t grown = capacity ? 2 * capacity : ((size_t)1 << 20);
            if (grown > data_bytes) grown = (size_t)data_bytes;
            uint8_t *bigger = realloc(data, grown);
            if (!bigger) {
                free(data);
                return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path,
                                 grown);
            }
            data = bigger;
            capacity = grown;
        }
        long long got = read_some(f, data + have, capacity - have);
        if (got < 0) {
            free(data);
            return corrupt(f, path);
        }
        if (got == 0) break;
        have += (size_t)got;
    }
    if (have < data_bytes) {
        free(data);
        return devo_fail(DEVO_ERR_FORMAT,
                         "%s: truncated: the header declares %llu data bytes from offset %zu, "
                         "the file holds %zu", path, (unsigned long long)data_bytes, header, have);
    }
    uint8_t extra;
    long long got = read_some(f, &extra, 1);
    if (got != 0) {
        free(data);
        if (got < 0) return corrupt(f, path);
        return devo_fail(DEVO_ERR_FORMAT,
                         "%s: trailing bytes at offset %llu, after the %llu bytes the header "
                         "declares", path, (unsigned long long)(header + data_bytes),
                         (unsigned long long)data_bytes);
    }
    idx->data = data;
    idx->bytes = have;
    return DEVO_OK;
}

static devo_status read_idx(const char *path, size_t min_rank, size_t max_rank, idx_file *idx)
{
    memset(idx, 0, sizeof *idx);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return devo_fail(DEVO_ERR_IO, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "out of memory");
    uint64_t data_bytes = 0;
    devo_status status = read_header(f, path, min_rank, max_rank, idx, &data_bytes);
    if (status == DEVO_OK) status = read_data(f, path, data_bytes, idx);
    gzclose(f);
    return status;
}

void devo_dataset_free(devo_dataset *d)
{
    if (!d) return;
    free(d->x);
    free(d->y);
    free(d);
}

devo_status devo_dataset_load_idx(devo_dataset **out, const char *images_path,
                                  const char *labels_path)
{
    const char *fn = "devo_dataset_load_idx";
    DEVO_REQUIRE_NONNULL(out, fn);
    DEVO_REQUIRE_NONNULL(images_path, fn);
    DEVO_REQUIRE_NONNULL(labels_path, fn);
    idx_file images, labels;
    DEVO_TRY(read_idx(images_path, 2, 4, &images));
    devo_status status = read_idx(labels_path, 1, 1, &labels);
    if (status != DEVO_OK) {
        free(images.data);
        return status;
    }
    if (images.dims[0] != labels.dims[0]) {
        free(images.data);
        free(labels.data);
        return devo_fail(DEVO_ERR_FORMAT, "%s holds %u images but %s holds %u labels",
                         images_path, images.dims[0], labels_path, labels.dims[0]);
    }
    devo_dataset *d = calloc(1, sizeof *d);
    if (d) {
        d->count = images.dims[0];
        d->dim = images.bytes / d->count;
        d->x = malloc(images.bytes * sizeof(float));
        d->y = malloc(d->count * sizeof(float));
    }
    if (!d || !d->x || !d->y) {
        devo_dataset_free(d);
        free(images.data);
        free(labels.data);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot hold %zu pixels as floats", fn,
                         images.bytes);
    }
    for (size_t i = 0; i < images.bytes; i++) d->x[i] = (float)images.data[i] / 255.0f;
    for (size_t i = 0; i < d->count; i++) {
        d->y[i] = (float)labels.data[i];
        if ((size_t)labels.data[i] + 1 > d->classes) d->classes = (size_t)labels.data[i] + 1;
    }
    free(images.data);
    free(labels.data);
    *out = d;
    return DEVO_OK;
}

/* Finds DIR/NAME or DIR/NAME.gz; writes the path that exists (or the plain one). */
static int find_file(const char *dir, const char *split, const char *kind, char *path, size_t size)
{
    const char *suffixes[2] = {"", ".gz"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, size, "%s/%s-%s%s", dir, split, kind, suffixes[i]);
        FILE *f = fopen(path, "rb");
        if (f) {
            fclose(f);
            return 1;
        }
    }
    snprintf(path, size, "%s/%s-%s", dir, split, kind);
    return 0;
}

devo_status devo_dataset_load_idx_dir(devo_dataset **out, const char *dir, const char *split)
{
    const char *fn = "devo_dataset_load_idx_dir";
    DEVO_REQUIRE_NONNULL(out, fn);
    DEVO_REQUIRE_NONNULL(dir, fn);
    DEVO_REQUIRE_NONNULL(split, fn);
    char images[4096], labels[4096];
    if (!find_file(dir, split, "images-idx3-ubyte", images, sizeof images))
        return devo_fail(DEVO_ERR_IO, "%s: no %s[.gz] in %s", fn, images, dir);
    if (!find_file(dir, split, "labels-idx1-ubyte", labels, sizeof labels))
        return devo_fail(DEVO_ERR_IO, "%s: no %s[.gz] in %s", fn, labels, dir);
    return devo_dataset_load_idx(out, images, labels);
}

const float *devo_dataset_x(const devo_dataset *d) { return d ? d->x : NULL; }
const float *devo_dataset_y(const devo_dataset *d) { return d ? d->y : NULL; }
size_t devo_dataset_count(const devo_dataset *d) { return d ? d->count : 0; }
size_t devo_dataset_dim(const devo_dataset *d) { return d ? d->dim : 0; }
size_t devo_dataset_classes(const devo_dataset *d) { return d ? d->classes : 0; }
