/*
 * snes.c - separable natural evolution strategies (Schaul, Glasmachers
 * and Schmidhuber 2011, "High dimensions and heavy tails for natural evolution
 * strategies", algorithm SNES). P independent directions eps_i, NES utilities u_i:
 *   grad_mu    = sum_i u_i eps_i
 *   grad_sigma = sum_i u_i (eps_i^2 - 1)
 *   centre    += eta_mu sigma o grad_mu - eta_mu weight_decay centre
 *   sigma     *= exp(eta_sigma / 2 grad_sigma),  eta_sigma = (3 + ln D) / (5 sqrt D)
 * with eta_mu the learning rate (1 in the paper) times the schedule's factor.
 */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "shaping.h"
#include "strategy.h"

typedef struct snes {
    devo_strategy_config cfg;
    devo_shaped shaped; /* the fitness as centred ranks or utilities */
} snes;

static void snes_destroy(void *state)
{
    snes *s = state;
    if (!s) return;
    devo_shaped_release(&s->shaped);
    free(s);
}

static devo_status snes_create(void **state, const devo_strategy_config *cfg)
{
    snes *s = calloc(1, sizeof *s);
    if (!s) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "snes: out of memory");
    s->cfg = *cfg;
    devo_status status = devo_shaped_init(&s->shaped, cfg->P, "snes");
    if (status != DEVO_OK) {
        snes_destroy(s);
        return status;
    }
    *state = s;
    return DEVO_OK;
}

static void snes_weigh(void *state, const double *fitness, float *w, float *v)
{
    snes *s = state;
    devo_nes_utilities(fitness, &s->shaped);
    const double *u = s->shaped.u;
    for (size_t i = 0; i < s->cfg.P; i++) w[i] = v[i] = (float)u[i];
}

static void snes_update(void *state, float *center, float *sigma, const float *s1,
                        const float *s2, double scale)
{
    snes *s = state;
    size_t D = s->cfg.D;
    double eta_mu = s->cfg.learning_rate * scale;
    double eta_sigma = (3.0 + log((double)D)) / (5.0 * sqrt((double)D));
    for (size_t j = 0; j < D; j++) {
        center[j] += (float)(eta_mu * ((double)sigma[j] * s1[j] -
                                       s->cfg.weight_decay * center[j]));
        sigma[j] = (float)(sigma[j] * exp(eta_sigma / 2.0 * s2[j]));
    }
}

/* SNES keeps nothing beyond the centre and sigma. */
static size_t snes_state(void *state, devo_state_tensor *out)
{
    (void)state;
    (void)out;
    return 0;
}

const devo_strategy_i *devo_strategy_snes(void)
{
    static const devo_strategy_i table = {
        .name = "snes",
        .antithetic = 0,
        .default_learning_rate = 1.0,
        .default_sigma = 0.05,
        .create = snes_create,
        .destroy = snes_destroy,
        .weigh = snes_weigh,
        .update = snes_update,
        .state = snes_state,
    };
    return &table;
}
