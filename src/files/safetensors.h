/*
 * safetensors.h - a safetensors writer and a strictly validating reader
 * (8-byte little-endian header length, a JSON header of string metadata and
 * tensor entries, then the raw little-endian tensors). The writer is atomic
 * (atomic_file.h): a locked temporary in the same directory, fsync'd, then
 * renamed over the target. The reader checks every entry (dtype, shape,
 * data_offsets in bounds, tensors tiling the data section with no gap or
 * overlap) before anything is read, so no read or allocation exceeds what the
 * file holds. The one reader of devo: model files (model_file.c) and state
 * files (state_file.c) are built on it, and the fuzz targets model_load and
 * state_load drive it. Private.
 */
#ifndef DEVO_SAFETENSORS_H
#define DEVO_SAFETENSORS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "devo.h"

typedef enum devo_st_dtype { DEVO_ST_F32 = 0, DEVO_ST_F64 = 1, DEVO_ST_I64 = 2 } devo_st_dtype;

/* One tensor to write: rank 1 (shape[0]) or 2 (shape[0] x shape[1]) elements of
 * `dtype` at `data` (native byte order; float, double or int64_t). */
typedef struct devo_st_tensor {
    const char *name;
    devo_st_dtype dtype;
    size_t rank;
    uint64_t shape[2];
    const void *data;
} devo_st_tensor;

/* Writes `count` tensors and the metadata (a JSON object of strings, borrowed) to path
 * atomically. `fn` names the caller in messages; DEVO_ERR_IO on a write failure. */
devo_status devo_st_write(const char *path, json_t *metadata, const devo_st_tensor *tensors,
                          size_t count, const char *fn);

/* The CRC-32 (zlib's) of the data section devo_st_write writes for these tensors: their
 * little-endian bytes in order. A state file keeps it in its metadata. */
uint32_t devo_st_crc32(const devo_st_tensor *tensors, size_t count);

/* An open, validated file. */
typedef struct devo_st_file {
    FILE *f;
    const char *path;    /* borrowed */
    json_t *root;        /* the header */
    json_t *meta;        /* root's "__metadata__": every value a string */
    uint64_t data_start; /* file offset of the data section */
    uint64_t data_bytes;
    size_t tensors;      /* tensor entries in the header */
} devo_st_file;

/* Opens and validates path; DEVO_ERR_IO when it cannot be read, DEVO_ERR_FORMAT naming the
 * problem otherwise. Close with devo_st_close (also after a failure). */
devo_status devo_st_open(devo_st_file *st, const char *path);
void devo_st_close(devo_st_file *st);

/* The CRC-32 of the open file's data section, read through once. */
devo_status devo_st_data_crc32(const devo_st_file *st, uint32_t *crc);

/* The metadata string `key`, or NULL. */
const char *devo_st_meta(const devo_st_file *st, const char *key);

/* DEVO_OK when tensor `name` exists with this dtype, rank and shape; DEVO_ERR_FORMAT naming
 * the tensor otherwise. */
devo_status devo_st_check(const devo_st_file *st, const char *name, devo_st_dtype dtype,
                          size_t rank, const uint64_t shape[2]);

/* Reads tensor `name` (devo_st_check first) into dst (native byte order). */
devo_status devo_st_read(const devo_st_file *st, const char *name, devo_st_dtype dtype,
                         size_t rank, const uint64_t shape[2], void *dst);

#endif /* DEVO_SAFETENSORS_H */
