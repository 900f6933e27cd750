/*
 * es_backend.c - the evolution strategies' backend: the search distribution
 * (centre and per-parameter sigma, D each), one generation's directions
 * (es_noise.h) and the strategy's update (strategy.h) on the host, and their
 * evaluation through an evaluator (es_eval.h) on the CPU or a CUDA device, as
 * the run's backend option says (full rank: the population materialised on
 * the host; low rank: from the factors, never materialised). The population
 * is materialised (P x D) only for a full-rank evaluation or where a caller
 * asks for it (ask, individual); devo_evolver_forward runs on the CPU.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"
#include "es_eval.h"
#include "es_noise.h"
#include "forward_split_cpu.h"
#include "lowrank_cpu.h"
#include "options.h"
#include "selection.h"
#include "strategy.h"

typedef struct es_backend {
    devo_backend_config cfg;
    const devo_strategy_i *strategy;
    void *state;
    size_t P, D, dirs;
    double sigma0, sigma_final;
    size_t max_generations;
    uint64_t told;          /* generations told: the schedule's position */
    float *center, *sigma;  /* (D) each */
    float *w, *v;           /* (dirs) each: the strategy's direction weights */
    float *s1, *s2;         /* (D) each: the update's sums */
    devo_es_noise noise;
    float *population;      /* (P, D), materialised on demand */
    int population_ready;
    size_t *scratch;        /* (P) ranking scratch */
    size_t n;               /* bound samples */
    const devo_es_eval_i *eval;    /* the population's and the centre's fitness */
    void *eval_ctx;
    devo_lowrank_eval *own;        /* low rank: devo_evolver_forward, for up to own_rows rows */
    size_t own_rows;
    devo_cpu_forward_split own_full; /* full rank: devo_evolver_forward */
} es_backend;

static void es_destroy(void *ctx)
{
    es_backend *b = ctx;
    if (!b) return;
    if (b->strategy) b->strategy->destroy(b->state);
    free(b->center);
    free(b->sigma);
    free(b->w);
    free(b->v);
    free(b->s1);
    free(b->s2);
    devo_es_noise_release(&b->noise);
    free(b->population);
    free(b->scratch);
    if (b->eval) b->eval->destroy(b->eval_ctx);
    devo_lowrank_free(b->own);
    devo_cpu_forward_split_release(&b->own_full);
    free(b);
}

static devo_status es_create(void **ctx, const devo_backend_config *cfg)
{
    const devo_evolve_options *o = cfg->options;
    const devo_strategy_i *strategy = devo_strategy_table(o->strategy);
    if (!strategy) return devo_fail(DEVO_ERR_INTERNAL, "es backend: not an ES strategy");
    if (cfg->precision != DEVO_PRECISION_FP32)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "%s: only DEVO_PRECISION_FP32 is supported",
                         strategy->name);
    devo_backend where = DEVO_BACKEND_CPU;
    DEVO_TRY(devo_options_resolve_backend(o, &where));
    const devo_es_eval_i *eval = where == DEVO_BACKEND_CUDA ? devo_es_eval_cuda()
                                                            : devo_es_eval_cpu();
    es_backend *b = calloc(1, sizeof *b);
    if (!b) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "es backend: out of memory");
    b->cfg = *cfg;
    b->cfg.options = NULL;
    b->P = cfg->population;
    b->D = cfg->arch->param_count;
    b->dirs = strategy->antithetic ? b->P / 2 : b->P;
    b->sigma0 = o->sigma > 0.0 ? o->sigma : strategy->default_sigma;
    b->sigma_final = o->sigma_final;
    b->max_generations = o->max_generations;
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
    b->scratch = malloc(b->P * sizeof(size_t));
    if (!b->center || !b->sigma || !b->s1 || !b->s2 || !b->w || !b->v || !b->scratch)
        status = devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot allocate the distribution",
                           strategy->name);
    size_t rank = o->perturbation_rank;
    if (status == DEVO_OK)
        status = devo_es_noise_init(&b->noise, cfg->arch, b->dirs, rank, cfg->threads);
    if (status == DEVO_OK) status = eval->create(&b->eval_ctx, cfg, b->dirs, rank);
    if (status == DEVO_OK) b->eval = eval;
    if (status != DEVO_OK) {
        es_destroy(b);
        return status;
    }
    for (size_t j = 0; j < D; j++) b->sigma[j] = (float)b->sigma0;
    *ctx = b;
    return DEVO_OK;
}

static devo_status es_init_population(void *ctx, const float *w0)
{
    es_backend *b = ctx;
    memcpy(b->center, w0, b->D * sizeof(float));
    b->population_ready = 0;
    return devo_es_noise_draw(&b->noise, b->cfg.seed, 0);
}

static devo_status es_bind_data(void *ctx, const float *x, const float *y, size_t n)
{
    es_backend *b = ctx;
    b->n = n;
    return b->eval->bind_data(b->eval_ctx, x, y, n);
}

/* Makes the P x D population (individual i = direction i/2 or i, see strategy.h). */
static devo_status materialise(es_backend *b)
{
    if (b->population_ready) return DEVO_OK;
    if (!b->population && !(b->population = malloc(b->P * b->D * sizeof(float))))
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "%s: cannot allocate the %zu x %zu population", b->strategy->name, b->P,
                         b->D);
    for (size_t i = 0; i < b->P; i++) {
        int odd = b->strategy->antithetic && i % 2;
        devo_es_materialise(&b->noise, b->center, b->sigma, b->strategy->antithetic ? i / 2 : i,
                            odd ? -1.0f : 1.0f, b->population + i * b->D);
    }
    b->population_ready = 1;
    return DEVO_OK;
}

