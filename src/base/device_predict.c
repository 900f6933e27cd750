/*
 * device_predict.c - predict through forward (see device_predict.h).
 */
#include "device_predict.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

devo_status devo_predict_by_forward(devo_status (*forward)(void *, const float *, size_t,
                                                           float *),
                                    void *ctx, size_t P, size_t inputs, size_t outputs,
                                    size_t chunk, const float *x, size_t n, float *y)
{
    if (chunk > n) chunk = n;
    if (chunk == 0) return DEVO_OK;
    if (P > SIZE_MAX / sizeof(float) / chunk / (inputs + outputs))
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "predict: %zu individuals x %zu samples do not "
                                                 "fit in memory", P, chunk);
    float *repeated = malloc(P * chunk * inputs * sizeof(float)); // (P, chunk, inputs)
    float *out = malloc(P * chunk * outputs * sizeof(float));     // (P, chunk, outputs)
    devo_status status = repeated && out ? DEVO_OK
                                         : devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                                                     "predict: cannot allocate %zu x %zu samples",
                                                     P, chunk);
    for (size_t s0 = 0; status == DEVO_OK && s0 < n; s0 += chunk) {
        size_t rows = n - s0 < chunk ? n - s0 : chunk;
        for (size_t p = 0; p < P; p++)
            memcpy(repeated + p * rows * inputs, x + s0 * inputs, rows * inputs * sizeof(float));
        status = forward(ctx, repeated, rows, out);
        for (size_t p = 0; status == DEVO_OK && p < P; p++)
            memcpy(y + (p * n + s0) * outputs, out + p * rows * outputs,
                   rows * outputs * sizeof(float));
    }
    free(repeated);
    free(out);
    return status;
}
