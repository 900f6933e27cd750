/*
 * variation.h - the CPU reference of variation: the first population and
 * one child (uniform crossover by selection, then Gaussian mutation), drawn on
 * the counter layout of rng.h. The CUDA variation kernel must match it.
 */
#ifndef DEVO_VARIATION_CPU_H
#define DEVO_VARIATION_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "bf16.h"
#include "isa.h"

/* pop is (P, D): row 0 = w0 unchanged, row i > 0 = w0 + init_std * N(0,1) drawn from
 * stream INIT_NOISE, generation 0, individual i. */
void devo_cpu_init_population(float *pop, size_t P, size_t D, const float *w0, float init_std,
                              uint64_t seed);

/* rows (count, D) = slots [first, first + count) of devo_cpu_init_population's population;
 * rows16 (count, D), unless NULL, the same rounded to BF16 as each tile is made. */
void devo_cpu_init_slots(float *rows, devo_bf16 *rows16, size_t first, size_t count, size_t D,
                         const float *w0, float init_std, uint64_t seed);

/* devo_cpu_init_population with the kernels of at most instruction set `isa` (capped at what
 * the processor runs): the same population, bit for bit, from every one. */
void devo_cpu_init_population_isa(devo_cpu_isa isa, float *pop, size_t P, size_t D,
                                  const float *w0, float init_std, uint64_t seed);

/* child (D) for population slot `slot` of the generation made after generation
 * `generation`: element e comes from parent_i when its CROSSOVER bit is set, else
 * from parent_j (selected, never blended), then gets mutation_std * N(0,1) added
 * when its MUTATE_MASK word is below `threshold` (devo_mutation_threshold). */
void devo_cpu_make_child(float *child, const float *parent_i, const float *parent_j, size_t D,
                         uint64_t seed, uint32_t generation, uint32_t slot, uint64_t threshold,
                         float mutation_std);

/* devo_cpu_make_child that also writes child16 (D), the child rounded to BF16, tile by tile
 * as the child's tiles are made (a BF16 run's GEMM operands). */
void devo_cpu_make_child_bf16(float *child, devo_bf16 *child16, const float *parent_i,
                              const float *parent_j, size_t D, uint64_t seed,
                              uint32_t generation, uint32_t slot, uint64_t threshold,
                              float mutation_std);

/* devo_cpu_make_child with the kernels of at most instruction set `isa` (capped at what the
 * processor runs): the same child, bit for bit, from every one. */
void devo_cpu_make_child_isa(devo_cpu_isa isa, float *child, const float *parent_i,
                             const float *parent_j, size_t D, uint64_t seed, uint32_t generation,
                             uint32_t slot, uint64_t threshold, float mutation_std);

#endif /* DEVO_VARIATION_CPU_H */
