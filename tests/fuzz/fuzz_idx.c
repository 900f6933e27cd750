/*
 * fuzz_idx.c - fuzz target: devo_dataset_load_idx on an arbitrary images and
 * labels pair, each plain or gzip. Input: a flags byte (bit 0: gzip the
 * images, bit 1: gzip the labels), a length byte pair (big-endian) for the
 * images part, the images bytes, then the labels bytes. Anything accepted must
 * hold pixels in [0, 1] and labels below devo_dataset_classes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "devo.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    size_t images_size = (size_t)data[1] << 8 | data[2];
    if (images_size > size - 3) images_size = size - 3;
    const uint8_t *images = data + 3, *labels = images + images_size;
    const char *images_path = fuzz_write_file(0, images, images_size, data[0] & 1);
    const char *labels_path =
        fuzz_write_file(1, labels, size - 3 - images_size, (data[0] >> 1) & 1);
    devo_dataset *d = NULL;
    if (!images_path || !labels_path ||
        devo_dataset_load_idx(&d, images_path, labels_path) != DEVO_OK)
        return 0;
    size_t n = devo_dataset_count(d), dim = devo_dataset_dim(d);
    const float *x = devo_dataset_x(d), *y = devo_dataset_y(d);
    for (size_t i = 0; i < n * dim; i++)
        if (!(x[i] >= 0.0f && x[i] <= 1.0f)) abort();
    for (size_t i = 0; i < n; i++)
        if (!(y[i] >= 0.0f && (size_t)y[i] < devo_dataset_classes(d))) abort();
    devo_dataset_free(d);
    return 0;
}
