/*
 * selection.c - ranking, the parent-pair table and elite statistics (see selection.h).
 */
#include "selection.h"

#include <math.h>
#include <string.h>

int devo_ranks_before(double fa, size_t a, double fb, size_t b)
{
    int a_nan = isnan(fa), b_nan = isnan(fb);
    if (a_nan != b_nan) return b_nan;
    if (!a_nan && fa != fb) return fa > fb;
    return a < b;
}

void devo_rank(const double *fitness, size_t P, size_t *order, size_t *scratch)
{
    // Bottom-up merge sort of the indices: O(P log P), no recursion.
    for (size_t i = 0; i < P; i++) order[i] = i;
    size_t *src = order, *dst = scratch;
    for (size_t width = 1; width < P; width *= 2) {
        for (size_t lo = 0; lo < P; lo += 2 * width) {
            size_t mid = lo + width < P ? lo + width : P;
            size_t hi = lo + 2 * width < P ? lo + 2 * width : P;
            size_t i = lo, j = mid, out = lo;
            while (i < mid && j < hi) {
                size_t a = src[i], b = src[j];
                dst[out++] = devo_ranks_before(fitness[b], b, fitness[a], a) ? src[j++] : src[i++];
            }
            while (i < mid) dst[out++] = src[i++];
            while (j < hi) dst[out++] = src[j++];
        }
        size_t *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != order) memcpy(order, src, P * sizeof *order);
}

void devo_parent_pairs(size_t top_k, size_t children, uint32_t *pairs)
{
    size_t i = 0, j = 0;
    for (size_t c = 0; c < children; c++) {
        pairs[2 * c] = (uint32_t)i;
        pairs[2 * c + 1] = (uint32_t)j;
        if (++j == top_k) {
            j = ++i;
            if (i == top_k) i = j = 0;
        }
    }
}

void devo_elite_stats(const double *fitness, const size_t *order, size_t P, size_t top_k,
                      devo_generation_stats *stats)
{
    double sum = 0.0;
    for (size_t r = 0; r < top_k; r++) sum += fitness[order[r]];
    double mean = sum / (double)top_k, squares = 0.0;
    for (size_t r = 0; r < top_k; r++) {
        double d = fitness[order[r]] - mean;
        squares += d * d;
    }
    stats->best = fitness[order[0]];
    stats->mean = mean;
    stats->std = top_k > 1 ? sqrt(squares / (double)(top_k - 1)) : 0.0;
    double population_sum = 0.0;
    size_t finite = 0;
    for (size_t i = 0; i < P; i++) {
        if (isnan(fitness[i])) continue;
        population_sum += fitness[i];
        finite++;
    }
    stats->population_mean = finite ? population_sum / (double)finite : NAN;
}
