/*
 * fit_evolve.c - devo_fit_evolve, the seed's model.fit_evolve(x, y): the
 * generation loop over the engine, with the fitness (built-in on the backend,
 * or custom on the host), sample subsets, elite reuse, history and verbose
 * output; devo_evolver_fit runs the same loop on an existing (or resumed) evolver.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_data.h"
#include "error.h"
#include "evolver.h"
#include "history.h"
#include "options.h"
#include "report.h"
#include "rng.h"

/* The samples one generation is judged on. */
typedef struct sample_plan {
    const float *x, *y; /* the whole data: (n, inputs), (n, width) */
    size_t n, inputs, width;
    size_t count;       /* samples per generation: n, or fitness_samples */
    size_t *rows;       /* (count) sorted row indices of a subset; NULL = all rows */
    size_t *shuffle;    /* (n): Fisher-Yates work space */
    float *subset_x;    /* (count, inputs): the subset gathered, for a custom fitness */
    float *subset_y;    /* (count, width) */
    float *outputs;     /* (P, count, outputs): a batched fitness's outputs */
    size_t outputs_per_sample;
} sample_plan;

static void plan_free(sample_plan *plan)
{
    free(plan->rows);
    free(plan->shuffle);
    free(plan->subset_x);
    free(plan->subset_y);
    free(plan->outputs);
    plan->rows = plan->shuffle = NULL;
    plan->subset_x = plan->subset_y = plan->outputs = NULL;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Draws generation g's subset: a partial Fisher-Yates shuffle on stream SUBSET. */
static void plan_draw(sample_plan *plan, uint64_t seed, uint32_t generation, int gather)
{
    for (size_t i = 0; i < plan->n; i++) plan->shuffle[i] = i;
    for (size_t i = 0; i < plan->count; i++) {
        devo_philox_block b = devo_rng_block(seed, DEVO_STREAM_SUBSET, generation, 0, (uint32_t)i);
        uint64_t word = (uint64_t)b.w[0] | ((uint64_t)b.w[1] << 32);
        double u = (double)(word >> 11) * (1.0 / 9007199254740992.0); // [0, 1)
        size_t j = i + (size_t)(u * (double)(plan->n - i));
        size_t swap = plan->shuffle[i];
        plan->shuffle[i] = plan->shuffle[j];
        plan->shuffle[j] = swap;
    }
    memcpy(plan->rows, plan->shuffle, plan->count * sizeof(size_t));
    qsort(plan->rows, plan->count, sizeof(size_t), compare_size);
    if (!gather) return;
    for (size_t r = 0; r < plan->count; r++) {
        memcpy(plan->subset_x + r * plan->inputs, plan->x + plan->rows[r] * plan->inputs,
               plan->inputs * sizeof(float));
        memcpy(plan->subset_y + r * plan->width, plan->y + plan->rows[r] * plan->width,
               plan->width * sizeof(float));
    }
}

/* The outputs buffer of a batched fitness: P x count x outputs floats. */
static devo_status plan_outputs(sample_plan *plan, const devo_model *m, const devo_evolve_options *o)
{
    size_t outputs = plan->outputs_per_sample = devo_model_output_dim(m);
    if (plan->count > SIZE_MAX / sizeof(float) / o->population / outputs ||
        !(plan->outputs = malloc(o->population * plan->count * outputs * sizeof(float))))
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "devo_fit_evolve: cannot allocate the batched fitness's outputs (%zu "
                         "individuals x %zu samples x %zu outputs floats); lower "
                         "fitness_samples", o->population, plan->count, outputs);
    return DEVO_OK;
}

static devo_status plan_init(sample_plan *plan, const devo_model *m, const float *x,
                             const float *y, size_t n, const devo_evolve_options *o)
{
    memset(plan, 0, sizeof *plan);
    plan->x = x;
    plan->y = y;
    plan->n = n;
    plan->inputs = m->input_dim;
    plan->width = devo_model_target_width(m);
    plan->count = o->fitness_samples ? o->fitness_samples : n;
    if (o->batch_fitness_fn) DEVO_TRY(plan_outputs(plan, m, o));
    if (!o->fitness_samples) return DEVO_OK;
    plan->rows = malloc(plan->count * sizeof(size_t));
    plan->shuffle = malloc(n * sizeof(size_t));
    int ok = plan->rows && plan->shuffle;
    if (devo_options_custom_fitness(o)) {
        plan->subset_x = malloc(plan->count * plan->inputs * sizeof(float));
        plan->subset_y = malloc(plan->count * plan->width * sizeof(float));
        ok = ok && plan->subset_x && plan->subset_y;
    }
    if (!ok) {
        plan_free(plan);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "devo_fit_evolve: cannot allocate the subset");
    }
    return DEVO_OK;
}

