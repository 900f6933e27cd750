/*
 * evaluate_cpu.h - the CPU backend's fitness evaluation: individuals in blocks of a
 * size fixed by the architecture, whose first layers are one packed GEMM, and sample
 * chunks of batch_size; (chunk, block) pairs are spread over threads. GEMM shapes and
 * the chunk-order sum of each chunk's loss and hit counts do not depend on the thread
 * count, so neither does any fitness (bitwise).
 */
#ifndef DEVO_EVALUATE_CPU_H
#define DEVO_EVALUATE_CPU_H

#include "model.h"

typedef struct devo_cpu_evaluator devo_cpu_evaluator;

/* An evaluator for up to `population` individuals of arch's architecture;
 * threads 0 = all cores. arch is borrowed for the evaluator's life. */
devo_status devo_cpu_evaluator_create(devo_cpu_evaluator **out, const devo_model *arch,
                                      size_t population, size_t batch_size, int threads);
void devo_cpu_evaluator_free(devo_cpu_evaluator *e);

/* fitness (count) of the individuals w (count, D) on x (n, inputs) and y (n, target
 * width): on the rows listed in rows (samples of them), or on the first `samples`
 * rows when rows is NULL. kind: minus the mean loss, or the accuracy. */
devo_status devo_cpu_evaluate(devo_cpu_evaluator *e, const float *w, size_t count, const float *x,
                              const float *y, const size_t *rows, size_t samples,
                              devo_fitness kind, double *fitness);

/* The thread count `threads` asks for (0 = all cores). */
int devo_cpu_thread_count(int threads);

#endif /* DEVO_EVALUATE_CPU_H */
