/*
 * shaping.h - fitness shaping of the evolution strategies: the fitness is
 * replaced by a function of its rank, so that a step does not depend on the
 * fitness' scale. Tied fitnesses (NaN ties with NaN, below every number) share
 * the mean of their shaped values, so a constant fitness shapes to all zeros.
 */
#ifndef DEVO_SHAPING_H
#define DEVO_SHAPING_H

#include <stddef.h>

#include "devo.h"

/* The shaped fitness of a population of P and the ranking's work space. */
typedef struct devo_shaped {
    size_t P;
    double *u;                /* (P): the shaped fitness */
    size_t *order, *scratch;  /* (P) each */
} devo_shaped;

/* Allocates for P individuals; `who` names the owner in the out-of-memory message. */
devo_status devo_shaped_init(devo_shaped *s, size_t P, const char *who);
void devo_shaped_release(devo_shaped *s);

/* Centred ranks (Salimans et al. 2017): s->u_i = rank_i / (P - 1) - 0.5 with rank 0 the
 * worst, P - 1 the best; in [-0.5, 0.5], summing to 0. */
void devo_centered_ranks(const double *fitness, devo_shaped *s);

/* NES utilities (Wierstra et al. 2014): the k-th best (k = 1..P) gets
 * max(0, ln(P/2 + 1) - ln k) / sum_j max(0, ln(P/2 + 1) - ln j) - 1/P; sums to 0. */
void devo_nes_utilities(const double *fitness, devo_shaped *s);

#endif /* DEVO_SHAPING_H */