static devo_lowrank_population lowrank_population(const es_backend *b)
{
    devo_lowrank_population pop = {&b->noise, b->strategy->antithetic, b->center, b->sigma};
    return pop;
}

static devo_status es_evaluate(void *ctx, const size_t *rows, size_t row_count, size_t first,
                               size_t count, double *fitness)
{
    es_backend *b = ctx;
    if (!b->noise.rank) DEVO_TRY(materialise(b));
    devo_lowrank_population pop = lowrank_population(b);
    return b->eval->evaluate(b->eval_ctx, &pop,
                             b->noise.rank ? NULL : b->population + first * b->D, rows,
                             rows ? row_count : b->n, first, count, fitness);
}

static devo_status es_evaluate_center(void *ctx, const size_t *rows, size_t row_count,
                                      double *fitness)
{
    es_backend *b = ctx;
    devo_lowrank_population pop = lowrank_population(b);
    return b->eval->evaluate_center(b->eval_ctx, &pop, rows, rows ? row_count : b->n, fitness);
}

static devo_status es_rank(void *ctx, const double *fitness, size_t *order)
{
    es_backend *b = ctx;
    devo_rank(fitness, b->P, order, b->scratch);
    return DEVO_OK;
}

/* The schedule's factor after `told` generations: (sigma_final / sigma)^(told / G), 1 without. */
static double schedule(const es_backend *b)
{
    if (b->sigma_final <= 0.0 || b->max_generations == 0) return 1.0;
    double progress = (double)b->told / (double)b->max_generations;
    return pow(b->sigma_final / b->sigma0, progress > 1.0 ? 1.0 : progress);
}

static devo_status es_tell(void *ctx, const double *fitness)
{
    es_backend *b = ctx;
    b->strategy->weigh(b->state, fitness, b->w, b->v);
    DEVO_TRY(devo_es_noise_sums(&b->noise, b->w, b->v, b->s1, b->s2));
    b->told++;
    b->strategy->update(b->state, b->center, b->sigma, b->s1, b->s2, schedule(b));
    b->population_ready = 0;
    return DEVO_OK;
}

static devo_status es_breed(void *ctx, const size_t *order, const uint32_t *pairs,
                            uint32_t generation)
{
    (void)order;
    (void)pairs;
    es_backend *b = ctx;
    b->population_ready = 0;
    return devo_es_noise_draw(&b->noise, b->cfg.seed, generation);
}

/* Spread over processes, every process draws every direction (they are regenerated, never
 * sent): the same as breed. */
static devo_status es_breed_range(void *ctx, const size_t *order, const uint32_t *pairs,
                                  uint32_t generation, size_t first, size_t count)
{
    (void)first;
    (void)count;
    return es_breed(ctx, order, pairs, generation);
}

static devo_status es_population(void *ctx, const float **view)
{
    es_backend *b = ctx;
    DEVO_TRY(materialise(b));
    *view = b->population;
    return DEVO_OK;
}

static devo_status es_individual(void *ctx, size_t index, float *dst)
{
    es_backend *b = ctx;
    int antithetic = b->strategy->antithetic;
    devo_es_materialise(&b->noise, b->center, b->sigma, antithetic ? index / 2 : index,
                        antithetic && index % 2 ? -1.0f : 1.0f, dst);
    return DEVO_OK;
}

static devo_status es_center(void *ctx, float *dst)
{
    es_backend *b = ctx;
    memcpy(dst, b->center, b->D * sizeof(float));
    return DEVO_OK;
}

/* Full rank: the materialised population through the CPU's reference forward pass. */
static devo_status forward_full(es_backend *b, const float *x, size_t rows, float *y)
{
    DEVO_TRY(materialise(b));
    return devo_cpu_forward_split_run(&b->own_full, b->cfg.arch, b->population, b->P, x, rows, y,
                                      b->cfg.threads);
}

static devo_status es_forward(void *ctx, const float *x, size_t rows, float *y)
{
    es_backend *b = ctx;
    if (!b->noise.rank) return forward_full(b, x, rows, y);
    if (rows > b->own_rows) { // called once per environment step: keep the work space
        devo_lowrank_free(b->own);
        b->own = NULL;
        b->own_rows = 0;
        DEVO_TRY(devo_lowrank_create(&b->own, b->cfg.arch, b->P, rows, b->cfg.threads));
        b->own_rows = rows;
    }
    devo_lowrank_population pop = lowrank_population(b);
    return devo_lowrank_forward_own(b->own, &pop, b->P, x, rows, y);
}

static size_t es_state(void *ctx, devo_state_tensor *out)
{
    es_backend *b = ctx;
    return devo_es_state_list(b->strategy, b->state, b->center, b->sigma, &b->told, b->D, out);
}

const devo_backend_i *devo_backend_es(void)
{
    static const devo_backend_i es = {
        .name = "es",
        .create = es_create,
        .destroy = es_destroy,
        .init_population = es_init_population,
        .bind_data = es_bind_data,
        .evaluate = es_evaluate,
        .rank = es_rank,
        .breed = es_breed,
        .breed_range = es_breed_range,
        .population = es_population,
        .individual = es_individual,
        .forward = es_forward,
        .tell = es_tell,
        .center = es_center,
        .evaluate_center = es_evaluate_center,
        .es_state = es_state,
    };
    return &es;
}
