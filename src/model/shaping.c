/*
 * shaping.c - centred ranks and NES utilities (see shaping.h).
 */
#include "shaping.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "selection.h"

devo_status devo_shaped_init(devo_shaped *s, size_t P, const char *who)
{
    s->P = P;
    s->u = malloc(P * sizeof *s->u);
    s->order = malloc(P * sizeof *s->order);
    s->scratch = malloc(P * sizeof *s->scratch);
    if (s->u && s->order && s->scratch) return DEVO_OK;
    devo_shaped_release(s);
    return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot allocate the fitness shaping of %zu",
                     who, P);
}

void devo_shaped_release(devo_shaped *s)
{
    free(s->u);
    free(s->order);
    free(s->scratch);
    s->u = NULL;
    s->order = s->scratch = NULL;
}

static int same_fitness(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* u[order[r]] = value(r) for ranks r = 0 (best) .. P-1, averaged over runs of tied fitness. */
static void shape(const double *fitness, devo_shaped *s,
                  double (*value)(size_t r, size_t P, double norm), double norm)
{
    size_t P = s->P, *order = s->order;
    double *u = s->u;
    devo_rank(fitness, P, order, s->scratch);
    for (size_t r0 = 0; r0 < P;) {
        size_t r1 = r0 + 1;
        while (r1 < P && same_fitness(fitness[order[r1]], fitness[order[r0]])) r1++;
        double sum = 0.0;
        for (size_t r = r0; r < r1; r++) sum += value(r, P, norm);
        for (size_t r = r0; r < r1; r++) u[order[r]] = sum / (double)(r1 - r0);
        r0 = r1;
    }
}

static double centered_rank(size_t r, size_t P, double norm)
{
    (void)norm;
    return (double)(P - 1 - r) / (double)(P - 1) - 0.5;
}

void devo_centered_ranks(const double *fitness, devo_shaped *s)
{
    shape(fitness, s, centered_rank, 0.0);
}

static double raw_utility(size_t r, size_t P)
{
    double value = log((double)P / 2.0 + 1.0) - log((double)r + 1.0);
    return value > 0.0 ? value : 0.0;
}

static double nes_utility(size_t r, size_t P, double norm)
{
    return raw_utility(r, P) / norm - 1.0 / (double)P;
}

void devo_nes_utilities(const double *fitness, devo_shaped *s)
{
    double norm = 0.0;
    for (size_t r = 0; r < s->P; r++) norm += raw_utility(r, s->P);
    shape(fitness, s, nes_utility, norm);
}
