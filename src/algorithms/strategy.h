/*
 * strategy.h - the internal interface of the evolution strategies (OpenAI-ES,
 * PGPE, SNES). Each is one file that reads like its paper's update rule; the
 * ES algorithm (es.c) owns the search distribution's centre and per-parameter
 * sigma, has a device draw the directions (full-rank or low-rank) and evaluate,
 * and hands a strategy only what its rule needs:
 *   weigh:  fitness (P) -> direction weights w, v (directions each)
 *   update: s1 = sum_d w_d eps_d and s2 = sum_d v_d (eps_d^2 - 1), (D) each,
 *           -> the new centre and sigma.
 * Individual i is centre + sign_i * sigma o eps_{d(i)} (o: elementwise): with
 * antithetic sampling d(i) = i / 2 and sign_i = +1 for even i, -1 for odd i;
 * without it d(i) = i, sign +1. The GA is not behind this interface: it is an
 * algorithm of its own (ga.c), bit for bit as SEED.md has it.
 */
#ifndef DEVO_STRATEGY_H
#define DEVO_STRATEGY_H

#include <stddef.h>

#include "algorithm.h"
#include "devo.h"
#include "model.h"

typedef struct devo_strategy_config {
    size_t D, P;           /* parameters, population */
    double learning_rate;  /* resolved: the strategy's default when the option is 0 */
    double weight_decay;
} devo_strategy_config;

typedef struct devo_strategy_i {
    const char *name;              /* as the CLI spells it: "openai-es" */
    int antithetic;                /* needs an even population, pairs (2d, 2d+1) */
    double default_learning_rate;  /* used when devo_evolve_options.learning_rate is 0 */
    double default_sigma;          /* used when devo_evolve_options.sigma is 0 */
    devo_status (*create)(void **state, const devo_strategy_config *cfg);
    void (*destroy)(void *state); /* accepts NULL */
    /* w, v (directions) from fitness (P), NaN ranking last. */
    void (*weigh)(void *state, const double *fitness, float *w, float *v);
    /* center (D) and sigma (D) after one step from s1, s2 (D); scale (0, 1] is the
     * schedule's factor of this generation (devo_evolve_options.sigma_final). */
    void (*update)(void *state, float *center, float *sigma, const float *s1, const float *s2,
                   double scale);
    /* Lists what of state evolves across generations (the state file's tensors) into out
     * (at most DEVO_STRATEGY_STATE_MAX entries, named "es/..."); returns their count. */
    size_t (*state)(void *state, devo_state_tensor *out);
} devo_strategy_i;

enum { DEVO_STRATEGY_STATE_MAX = 4 };

/* A search distribution's whole state: centre and sigma (D each), the schedule's position
 * `told` (generations told), then strategy->state's tensors: at most
 * DEVO_ALGORITHM_STATE_MAX. */
/* (strategy.c asserts 3 + DEVO_STRATEGY_STATE_MAX <= DEVO_ALGORITHM_STATE_MAX.) */
size_t devo_es_state_list(const devo_strategy_i *strategy, void *state, float *center,
                          float *sigma, uint64_t *told, size_t D, devo_state_tensor *out);

/* The table of an ES strategy; NULL for the GA or an unknown value. */
const devo_strategy_i *devo_strategy_table(devo_strategy strategy);

const devo_strategy_i *devo_strategy_openai_es(void);
const devo_strategy_i *devo_strategy_pgpe(void);
const devo_strategy_i *devo_strategy_snes(void);

/* ClipUp (Toklu et al. 2020): velocity (D) = 0.9 velocity + step grad / |grad|, then
 * scaled down to |velocity| <= 2 step; center (D) += velocity. grad = 0 adds no push. */
void devo_clipup_step(float *center, float *velocity, const float *grad, size_t D, double step);

/* Checks the strategy fields of o against m (rank <= every layer's inputs and units, an even
 * population for antithetic strategies); `fn` names the caller. */
devo_status devo_strategy_check(const devo_evolve_options *o, const devo_model *m,
                                const char *fn);

#endif /* DEVO_STRATEGY_H */
