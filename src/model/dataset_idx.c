/*
 * dataset_idx.c - devo_dataset and its IDX loader (the MNIST family of files),
 * plain or gzip-compressed. Every header field is checked against the data
 * that is really there before anything is trusted: a plain file's size must
 * match its header, a gzip file may not declare more than DEVO_IDX_MAX_RATIO
 * times its own size (a gzip bomb), never more than the declared bytes are
 * inflated, and the bytes stream straight into the final float buffer, which
 * grows only with data actually read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "devo.h"
#include "error.h"

/* The largest data section accepted (4 GiB): far above any IDX set in use. */
#define DEVO_IDX_MAX_BYTES ((uint64_t)1 << 32)
#define DEVO_IDX_TYPE_UBYTE 0x08
/* A gzip file may declare at most this many data bytes per byte of its own size (real IDX
 * sets compress 2:1 to 5:1; deflate's limit is about 1032:1)... */
#define DEVO_IDX_MAX_RATIO 256
/* ...unless it declares no more than this: small files of zeros are fine. */
#define DEVO_IDX_RATIO_FREE_BYTES ((uint64_t)16 << 20)
/* Bytes inflated per step on the way into the float buffer. */
#define DEVO_IDX_CHUNK ((size_t)1 << 16)

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
    float *data;  /* (bytes) the unsigned bytes as floats, divided by the caller's divisor */
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

/* Refuses, before inflating, a size the file cannot honestly hold: a plain file's data must
 * be exactly what is declared, a gzip file's at most DEVO_IDX_MAX_RATIO times its size.
 * file_bytes < 0 (a pipe: size unknown) skips the check; reading still stops at the
 * declared size. */
static devo_status check_declared_size(gzFile f, const char *path, off_t file_bytes,
                                       size_t header, uint64_t data_bytes)
{
    if (file_bytes < 0) return DEVO_OK;
    if (gzdirect(f)) {
        uint64_t held = (uint64_t)file_bytes - header;
        if (held == data_bytes) return DEVO_OK;
        return devo_fail(DEVO_ERR_FORMAT,
                         "%s: %s: the header declares %llu data bytes from offset %zu, the file "
                         "holds %llu", path, held < data_bytes ? "truncated" : "trailing bytes",
                         (unsigned long long)data_bytes, header, (unsigned long long)held);
    }
    if (data_bytes <= DEVO_IDX_RATIO_FREE_BYTES ||
        data_bytes / DEVO_IDX_MAX_RATIO <= (uint64_t)file_bytes)
        return DEVO_OK;
    return devo_fail(DEVO_ERR_FORMAT,
                     "%s: the header declares %llu data bytes but the gzip file holds %lld "
                     "bytes: more than %d:1, refused as a gzip bomb", path,
                     (unsigned long long)data_bytes, (long long)file_bytes, DEVO_IDX_MAX_RATIO);
}

/* Inflates exactly data_bytes after the header into floats (byte / divisor), growing the buffer
 * with what arrives; more or less data than declared is a format error. */
static devo_status read_data(gzFile f, const char *path, uint64_t data_bytes, float divisor,
                             idx_file *idx)
{
    size_t header = 4 + 4 * idx->rank, capacity = 0, have = 0;
    float *data = NULL;
    uint8_t chunk[DEVO_IDX_CHUNK];
    while (have < data_bytes) {
        if (have == capacity) {
            size_t grown = capacity ? 2 * capacity : ((size_t)1 << 20);
            if (grown > data_bytes) grown = (size_t)data_bytes;
            float *bigger = realloc(data, grown * sizeof *data);
            if (!bigger) {
                free(data);
                return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu floats", path,
                                 grown);
            }
            data = bigger;
            capacity = grown;
        }
        size_t want = capacity - have < sizeof chunk ? capacity - have : sizeof chunk;
        long long got = read_some(f, chunk, want);
        if (got < 0) {
            free(data);
            return corrupt(f, path);
        }
        if (got == 0) break;
        for (long long i = 0; i < got; i++) data[have + (size_t)i] = (float)chunk[i] / divisor;
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

/* Opens path for gzip reading (plain files read through unchanged); *bytes gets its size. */
static devo_status open_idx(const char *path, gzFile *out, off_t *bytes)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return devo_fail(DEVO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    devo_status status = DEVO_OK;
    if (fstat(fd, &st) != 0)
        status = devo_fail(DEVO_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        status = devo_fail(DEVO_ERR_IO, "%s: is a directory, not an IDX file", path);
    gzFile f = status == DEVO_OK ? gzdopen(fd, "rb") : NULL;
    if (!f) {
        close(fd);
        return status != DEVO_OK ? status
                                 : devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot open: out of "
                                                                     "memory", path);
    }
    *out = f;
    *bytes = S_ISREG(st.st_mode) ? st.st_size : -1;
    return DEVO_OK;
}

static devo_status read_idx(const char *path, size_t min_rank, size_t max_rank, float divisor,
                            idx_file *idx)
{
    memset(idx, 0, sizeof *idx);
    gzFile f = NULL;
    off_t file_bytes = 0;
    DEVO_TRY(open_idx(path, &f, &file_bytes));
    uint64_t data_bytes = 0;
    devo_status status = read_header(f, path, min_rank, max_rank, idx, &data_bytes);
    if (status == DEVO_OK)
        status = check_declared_size(f, path, file_bytes, 4 + 4 * idx->rank, data_bytes);
    if (status == DEVO_OK) status = read_data(f, path, data_bytes, divisor, idx);
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
    DEVO_TRY(read_idx(images_path, 2, 4, 255.0f, &images));
    devo_status status = read_idx(labels_path, 1, 1, 1.0f, &labels);
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
    if (!d) {
        free(images.data);
        free(labels.data);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    }
    // The loaded floats become the dataset's own arrays: no second copy.
    d->count = images.dims[0];
    d->dim = images.bytes / d->count;
    d->x = images.data;
    d->y = labels.data;
    for (size_t i = 0; i < d->count; i++)
        if ((size_t)d->y[i] + 1 > d->classes) d->classes = (size_t)d->y[i] + 1;
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