/* The batched fitness of `population` individuals from their outputs in plan->outputs. */
static devo_status batch_fitness(const devo_evolve_options *o, const sample_plan *plan,
                                 const float *y, size_t population, double *fitness)
{
    if (o->batch_fitness_fn(plan->outputs, y, population, plan->count, plan->outputs_per_sample,
                            fitness, o->batch_fitness_user) != 0)
        return devo_fail(DEVO_ERR_CALLBACK, "devo_fit_evolve: batch_fitness_fn asked the run "
                                            "to stop");
    return DEVO_OK;
}

/* An ES's centre on this generation's samples, into e->center_fitness: one individual more. */
static devo_status evaluate_center(devo_evolver *e, const sample_plan *plan)
{
    const devo_evolve_options *o = &e->opt;
    if (!devo_options_custom_fitness(o))
        return e->device->evaluate_center(e->device_ctx, plan->rows, plan->count,
                                          &e->center_fitness);
    DEVO_TRY(e->algorithm->answer(e->algorithm_state, e->order, e->arch->weights));
    const float *x = plan->rows ? plan->subset_x : plan->x;
    const float *y = plan->rows ? plan->subset_y : plan->y;
    if (o->batch_fitness_fn) {
        DEVO_TRY(devo_model_predict(e->arch, x, plan->count, plan->outputs));
        return batch_fitness(o, plan, y, 1, &e->center_fitness);
    }
    e->center_fitness = o->fitness_fn(e->arch, x, y, plan->count, o->fitness_user);
    return DEVO_OK;
}

/* Fitness of individuals [begin, end) on this generation's samples. */
static devo_status evaluate_range(devo_evolver *e, const sample_plan *plan, size_t begin,
                                  size_t end)
{
    const devo_evolve_options *o = &e->opt;
    if (begin >= end) return DEVO_OK;
    if (!devo_options_custom_fitness(o))
        return e->device->evaluate(e->device_ctx, plan->rows, plan->count, begin, end - begin,
                                   e->fitness);
    const float *x = plan->rows ? plan->subset_x : plan->x;
    const float *y = plan->rows ? plan->subset_y : plan->y;
    if (o->batch_fitness_fn) { // every individual: a batched fitness is never spread
        DEVO_TRY(e->device->predict(e->device_ctx, x, plan->count, plan->outputs));
        return batch_fitness(o, plan, y, e->P, e->fitness);
    }
    // Each individual into the model the fitness function sees (a row held by this process).
    for (size_t i = begin; i < end; i++) {
        DEVO_TRY(e->device->copy_row(e->device_ctx, i, e->arch->weights));
        e->fitness[i] = o->fitness_fn(e->arch, x, y, plan->count, o->fitness_user);
    }
    return DEVO_OK;
}

/* Fitness of individuals [first, P): this process's share of them when the run is spread
 * over processes, then every share gathered. */
static devo_status evaluate(devo_evolver *e, const sample_plan *plan, size_t first)
{
    const devo_dist *d = e->dist;
    size_t begin = first, count = e->P - first;
    if (d) {
        e->share_from = first;
        d->share(d->ctx, first, &begin, &count);
    }
    devo_status status = devo_evolver_agree(e, evaluate_range(e, plan, begin, begin + count));
    if (status == DEVO_OK && d)
        status = devo_evolver_agree(e, d->gather_fitness(d->ctx, e->fitness, first));
    if (status != DEVO_OK) return status;
    e->evaluations += e->P - first;
    return e->algorithm->has_center ? evaluate_center(e, plan) : DEVO_OK;
}

static devo_status check_fit_arguments(const devo_model *m, const float *x, const float *y,
                                       size_t n, const devo_evolve_options *o, const char *fn)
{
    DEVO_TRY(devo_model_check_compiled(m, fn));
    DEVO_REQUIRE_NONNULL(x, fn);
    DEVO_REQUIRE_NONNULL(y, fn);
    if (n == 0) return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: n must be > 0", fn);
    int custom = devo_options_custom_fitness(o);
    if (!custom && o->fitness == DEVO_FITNESS_NEG_LOSS && m->loss == DEVO_LOSS_NONE)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: fitness NEG_LOSS needs a loss, but the model was compiled with "
                         "DEVO_LOSS_NONE (use a custom fitness_fn or DEVO_FITNESS_ACCURACY)", fn);
    if (o->fitness_samples > n)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: fitness_samples (%zu) exceeds the number of samples (%zu)", fn,
                         o->fitness_samples, n);
    DEVO_TRY(devo_check_finite(x, n, m->input_dim, "x", fn));
    if (!custom) DEVO_TRY(devo_model_check_targets(m, y, n, fn));
    return DEVO_OK;
}

/* Calls on_generation with the generation's statistics and the run's answer so far. */
static int show_generation(devo_evolver *e)
{
    devo_generation_stats shown = e->last;
    memcpy(e->arch->weights, e->best, e->D * sizeof(float));
    shown.model = e->arch;
    return e->opt.on_generation(&shown, e->opt.on_generation_user);
}

/* The generation loop from the evolver's next generation to max_generations; each generation
 * is bred before on_generation sees it, so a state saved there resumes exactly. On success m
 * gets the best individual of the last generation (an ES: the centre evaluated last). */
