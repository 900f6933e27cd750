/*
 * es_noise.h - the search directions of an evolution strategy for one
 * generation, drawn from the run's Philox (rng.h streams ES_NOISE and
 * LOW_RANK): full-rank, eps_d ~ N(0, I_D), or low-rank, where every dense
 * kernel's direction is A B^T / sqrt(r) with A (inputs, r) and B (units, r)
 * standard Gaussian (unit variance per weight, as full-rank) and every bias's
 * is full Gaussian noise. Also the population it implies, and the two sums a
 * strategy's update needs. Host reference code.
 *
 * A low-rank direction's factor vector (F floats) holds, layer by layer:
 * A (inputs, r) row-major, B^T (r, units) row-major, the bias noise (units).
 * Individual i = centre + sign * perturbation(d): on a kernel
 * sign * sigma[kernel_offset] / sqrt(r) * A B^T (one sigma per kernel), on a bias
 * (or any weight when full-rank) sign * sigma[j] * eps_j.
 */
#ifndef DEVO_ES_NOISE_H
#define DEVO_ES_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct devo_es_noise {
    const devo_model *arch; /* borrowed */
    size_t D, dirs, rank;   /* dirs: the directions held */
    size_t first;           /* the first one held (0 unless set after init; full rank only):
                               direction first + i is row i of eps */
    size_t factor_floats;   /* F: floats of one low-rank direction */
    size_t *offsets;        /* (layers): where layer l starts in a factor vector */
    float *eps;             /* rank 0: (dirs, D); rank r: (dirs, F) */
    int threads;
} devo_es_noise;

devo_status devo_es_noise_init(devo_es_noise *n, const devo_model *arch, size_t dirs,
                               size_t rank, int threads);
void devo_es_noise_release(devo_es_noise *n);

/* Draws the directions held of the population made after generation `generation` (0: the
 * first). */
devo_status devo_es_noise_draw(devo_es_noise *n, uint64_t seed, uint32_t generation);

/* Layer l's factors of direction d (rank >= 1): A (inputs, r), B^T (r, units), bias (units). */
const float *devo_es_factor_a(const devo_es_noise *n, size_t d, size_t l);
const float *devo_es_factor_bt(const devo_es_noise *n, size_t d, size_t l);
const float *devo_es_factor_bias(const devo_es_noise *n, size_t d, size_t l);

/* dst (D) = center + sign * perturbation of direction d (see above); center, sigma (D). */
void devo_es_materialise(const devo_es_noise *n, const float *center, const float *sigma,
                         size_t d, float sign, float *dst);

/* Full rank: s1 (D) += sum_d w_d eps_d and s2 (D) += sum_d v_d (eps_d^2 - 1) over the held
 * directions d >= from, in order (w and v indexed by direction): started at zero, or at the
 * sums of the directions before `from` (a process continuing the one before it). */
devo_status devo_es_noise_add_sums(const devo_es_noise *n, const float *w, const float *v,
                                   size_t from, float *s1, float *s2);

/* s1 (D) = sum_d w_d eps_d and s2 (D) = sum_d v_d (eps_d^2 - 1), w and v (dirs). Low-rank:
 * the kernel part of s1 is one GEMM, [A_1 .. A_dirs] diag(w) [B_1 .. B_dirs]^T / sqrt(r);
 * the kernel part of s2 is its mean over the kernel, sum_d v_d (|A_d B_d^T|^2 / (r N) - 1)
 * with N = inputs x units, so sigma stays one value per kernel. */
devo_status devo_es_noise_sums(const devo_es_noise *n, const float *w, const float *v, float *s1,
                               float *s2);

#endif /* DEVO_ES_NOISE_H */
