/*
 * metrics.h - an individual's summed loss and count of right answers over a chunk of
 * samples, from its logits (forward.h's view). The usual classifier (softmax output,
 * categorical or sparse categorical cross-entropy) runs in vector loops over tiles of
 * rows, chosen by the processor's features; every other pair takes nn_math.h's per-sample
 * functions. Both give the same bits.
 */
#ifndef DEVO_METRICS_CPU_H
#define DEVO_METRICS_CPU_H

#include <stddef.h>

#include "isa.h"
#include "forward.h"

/* Rows per tile of the vector path, and the widest output row it takes. */
#define DEVO_METRICS_TILE_ROWS 16
#define DEVO_METRICS_TILE_OUTPUTS 64

/* Adds individual p's summed per-sample loss (if the model has one) and count of
 * correct samples over `rows` samples of the view; t is (rows, target width). */
void devo_cpu_accumulate_metrics(const devo_model *arch, devo_logits_view view, size_t p,
                                 size_t rows, const float *t, double *loss_sum, size_t *correct);

/* The tile kernel of at most `isa`, exposed for tests: for `rows` <= DEVO_METRICS_TILE_ROWS
 * rows of `outputs` (2 .. DEVO_METRICS_TILE_OUTPUTS) logits, row r at z + r * stride, writes
 * lse[r] = devo_log_sum_exp(row) and predicted[r] = devo_predicted_class(softmax, row). */
void devo_cpu_softmax_tile_isa(devo_cpu_isa isa, const float *z, size_t stride, size_t outputs,
                               size_t rows, double *lse, size_t *predicted);

#endif /* DEVO_METRICS_CPU_H */
