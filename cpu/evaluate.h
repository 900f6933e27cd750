/*
 * evaluate.h - the CPU backend's fitness evaluation: population slots in blocks of a
 * size fixed by the architecture and counted from slot 0, whose first layers are one packed
 * GEMM of the full block width (narrower only for the population's last slots), and sample
 * chunks of batch_size; (chunk, block) pairs are spread over threads. GEMM shapes, each
 * individual's column position and the chunk-order sum of each chunk's loss and hit counts
 * depend neither on the thread count nor on the range of slots evaluated (an MPI rank's
 * share), so neither does any fitness (bitwise). In BF16 the GEMMs are forward.h's BF16
 * ones, each on one thread, with the same shapes: exact across threads there too.
 */
#ifndef DEVO_EVALUATE_CPU_H
#define DEVO_EVALUATE_CPU_H

#include "bf16.h"
#include "model.h"

typedef struct devo_cpu_evaluator devo_cpu_evaluator;

/* What a BF16 evaluation reads besides the FP32 rows (whose biases it adds): the rows w
 * (count, D) and the samples x (n, inputs), rounded to BF16. */
typedef struct devo_cpu_bf16_rows {
    const devo_bf16 *w, *x;
} devo_cpu_bf16_rows;

/* An evaluator for a population of `population` slots of arch's architecture;
 * threads 0 = all cores; precision FP32 or BF16 (DEVO_ERR_UNSUPPORTED where this CPU has no
 * BF16 GEMMs, and for TF32). arch is borrowed for the evaluator's life. */
devo_status devo_cpu_evaluator_create(devo_cpu_evaluator **out, const devo_model *arch,
                                      size_t population, size_t batch_size, int threads,
                                      devo_precision precision);
void devo_cpu_evaluator_free(devo_cpu_evaluator *e);

/* fitness (count) of the individuals w (count, D), in population slots [first, first + count)
 * (first + count <= the evaluator's population), on x (n, inputs) and y (n, target
 * width): on the rows listed in rows (samples of them), or on the first `samples`
 * rows when rows is NULL. kind: minus the mean loss, or the accuracy. A BF16 evaluator also
 * reads bf16's rounded rows and samples (NULL in FP32). */
devo_status devo_cpu_evaluate(devo_cpu_evaluator *e, const float *w, size_t first, size_t count,
                              const float *x, const float *y, const size_t *rows, size_t samples,
                              devo_fitness kind, double *fitness, const devo_cpu_bf16_rows *bf16);

/* outputs (count, samples, outputs) = the activated outputs of the individuals w (count, D)
 * in slots [0, count) on x (samples, inputs): the same forward pass as devo_cpu_evaluate's
 * (bf16 as there). */
devo_status devo_cpu_predict(devo_cpu_evaluator *e, const float *w, size_t count,
                             const float *x, size_t samples, float *outputs,
                             const devo_cpu_bf16_rows *bf16);

/* The thread count `threads` asks for (0 = all cores). */
int devo_cpu_thread_count(int threads);

#endif /* DEVO_EVALUATE_CPU_H */
