/*
 * algorithm.c - which algorithm runs a set of options, and what it asks of its device
 * (see algorithm.h).
 */
#include "algorithm.h"

#include <math.h>
#include <string.h>

#include "error.h"

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
    cfg->direction_count = cfg->directions;
}

/* The directions of the slots [first, first + count): [*d0, *d1). */
static void directions_of(const devo_device_config *cfg, size_t first, size_t count, size_t *d0,
                          size_t *d1)
{
    size_t per = cfg->antithetic ? 2 : 1;
    *d0 = first / per;
    *d1 = count ? (first + count - 1) / per + 1 : *d0;
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
    if (!cfg->directions || cfg->rank || count < 2) return; // low rank: every direction
    // A full-rank ES draws the directions of its slots, and sums those the process before it
    // does not (the first process's from 0: a pair's two slots may fall on two processes).
    size_t d0, d1, before = 0, unused, first, slots;
    directions_of(cfg, cfg->first_slot, cfg->slot_count, &d0, &d1);
    if (index > 0) {
        devo_algorithm_share(cfg, cfg->top_k, index - 1, count, &first, &slots);
        directions_of(cfg, first, slots, &unused, &before);
    }
    cfg->first_direction = d0;
    cfg->direction_count = d1 - d0;
    cfg->sum_first = before > d1 ? d1 : before;
    cfg->chained = 1;
}

devo_status devo_state_tensor_check(const devo_state_tensor *t, devo_status code,
                                    const char *where)
{
    for (size_t j = 0; t->f32 && j < t->length; j++) {
        float v = t->f32[j];
        if (!isfinite(v) || (t->bound == DEVO_STATE_NONNEGATIVE && v < 0.0f) ||
            (t->bound == DEVO_STATE_POSITIVE && !(v > 0.0f)))
            return devo_fail(code, "%s: tensor '%s' entry %zu is %g, not a finite value%s", where,
                             t->name, j, v,
                             t->bound == DEVO_STATE_POSITIVE      ? " > 0"
                             : t->bound == DEVO_STATE_NONNEGATIVE ? " >= 0"
                                                                  : "");
    }
    return DEVO_OK;
}
