/*
 * device_predict.h - a device's predict (every individual on the same inputs) made of its
 * forward (every individual on its own inputs): the inputs repeated for each individual, a
 * chunk of samples at a time. For populations whose device has no shared-input path (a
 * low-rank ES's factors, the CUDA device); the CPU's full-rank rows take evaluate.c's.
 */
#ifndef DEVO_DEVICE_PREDICT_H
#define DEVO_DEVICE_PREDICT_H

#include "device.h"

/* y (P, n, outputs) = forward(ctx, ...) of x (n, inputs) given to each of the P individuals,
 * `chunk` samples per forward call (work space: P x chunk x (inputs + outputs) floats). */
devo_status devo_predict_by_forward(devo_status (*forward)(void *, const float *, size_t,
                                                           float *),
                                    void *ctx, size_t P, size_t inputs, size_t outputs,
                                    size_t chunk, const float *x, size_t n, float *y);

#endif /* DEVO_DEVICE_PREDICT_H */
