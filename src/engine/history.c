/*
 * history.c - devo_history_free and the growable history (see history.h).
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void devo_history_free(devo_history *h)
{
    if (!h) return;
    free(h->best);
    free(h->mean);
    free(h->std);
    free(h->population_mean);
    free(h->best_ever);
    free(h->evaluations);
    free(h->seconds);
    free(h->center);
    memset(h, 0, sizeof *h);
}

/* Grows column h->field to `want` entries, or fails leaving it as it was. */
#define GROW(field)                                                                            \
    do {                                                                                       \
        void *bigger_ = realloc(h->field, want * sizeof *h->field);                            \
        if (!bigger_) return out_of_memory(want);                                              \
        h->field = bigger_;                                                                    \
    } while (0)

static devo_status out_of_memory(size_t want)
{
    return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cannot grow the history to %zu generations", want);
}

devo_status devo_history_reserve(devo_history *h, size_t *capacity, size_t count)
{
    if (count <= *capacity) return DEVO_OK;
    size_t want = *capacity * 2 > count ? *capacity * 2 : count;
    if (want < 16) want = 16;
    // Each column grows on its own; a failure leaves every column at least *capacity long.
    GROW(best);
    GROW(mean);
    GROW(std);
    GROW(population_mean);
    GROW(best_ever);
    GROW(evaluations);
    GROW(seconds);
    GROW(center);
    *capacity = want;
    return DEVO_OK;
}

void devo_history_append(devo_history *h, const devo_generation_stats *s)
{
    size_t g = h->generations++;
    h->best[g] = s->best;
    h->mean[g] = s->mean;
    h->std[g] = s->std;
    h->population_mean[g] = s->population_mean;
    h->best_ever[g] = s->best_ever;
    h->evaluations[g] = s->evaluations;
    h->seconds[g] = s->seconds;
    h->center[g] = s->center;
}

void devo_history_row(const devo_history *h, size_t g, devo_generation_stats *s)
{
    memset(s, 0, sizeof *s);
    s->generation = g + 1;
    s->best = h->best[g];
    s->mean = h->mean[g];
    s->std = h->std[g];
    s->population_mean = h->population_mean[g];
    s->best_ever = h->best_ever[g];
    s->evaluations = h->evaluations[g];
    s->seconds = h->seconds[g];
    s->center = h->center[g];
}

devo_status devo_history_copy(devo_history *dst, const devo_history *src)
{
    devo_history_free(dst);
    size_t capacity = 0;
    DEVO_TRY(devo_history_reserve(dst, &capacity, src->generations));
    devo_generation_stats s;
    for (size_t g = 0; g < src->generations; g++) {
        devo_history_row(src, g, &s);
        devo_history_append(dst, &s);
    }
    return DEVO_OK;
}
