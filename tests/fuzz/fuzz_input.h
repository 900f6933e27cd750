/*
 * fuzz_input.h - helpers the fuzz targets share: reading bounded numbers from
 * the fuzz bytes, and writing bytes to a per-process scratch file (the
 * loaders take paths).
 */
#ifndef DEVO_FUZZ_INPUT_H
#define DEVO_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, used;
} fuzz_input;

/* The next byte (0 once the input is used up). */
uint8_t fuzz_byte(fuzz_input *in);

/* A number in [lo, hi] from the next byte. */
size_t fuzz_range(fuzz_input *in, size_t lo, size_t hi);

/* The next 4 bytes as a float's bits: any float, NaN and Inf included. */
float fuzz_float(fuzz_input *in);

/* The path of scratch file `slot` (0..3) of this process, removed at exit; static storage. */
const char *fuzz_scratch_path(int slot);

/* Writes size bytes to scratch file `slot` (gzip-compressed when gzip != 0); returns its
 * path, or NULL. */
const char *fuzz_write_file(int slot, const uint8_t *data, size_t size, int gzip);

#endif /* DEVO_FUZZ_INPUT_H */
