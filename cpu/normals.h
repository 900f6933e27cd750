/*
 * normals.h - a run of standard normals on rng.h's layout, drawn by vector kernels: the
 * evolution strategies' directions (es_noise.c, streams ES_NOISE and LOW_RANK). Element e is
 * normal e % 4 of devo_block_normals(devo_rng_block(seed, stream, generation, individual,
 * e / 4)), bitwise, on every instruction set. Not for the GA's variation (variation.c),
 * which draws its normals inside its own tiles.
 */
#ifndef DEVO_NORMALS_CPU_H
#define DEVO_NORMALS_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "isa.h"
#include "rng.h"

/* out (n) = the first n normals of (seed, stream, generation, individual), n < 2^34. */
void devo_cpu_normals(float *out, size_t n, uint64_t seed, devo_rng_stream stream,
                      uint32_t generation, uint32_t individual);

/* devo_cpu_normals with the kernel of at most instruction set `isa` (capped at what the
 * processor runs): the same floats, bit for bit, from every one. */
void devo_cpu_normals_isa(devo_cpu_isa isa, float *out, size_t n, uint64_t seed,
                          devo_rng_stream stream, uint32_t generation, uint32_t individual);

#endif /* DEVO_NORMALS_CPU_H */
