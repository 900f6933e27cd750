/*
 * es.c - the evolution strategies as an algorithm (algorithm.h): a search
 * distribution (centre and per-parameter sigma, D each) on the host, the
 * strategy's update rule (strategy.h: OpenAI-ES, PGPE, SNES) and its sigma
 * schedule. It asks the device for a population of P individuals around
 * `directions` directions of the configured rank, and for two operations: the
 * population drawn around the centre (perturb), and the update's two sums over
 * the directions drawn (update_sums). Per generation the centre and sigma go
 * down and the sums come up; the population never leaves the device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithm.h"
#include "error.h"
#include "strategy.h"

typedef struct es_state {
    const devo_device_i *dev;
    void *dev_ctx;
    const devo_strategy_i *strategy;
    void *state;
    size_t P, D, dirs;
    double sigma0, sigma_final;
    size_t max_generations;
    uint64_t told;          /* generations told: the schedule's position */
    float *center, *sigma;  /* (D) each */
    float *w, *v;           /* (dirs) each: the strategy's direction weights */
    float *s1, *s2;         /* (D) each: the update's sums */
    int chained;            /* the device sums a part: the processes chain them */
    const devo_sum_chain *chain;
} es_state;

static void es_configure(const devo_evolve_options *o, devo_device_config *cfg)
{
    const devo_strategy_i *strategy = devo_strategy_table(o->strategy);
    cfg->population = o->population;
    cfg->top_k = 0; // no individual outlives its generation
    cfg->antithetic = strategy && strategy->antithetic;
    cfg->directions = cfg->antithetic ? o->population / 2 : o->population;
    cfg->rank = o->perturbation_rank;
}

static void es_destroy(void *state)
{
    es_state *b = state;
    if (!b) return;
    if (b->strategy) b->strategy->destroy(b->state);
    free(b->center);
    free(b->sigma);
    free(b->w);
    free(b->v);
    free(b->s1);
    free(b->s2);
    free(b);
}

static devo_status es_create(void **state, const devo_evolve_options *o,
                             const devo_device_config *cfg, const devo_device_i *dev,
                             void *dev_ctx)
{
    const devo_strategy_i *strategy = devo_strategy_table(o->strategy);
    if (!strategy) return devo_fail(DEVO_ERR_INTERNAL, "es: not an ES strategy");
    // BF16 evaluation of an ES population: the CPU device's (full-rank rows, or a low-rank
    // population's shared first-layer GEMM); the CUDA device's ES runs FP32 only.
    int cpu_bf16 = o->precision == DEVO_PRECISION_BF16 && strcmp(dev->name, "cpu") == 0;
    if (o->precision != DEVO_PRECISION_FP32 && !cpu_bf16)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "%s: only DEVO_PRECISION_FP32 is supported "
                                               "(and BF16 on the CPU)", strategy->name);
    es_state *b = calloc(1, sizeof *b);
    if (!b) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", strategy->name);
    b->dev = dev;
    b->dev_ctx = dev_ctx;
    b->P = o->population;
    b->D = cfg->arch->param_count;
    b->dirs = cfg->directions; // es_configure's
    b->sigma0 = o->sigma > 0.0 ? o->sigma : strategy->default_sigma;
    b->sigma_final = o->sigma_final;
    b->max_generations = o->max_generations;
    b->chained = cfg->chained;
    devo_strategy_config sc = {
        .D = b->D, .P = b->P,
        .learning_rate = o->learning_rate > 0.0 ? o->learning_rate
                                                 : strategy->default_learning_rate,
        .weight_decay = o->weight_decay,
    };
    devo_status status = strategy->create(&b->state, &sc);
    if (status != DEVO_OK) {
        free(b);
        return status;
    }
    b->strategy = strategy;
    size_t D = b->D;
    b->center = malloc(D * sizeof(float));
    b->sigma = malloc(D * sizeof(float));
    b->s1 = malloc(D * sizeof(float));
    b->s2 = malloc(D * sizeof(float));
    b->w = malloc(b->dirs * sizeof(float));
    b->v = malloc(b->dirs * sizeof(float));
    if (!b->center || !b->sigma || !b->s1 || !b->s2 || !b->w || !b->v) {
        es_destroy(b);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot allocate the distribution",
                         strategy->name);
    }
    for (size_t j = 0; j < D; j++) b->sigma[j] = (float)b->sigma0;
    *state = b;
    return DEVO_OK;
}

