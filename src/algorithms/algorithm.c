/*
 * algorithm.c - which algorithm runs a set of options, and what it asks of its device
 * (see algorithm.h).
 */
#include "algorithm.h"

#include <string.h>

#include "options.h"

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
}
