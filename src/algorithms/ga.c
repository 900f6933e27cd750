/*
 * ga.c - the seed's genetic algorithm as an algorithm (algorithm.h): truncation
 * selection of the top k, elites kept unchanged in slots 0..k-1, every child
 * made from a pair of elites by uniform crossover then Gaussian mutation
 * (SEED.md, with its fixes). It asks the device for a population of P rows and
 * for two operations: the first population, and the variation of a ranked one;
 * it keeps only the children's parent pairs, which never change.
 */
#include <stdlib.h>

#include "algorithm.h"
#include "error.h"
#include "rng.h"
#include "selection.h"

typedef struct ga_state {
    const devo_device_i *dev;
    void *dev_ctx;
    size_t P, k, D;
    size_t first_slot, slot_count; /* the slots past the elites the device holds */
    uint32_t *pairs; /* (P - k, 2): elite ranks of each child's parents */
} ga_state;

static void ga_configure(const devo_evolve_options *o, devo_device_config *cfg)
{
    cfg->population = o->population;
    cfg->top_k = o->top_k;
    cfg->init_std = (float)o->init_std;
    cfg->mutation_std = (float)o->mutation_std;
    cfg->mutation_threshold = devo_mutation_threshold(o->mutation_rate);
}

static void ga_destroy(void *state)
{
    ga_state *g = state;
    if (!g) return;
    free(g->pairs);
    free(g);
}

static devo_status ga_create(void **state, const devo_evolve_options *o,
                             const devo_device_config *cfg, const devo_device_i *dev,
                             void *dev_ctx)
{
    ga_state *g = calloc(1, sizeof *g);
    if (g) g->pairs = malloc((o->population - o->top_k + 1) * 2 * sizeof *g->pairs);
    if (!g || !g->pairs) {
        ga_destroy(g);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "ga: out of memory for %zu parent pairs",
                         o->population - o->top_k);
    }
    g->dev = dev;
    g->dev_ctx = dev_ctx;
    g->P = o->population;
    g->k = o->top_k;
    g->D = cfg->arch->param_count;
    g->first_slot = cfg->first_slot;
    g->slot_count = cfg->slot_count;
    devo_parent_pairs(g->k, g->P - g->k, g->pairs);
    *state = g;
    return DEVO_OK;
}

static devo_status ga_start(void *state, const float *w0)
{
    ga_state *g = state;
    return g->dev->init_population(g->dev_ctx, w0);
}

static devo_status ga_resume(void *state, const float *population, uint32_t generation)
{
    (void)generation;
    ga_state *g = state;
    if (!population) return devo_fail(DEVO_ERR_INTERNAL, "ga: a resumed run needs its population");
    // The elites, then the slots this process holds past them (all of them, alone).
    DEVO_TRY(g->dev->load_rows(g->dev_ctx, population, 0, g->k));
    return g->dev->load_rows(g->dev_ctx, population + g->first_slot * g->D, g->first_slot,
                             g->slot_count);
}

static devo_status ga_next(void *state, const double *fitness, const size_t *order,
                           uint32_t generation, size_t first, size_t count)
{
    (void)fitness;
    ga_state *g = state;
    return g->dev->vary(g->dev_ctx, order, g->pairs, generation, first, count);
}

static devo_status ga_answer(void *state, const size_t *order, float *dst)
{
    ga_state *g = state;
    return g->dev->copy_row(g->dev_ctx, order[0], dst);
}

static void ga_chain(void *state, const devo_sum_chain *chain)
{
    (void)state;
    (void)chain; // the GA sums nothing: its elites travel through load_rows
}

static size_t ga_list(void *state, devo_state_tensor *out)
{
    (void)state;
    (void)out;
    return 0; // the population and the ranking are the engine's: nothing else evolves
}

const devo_algorithm_i *devo_algorithm_ga(void)
{
    static const devo_algorithm_i ga = {
        .name = "ga",
        .has_center = 0,
        .keeps_elites = 1,
        .configure = ga_configure,
        .create = ga_create,
        .destroy = ga_destroy,
        .start = ga_start,
        .resume = ga_resume,
        .next = ga_next,
        .answer = ga_answer,
        .chain = ga_chain,
        .list = ga_list,
    };
    return &ga;
}