static devo_status es_start(void *state, const float *w0)
{
    es_state *b = state;
    memcpy(b->center, w0, b->D * sizeof(float));
    return b->dev->perturb(b->dev_ctx, b->center, b->sigma, 0);
}

static devo_status es_resume(void *state, const float *population, uint32_t generation)
{
    es_state *b = state;
    if (population)
        return devo_fail(DEVO_ERR_INTERNAL, "%s: a resumed ES draws its population",
                         b->strategy->name);
    return b->dev->perturb(b->dev_ctx, b->center, b->sigma, generation);
}

/* The schedule's factor after `told` generations: (sigma_final / sigma)^(told / G), 1 without. */
static double schedule(const es_state *b)
{
    if (b->sigma_final <= 0.0 || b->max_generations == 0) return 1.0;
    double progress = (double)b->told / (double)b->max_generations;
    return pow(b->sigma_final / b->sigma0, progress > 1.0 ? 1.0 : progress);
}

/* The update's sums over every direction: this device's alone, or, spread over processes at
 * full rank, continued from the processes before it and handed on (in direction order, so
 * the same bits as one process's). */
static devo_status sums(es_state *b)
{
    if (b->chained && !b->chain)
        return devo_fail(DEVO_ERR_INTERNAL, "%s: a part of the sums without the processes' "
                                            "chain", b->strategy->name);
    devo_status status = DEVO_OK;
    if (b->chain) {
        status = b->chain->receive(b->chain->ctx, b->s1, b->s2, b->D);
    } else {
        memset(b->s1, 0, b->D * sizeof(float));
        memset(b->s2, 0, b->D * sizeof(float));
    }
    if (status == DEVO_OK) status = b->dev->update_sums(b->dev_ctx, b->w, b->v, b->s1, b->s2);
    if (b->chain) { // passed on whatever happened here: no process waits for ever
        devo_status passed = b->chain->pass(b->chain->ctx, b->s1, b->s2, b->D);
        if (status == DEVO_OK) status = passed;
    }
    return status;
}

/* After an update: a distribution that left its bounds (a centre or moment gone infinite, a
 * sigma gone to 0) has diverged, and the run stops there, before its state can be saved. */
static devo_status check_diverged(es_state *b, uint32_t generation)
{
    devo_state_tensor listed[DEVO_ALGORITHM_STATE_MAX];
    size_t count = devo_es_state_list(b->strategy, b->state, b->center, b->sigma, &b->told, b->D,
                                      listed);
    char where[64];
    snprintf(where, sizeof where, "%s diverged at generation %u", b->strategy->name,
             (unsigned)generation);
    for (size_t i = 0; i < count; i++)
        DEVO_TRY(devo_state_tensor_check(&listed[i], DEVO_ERR_NUMERIC, where));
    return DEVO_OK;
}

/* Each process draws the directions of the slots it holds (the device's), and takes part in
 * the sums over all of them; first and count do not apply. */
static devo_status es_next(void *state, const double *fitness, const size_t *order,
                           uint32_t generation, size_t first, size_t count)
{
    (void)order;
    (void)first;
    (void)count;
    es_state *b = state;
    b->strategy->weigh(b->state, fitness, b->w, b->v);
    DEVO_TRY(sums(b));
    b->told++;
    b->strategy->update(b->state, b->center, b->sigma, b->s1, b->s2, schedule(b));
    DEVO_TRY(check_diverged(b, generation));
    return b->dev->perturb(b->dev_ctx, b->center, b->sigma, generation);
}

static devo_status es_answer(void *state, const size_t *order, float *dst)
{
    (void)order;
    es_state *b = state;
    memcpy(dst, b->center, b->D * sizeof(float));
    return DEVO_OK;
}

static void es_chain(void *state, const devo_sum_chain *chain)
{
    es_state *b = state;
    b->chain = b->chained ? chain : NULL;
}

static size_t es_list(void *state, devo_state_tensor *out)
{
    es_state *b = state;
    return devo_es_state_list(b->strategy, b->state, b->center, b->sigma, &b->told, b->D, out);
}

const devo_algorithm_i *devo_algorithm_es(void)
{
    static const devo_algorithm_i es = {
        .name = "es",
        .has_center = 1,
        .keeps_elites = 0,
        .configure = es_configure,
        .create = es_create,
        .destroy = es_destroy,
        .start = es_start,
        .resume = es_resume,
        .next = es_next,
        .answer = es_answer,
        .chain = es_chain,
        .list = es_list,
    };
    return &es;
}
