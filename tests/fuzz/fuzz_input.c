/*
 * fuzz_input.c - the fuzz targets' shared helpers (see fuzz_input.h).
 */
#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

uint8_t fuzz_byte(fuzz_input *in) { return in->used < in->size ? in->data[in->used++] : 0; }

size_t fuzz_range(fuzz_input *in, size_t lo, size_t hi)
{
    return lo + fuzz_byte(in) % (hi - lo + 1);
}

float fuzz_float(fuzz_input *in)
{
    uint32_t bits = 0;
    for (int i = 0; i < 4; i++) bits = bits << 8 | fuzz_byte(in);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static char paths[4][64];

static void remove_files(void)
{
    for (int slot = 0; slot < 4; slot++)
        if (paths[slot][0]) unlink(paths[slot]);
}

const char *fuzz_scratch_path(int slot)
{
    static int registered;
    if (!registered) registered = atexit(remove_files) == 0;
    // Memory-backed when possible: files are rewritten for every input, and saves fsync.
    const char *dir = getenv("TMPDIR");
    if (!dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(paths[slot], sizeof paths[slot], "%.32s/devo-fuzz-%ld-%d", dir, (long)getpid(), slot);
    return paths[slot];
}

const char *fuzz_write_file(int slot, const uint8_t *data, size_t size, int gzip)
{
    const char *path = fuzz_scratch_path(slot);
    unlink(path); // a new file, not a truncated one (ext4 flushes those on close)
    int ok;
    if (gzip) {
        gzFile f = gzopen(path, "wb1");
        ok = f && (size == 0 || gzwrite(f, data, (unsigned)size) == (int)size);
        if (f && gzclose(f) != Z_OK) ok = 0;
    } else {
        FILE *f = fopen(path, "wb");
        ok = f && (size == 0 || fwrite(data, 1, size, f) == size);
        if (f && fclose(f) != 0) ok = 0;
    }
    return ok ? path : NULL;
}