static devo_status run(devo_evolver *e, devo_model *m, sample_plan *plan)
{
    const devo_evolve_options *o = &e->opt;
    // The GA's elites keep their fitness when the samples do not change; an ES's population
    // is new every generation.
    int deterministic = !devo_options_custom_fitness(o) && !o->fitness_samples &&
                        e->algorithm->keeps_elites;
    DEVO_TRY(devo_evolver_agree(e, e->device->bind_data(e->device_ctx, plan->x, plan->y,
                                                        plan->n)));
    e->max_generations = o->max_generations;
    for (size_t g = e->generation + 1; g <= o->max_generations; g++) {
        if (plan->rows) plan_draw(plan, o->seed, (uint32_t)g, devo_options_custom_fitness(o));
        DEVO_TRY(evaluate(e, plan, e->generation == 0 || !deterministic ? 0 : e->k));
        DEVO_TRY(devo_evolver_select(e));
        devo_report_generation(&e->last, o->verbose);
        e->share_from = deterministic ? e->k : 0; // where the next generation's evaluation starts
        DEVO_TRY(devo_evolver_breed(e));
        int stop = o->on_generation && show_generation(e);
        if (e->dist ? e->dist->any(e->dist->ctx, stop) : stop) break;
    }
    if (e->generation > 0) memcpy(m->weights, e->best, e->D * sizeof(float));
    return DEVO_OK;
}

/* Runs e on the checked data, then copies its whole history into hist (may be NULL). */
static devo_status fit(devo_evolver *e, devo_model *m, const float *x, const float *y, size_t n,
                       devo_history *hist)
{
    if (e->dist && e->opt.batch_fitness_fn)
        return devo_evolver_agree(e, devo_fail(DEVO_ERR_UNSUPPORTED, "batch_fitness_fn: a run "
                                                                     "spread over processes "
                                                                     "takes fitness_fn"));
    sample_plan plan;
    devo_status status = devo_evolver_agree(e, plan_init(&plan, m, x, y, n, &e->opt));
    if (status == DEVO_OK) status = run(e, m, &plan);
    devo_report_finish(e->opt.verbose);
    plan_free(&plan);
    if (hist) {
        devo_status copied = devo_history_copy(hist, &e->history);
        if (status == DEVO_OK) status = copied;
    }
    return status;
}

/* Takes the data's fingerprint into e; a loaded state's must match it, unless the caller
 * accepted other data (devo_evolver_set_data). */
static devo_status check_same_data(devo_evolver *e, const devo_model *m, const float *x,
                                   const float *y, size_t n, const char *fn)
{
    char given[16];
    devo_data_fingerprint(x, y, n, m->input_dim, devo_model_target_width(m), given);
    if (e->data_saved && e->data_fingerprint[0] && !e->accept_other_data &&
        strcmp(given, e->data_fingerprint) != 0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: the data (fingerprint %s) differs from the data the state was "
                         "saved with (%s%s%s, fingerprint %s)", fn, given,
                         e->saved_data_name ? "'" : "",
                         e->saved_data_name ? e->saved_data_name : "unnamed",
                         e->saved_data_name ? "'" : "", e->data_fingerprint);
    memcpy(e->data_fingerprint, given, sizeof given);
    e->data_saved = 0;
    return DEVO_OK;
}

devo_status devo_evolver_fit(devo_evolver *e, devo_model *m, const float *x, const float *y,
                             size_t n, devo_history *hist)
{
    const char *fn = "devo_evolver_fit";
    DEVO_REQUIRE_NONNULL(e, fn);
    // The shapes first: x is scanned with the evolver's width, never a wider model's.
    devo_status status = devo_model_check_compiled(m, fn);
    if (status == DEVO_OK && !devo_same_architecture(m, e->arch))
        status = devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: m's architecture differs from the "
                                                      "evolver's", fn);
    if (status == DEVO_OK) status = check_fit_arguments(m, x, y, n, &e->opt, fn);
    if (status == DEVO_OK) status = check_same_data(e, m, x, y, n, fn);
    DEVO_TRY(devo_evolver_agree(e, status));
    if (e->dist) { // every process fits the same data
        char text[48];
        snprintf(text, sizeof text, "data_fingerprint=%s\n", e->data_fingerprint);
        DEVO_TRY(e->dist->same(e->dist->ctx, text, fn));
    }
    return fit(e, m, x, y, n, hist);
}

devo_status devo_fit_evolve(devo_model *m, const float *x, const float *y, size_t n,
                            const devo_evolve_options *opt, devo_history *hist)
{
    devo_evolve_options defaults;
    devo_evolve_options_init(&defaults);
    const devo_evolve_options *o = opt ? opt : &defaults;
    DEVO_TRY(check_fit_arguments(m, x, y, n, o, "devo_fit_evolve"));
    devo_evolver *e;
    DEVO_TRY(devo_evolver_open(&e, m, o, "devo_fit_evolve", NULL, DEVO_WHOLE));
    devo_status status = fit(e, m, x, y, n, hist);
    devo_evolver_free(e);
    return status;
}
