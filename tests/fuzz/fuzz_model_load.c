/*
 * fuzz_model_load.c - fuzz target: devo_model_load on arbitrary bytes. Any file
 * it accepts must save and load back to the same architecture and weights.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devo.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(0, data, size, 0);
    devo_model *m = NULL, *back = NULL;
    if (!path || devo_model_load(&m, path) != DEVO_OK) return 0;
    const char *again = fuzz_scratch_path(1);
    if (devo_model_save(m, again) != DEVO_OK || devo_model_load(&back, again) != DEVO_OK)
        abort(); // a loaded model is finite and valid: it must round-trip
    size_t count = devo_model_param_count(m);
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b);
    if (!a || !b || devo_model_param_count(back) != count ||
        devo_model_layer_count(back) != devo_model_layer_count(m) ||
        devo_model_loss(back) != devo_model_loss(m) ||
        devo_model_get_weights(m, a, count) != DEVO_OK ||
        devo_model_get_weights(back, b, count) != DEVO_OK || memcmp(a, b, count * sizeof *a) != 0)
        abort();
    free(a);
    free(b);
    devo_model_free(back);
    devo_model_free(m);
    return 0;
}
