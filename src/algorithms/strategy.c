/*
 * strategy.c - the table of evolution strategies and the checks of their
 * options (see strategy.h).
 */
#include "strategy.h"

#include <float.h>
#include <math.h>

#include "error.h"

const devo_strategy_i *devo_strategy_table(devo_strategy strategy)
{
    switch (strategy) {
    case DEVO_STRATEGY_OPENAI_ES: return devo_strategy_openai_es();
    case DEVO_STRATEGY_PGPE: return devo_strategy_pgpe();
    case DEVO_STRATEGY_SNES: return devo_strategy_snes();
    case DEVO_STRATEGY_GA: break;
    }
    return NULL;
}

/* An option the strategies use as a float: 0 (the strategy's default) or a float that is
 * neither 0 nor infinite (1e-300 would be 0 as a float, 1e39 infinite). */
static devo_status check_nonnegative(double value, const char *name, const char *fn)
{
    if (!isfinite(value) || value < 0.0 || value > FLT_MAX ||
        (value > 0.0 && !((float)value > 0.0f)))
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: %s must be 0 for the strategy's default, or in [%g, %g] to be a "
                         "nonzero finite float (got %g)", fn, name, (double)FLT_TRUE_MIN,
                         (double)FLT_MAX, value);
    return DEVO_OK;
}

devo_status devo_strategy_check(const devo_evolve_options *o, const devo_model *m,
                                const char *fn)
{
    if ((unsigned)o->strategy > DEVO_STRATEGY_SNES)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: unknown strategy %d", fn,
                         (int)o->strategy);
    DEVO_TRY(check_nonnegative(o->learning_rate, "learning_rate", fn));
    DEVO_TRY(check_nonnegative(o->sigma, "sigma", fn));
    DEVO_TRY(check_nonnegative(o->weight_decay, "weight_decay", fn));
    DEVO_TRY(check_nonnegative(o->sigma_final, "sigma_final", fn));
    const devo_strategy_i *s = devo_strategy_table(o->strategy);
    if (!s) return DEVO_OK;
    if (s->antithetic && o->population % 2 != 0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: population must be even for %s, whose individuals come in "
                         "antithetic pairs (got %zu)", fn, s->name, o->population);
    for (size_t l = 0; l < m->layer_count; l++) {
        const devo_layer *layer = &m->layers[l];
        size_t widest = layer->inputs < layer->units ? layer->inputs : layer->units;
        if (o->perturbation_rank > widest)
            return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                             "%s: perturbation_rank %zu exceeds layer %zu's min(inputs, units) "
                             "= %zu", fn, o->perturbation_rank, l, widest);
    }
    return DEVO_OK;
}

_Static_assert(3 + DEVO_STRATEGY_STATE_MAX <= DEVO_ALGORITHM_STATE_MAX,
               "an ES's state listing fits an algorithm's");

size_t devo_es_state_list(const devo_strategy_i *strategy, void *state, float *center,
                          float *sigma, uint64_t *told, size_t D, devo_state_tensor *out)
{
    out[0] = (devo_state_tensor){"es/center", center, D, NULL, DEVO_STATE_FINITE};
    out[1] = (devo_state_tensor){"es/sigma", sigma, D, NULL, DEVO_STATE_POSITIVE};
    out[2] = (devo_state_tensor){"es/told", NULL, 1, told, DEVO_STATE_FINITE};
    return 3 + strategy->state(state, out + 3);
}
