/*
 * openai_es.c - OpenAI-ES (Salimans et al. 2017, "Evolution Strategies
 * as a Scalable Alternative to Reinforcement Learning"): antithetic pairs,
 * centred-rank fitness shaping, the gradient estimate
 *     g = 1 / (P sigma) * sum_i u_i eps_i,
 * and Adam on the loss -g + weight_decay * centre (their optimizers.py).
 * sigma stays at its initial value, times the schedule's factor.
 */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "shaping.h"
#include "strategy.h"

#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPSILON 1e-8

typedef struct openai_es {
    devo_strategy_config cfg;
    devo_shaped shaped; /* the fitness as centred ranks or utilities */
    float *m, *v;          /* (D) Adam's moments */
    float *sigma0;         /* (D) sigma at the first update */
    uint64_t t;            /* Adam steps taken */
} openai_es;

static void es_destroy(void *state)
{
    openai_es *s = state;
    if (!s) return;
    devo_shaped_release(&s->shaped);
    free(s->m);
    free(s->v);
    free(s->sigma0);
    free(s);
}

static devo_status es_create(void **state, const devo_strategy_config *cfg)
{
    openai_es *s = calloc(1, sizeof *s);
    if (!s) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "openai-es: out of memory");
    s->cfg = *cfg;
    s->m = calloc(cfg->D, sizeof *s->m);
    s->v = calloc(cfg->D, sizeof *s->v);
    s->sigma0 = calloc(cfg->D, sizeof *s->sigma0); // 0 until the first update
    devo_status status = devo_shaped_init(&s->shaped, cfg->P, "openai-es");
    if (status == DEVO_OK && (!s->m || !s->v || !s->sigma0))
        status = devo_fail(DEVO_ERR_OUT_OF_MEMORY, "openai-es: cannot allocate its state");
    if (status != DEVO_OK) {
        es_destroy(s);
        return status;
    }
    *state = s;
    return DEVO_OK;
}

/* sum_i u_i eps_i = sum_d (u_2d - u_2d+1) eps_d: w_d = u_2d - u_2d+1. */
static void es_weigh(void *state, const double *fitness, float *w, float *v)
{
    openai_es *s = state;
    devo_centered_ranks(fitness, &s->shaped);
    const double *u = s->shaped.u;
    for (size_t d = 0; d < s->cfg.P / 2; d++) {
        w[d] = (float)(u[2 * d] - u[2 * d + 1]);
        v[d] = 0.0f;
    }
}

static void es_update(void *state, float *center, float *sigma, const float *s1, const float *s2,
                      double scale)
{
    (void)s2;
    openai_es *s = state;
    size_t D = s->cfg.D;
    if (s->t++ == 0)
        for (size_t j = 0; j < D; j++) s->sigma0[j] = sigma[j];
    double t = (double)s->t;
    double step = s->cfg.learning_rate * scale * sqrt(1.0 - pow(ADAM_BETA2, t)) /
                  (1.0 - pow(ADAM_BETA1, t));
    for (size_t j = 0; j < D; j++) {
        double g = (double)s1[j] / ((double)s->cfg.P * sigma[j]);
        double loss_grad = -g + s->cfg.weight_decay * center[j];
        s->m[j] = (float)(ADAM_BETA1 * s->m[j] + (1.0 - ADAM_BETA1) * loss_grad);
        s->v[j] = (float)(ADAM_BETA2 * s->v[j] + (1.0 - ADAM_BETA2) * loss_grad * loss_grad);
        center[j] -= (float)(step * s->m[j] / (sqrt((double)s->v[j]) + ADAM_EPSILON));
        sigma[j] = (float)(s->sigma0[j] * scale);
    }
}

static size_t es_state(void *state, devo_state_tensor *out)
{
    openai_es *s = state;
    size_t D = s->cfg.D;
    out[0] = (devo_state_tensor){"es/adam_m", s->m, D, NULL, DEVO_STATE_FINITE};
    out[1] = (devo_state_tensor){"es/adam_v", s->v, D, NULL, DEVO_STATE_NONNEGATIVE};
    out[2] = (devo_state_tensor){"es/sigma0", s->sigma0, D, NULL, DEVO_STATE_NONNEGATIVE};
    out[3] = (devo_state_tensor){"es/adam_steps", NULL, 1, &s->t, DEVO_STATE_FINITE};
    return 4;
}

const devo_strategy_i *devo_strategy_openai_es(void)
{
    static const devo_strategy_i table = {
        .name = "openai-es",
        .antithetic = 1,
        .default_learning_rate = 0.01,
        .default_sigma = 0.02,
        .create = es_create,
        .destroy = es_destroy,
        .weigh = es_weigh,
        .update = es_update,
        .state = es_state,
    };
    return &table;
}
