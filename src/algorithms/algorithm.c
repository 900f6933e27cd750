/*
 * algorithm.c - which algorithm runs a set of options, and what it asks of its device
 * (see algorithm.h).
 */
#include "algorithm.h"

#include <string.h>

#include "options.h"
#include "share.h"

const devo_algorithm_i *devo_algorithm_for(const devo_evolve_options *o)
{
    return o->strategy == DEVO_STRATEGY_GA ? devo_algorithm_ga() : devo_algorithm_es();
}

void devo_algorithm_device_config(const devo_evolve_options *o, const devo_model *arch,
                                  devo_device_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->arch = arch;
    cfg->seed = o->seed;
    cfg->fitness = o->fitness;
    cfg->batch_size = o->batch_size;
    cfg->threads = o->threads;
    cfg->precision = o->precision;
    cfg->device = devo_options_device();
    devo_algorithm_for(o)->configure(o, cfg);
    cfg->first_slot = cfg->top_k;
    cfg->slot_count = cfg->population - cfg->top_k;
}

void devo_algorithm_share(const devo_device_config *cfg, size_t from, int index, int count,
                          size_t *first, size_t *slots)
{
    size_t k = cfg->top_k;
    devo_share(cfg->population - k, count, index, first, slots);
    *first += k;
    if (index == 0 && from < k) { // the first process also evaluates [from, top_k)
        *slots += *first - from;
        *first = from;
    }
}

void devo_algorithm_device_part(devo_device_config *cfg, int index, int count)
{
    devo_algorithm_share(cfg, cfg->top_k, index, count, &cfg->first_slot, &cfg->slot_count);
    cfg->received_rows = count > 1 ? cfg->top_k : 0;
}
