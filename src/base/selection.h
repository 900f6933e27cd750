/*
 * selection.h - truncation selection as SEED.md states it, with its fixes:
 * ranking (best first, NaN last, ties by index), the parent-pair table of the
 * children, and the statistics of a generation's elites. Host reference code;
 * the CUDA backend's device sort must give the same order.
 */
#ifndef DEVO_SELECTION_H
#define DEVO_SELECTION_H

#include <stddef.h>
#include <stdint.h>

#include "devo.h"

/* Nonzero when individual a (fitness fa) ranks before individual b (fitness fb):
 * higher fitness first, NaN after every number, equal fitness by lower index. */
int devo_ranks_before(double fa, size_t a, double fb, size_t b);

/* order (P) receives 0..P-1 sorted by devo_ranks_before; scratch holds P entries. */
void devo_rank(const double *fitness, size_t P, size_t *order, size_t *scratch);

/* The parents of `children` children from top_k elites: the pairs (i, j), i <= j,
 * in the order (0,0),(0,1)..(0,k-1),(1,1)..(k-1,k-1), cycling through that list
 * when more children are needed. pairs is (children, 2), elite ranks. */
void devo_parent_pairs(size_t top_k, size_t children, uint32_t *pairs);

/* Fills best, mean, std (ddof=1, 0 for one elite) of the top_k elites and the
 * population mean over non-NaN fitnesses; leaves the other fields alone. */
void devo_elite_stats(const double *fitness, const size_t *order, size_t P, size_t top_k,
                      devo_generation_stats *stats);

#endif /* DEVO_SELECTION_H */
