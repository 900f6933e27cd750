/*
 * pgpe.c - PGPE (Sehnke et al. 2010, "Parameter-exploring policy
 * gradients") with symmetric sampling and per-parameter sigma, its centre moved
 * by ClipUp (Toklu et al. 2020): the recipe of EvoTorch and EvoJAX. With N = P/2
 * pairs centre + sigma o eps_d, centre - sigma o eps_d and centred ranks u+-:
 *   grad_mu    = 1/N sum_d (u+ - u-)/2 sigma o eps_d
 *   grad_sigma = 1/N sum_d ((u+ + u-)/2 - mean u) sigma o (eps_d^2 - 1)
 *   ClipUp: velocity = 0.9 velocity + step grad_mu / |grad_mu|, clipped to
 *           |velocity| <= 2 step; centre += velocity
 *   weight decay, decoupled (as AdamW's): centre -= step weight_decay centre (inside
 *           ClipUp's normalised gradient it took over the step wherever sigma shrank)
 *   sigma += 0.1 grad_sigma, each sigma kept within 20% of its value.
 */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "shaping.h"
#include "strategy.h"

#define CLIPUP_MOMENTUM 0.9
#define CLIPUP_MAX_SPEED_RATIO 2.0
#define SIGMA_LEARNING_RATE 0.1
#define SIGMA_MAX_CHANGE 0.2

typedef struct pgpe {
    devo_strategy_config cfg;
    devo_shaped shaped; /* the fitness as centred ranks or utilities */
    float *velocity;         /* (D) ClipUp's */
    float *grad;             /* (D) grad_mu */
} pgpe;

static void pgpe_destroy(void *state)
{
    pgpe *s = state;
    if (!s) return;
    devo_shaped_release(&s->shaped);
    free(s->velocity);
    free(s->grad);
    free(s);
}

static devo_status pgpe_create(void **state, const devo_strategy_config *cfg)
{
    pgpe *s = calloc(1, sizeof *s);
    if (!s) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "pgpe: out of memory");
    s->cfg = *cfg;
    s->velocity = calloc(cfg->D, sizeof *s->velocity);
    s->grad = malloc(cfg->D * sizeof *s->grad);
    devo_status status = devo_shaped_init(&s->shaped, cfg->P, "pgpe");
    if (status == DEVO_OK && (!s->velocity || !s->grad))
        status = devo_fail(DEVO_ERR_OUT_OF_MEMORY, "pgpe: cannot allocate its state");
    if (status != DEVO_OK) {
        pgpe_destroy(s);
        return status;
    }
    *state = s;
    return DEVO_OK;
}

static void pgpe_weigh(void *state, const double *fitness, float *w, float *v)
{
    pgpe *s = state;
    size_t pairs = s->cfg.P / 2;
    devo_centered_ranks(fitness, &s->shaped);
    const double *u = s->shaped.u;
    // Centred ranks have mean 0: the baseline drops out.
    for (size_t d = 0; d < pairs; d++) {
        double plus = u[2 * d], minus = u[2 * d + 1];
        w[d] = (float)((plus - minus) / 2.0 / (double)pairs);
        v[d] = (float)((plus + minus) / 2.0 / (double)pairs);
    }
}

/* ClipUp (Toklu et al. 2020, algorithm 1): a normalised step with heavy-ball momentum and a
 * speed limit. Moves center (D) along grad (D). */
void devo_clipup_step(float *center, float *velocity, const float *grad, size_t D, double step)
{
    double norm = 0.0;
    for (size_t j = 0; j < D; j++) norm += (double)grad[j] * grad[j];
    norm = sqrt(norm);
    double speed = 0.0;
    for (size_t j = 0; j < D; j++) {
        double g = norm > 0.0 ? grad[j] / norm : 0.0;
        velocity[j] = (float)(CLIPUP_MOMENTUM * velocity[j] + step * g);
        speed += (double)velocity[j] * velocity[j];
    }
    speed = sqrt(speed);
    double max_speed = CLIPUP_MAX_SPEED_RATIO * step;
    double clip = speed > max_speed ? max_speed / speed : 1.0;
    for (size_t j = 0; j < D; j++) {
        velocity[j] = (float)(velocity[j] * clip);
        center[j] += velocity[j];
    }
}

static void pgpe_update(void *state, float *center, float *sigma, const float *s1,
                        const float *s2, double scale)
{
    pgpe *s = state;
    size_t D = s->cfg.D;
    double step = s->cfg.learning_rate * scale;
    for (size_t j = 0; j < D; j++) s->grad[j] = (float)((double)sigma[j] * s1[j]);
    devo_clipup_step(center, s->velocity, s->grad, D, step);
    for (size_t j = 0; j < D; j++) // decoupled: outside ClipUp's normalised step
        center[j] = (float)(center[j] - step * s->cfg.weight_decay * center[j]);
    for (size_t j = 0; j < D; j++) {
        double old = sigma[j], grad_sigma = old * s2[j];
        double next = old + SIGMA_LEARNING_RATE * grad_sigma;
        double low = old * (1.0 - SIGMA_MAX_CHANGE), high = old * (1.0 + SIGMA_MAX_CHANGE);
        sigma[j] = (float)(next < low ? low : next > high ? high : next);
    }
}

static size_t pgpe_state(void *state, devo_state_tensor *out)
{
    pgpe *s = state;
    out[0] = (devo_state_tensor){"es/velocity", s->velocity, s->cfg.D, NULL, DEVO_STATE_FINITE};
    return 1;
}

const devo_strategy_i *devo_strategy_pgpe(void)
{
    static const devo_strategy_i table = {
        .name = "pgpe",
        .antithetic = 1,
        .default_learning_rate = 0.15,
        .default_sigma = 0.05,
        .create = pgpe_create,
        .destroy = pgpe_destroy,
        .weigh = pgpe_weigh,
        .update = pgpe_update,
        .state = pgpe_state,
    };
    return &table;
}
