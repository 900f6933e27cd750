/*
 * state_resume.c - devo_evolver_load_state: an evolver rebuilt from a
 * validated state file (state_file.c), with the options the caller may
 * change (those that cannot change the trajectory) applied.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "evolver.h"
#include "history.h"
#include "options.h"
#include "state.h"

/* Fails naming overrides->field when it differs from the saved value. */
#define SAME_AS_SAVED(field)                                                                   \
    do {                                                                                       \
        if (overrides->field != saved->field)                                                  \
            return devo_fail(DEVO_ERR_INVALID_ARGUMENT,                                        \
                             "%s: overrides.%s differs from the saved run's; only "            \
                             "max_generations, verbose, threads and callbacks may change",     \
                             fn, #field);                                                      \
    } while (0)

/* *saved becomes *overrides once every trajectory field is checked to be the same. */
static devo_status apply_overrides(devo_evolve_options *saved, int custom_fitness,
                                   const devo_evolve_options *overrides, const char *fn)
{
    SAME_AS_SAVED(population);
    SAME_AS_SAVED(top_k);
    SAME_AS_SAVED(mutation_rate);
    SAME_AS_SAVED(mutation_std);
    SAME_AS_SAVED(init_std);
    SAME_AS_SAVED(fitness);
    SAME_AS_SAVED(batch_size);
    SAME_AS_SAVED(fitness_samples);
    SAME_AS_SAVED(seed);
    SAME_AS_SAVED(backend);
    SAME_AS_SAVED(precision);
    SAME_AS_SAVED(strategy);
    SAME_AS_SAVED(learning_rate);
    SAME_AS_SAVED(sigma);
    SAME_AS_SAVED(perturbation_rank);
    SAME_AS_SAVED(weight_decay);
    SAME_AS_SAVED(sigma_final);
    if (saved->strategy != DEVO_STRATEGY_GA && saved->sigma_final > 0.0)
        SAME_AS_SAVED(max_generations); // the sigma schedule spans the saved max_generations
    if (devo_options_custom_fitness(overrides) != custom_fitness)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: overrides.fitness_fn or batch_fitness_fn must be %s: the saved run "
                         "%s a custom fitness", fn, custom_fitness ? "set" : "NULL",
                         custom_fitness ? "had" : "had no");
    DEVO_TRY(devo_options_check(overrides, fn));
    *saved = *overrides;
    return DEVO_OK;
}

/* Copies a saved ES distribution into e's algorithm (the same listing, from the same
 * options) and draws the population of the saved generation around it. */
static devo_status restore_es(devo_evolver *e, const devo_state *s, const char *fn)
{
    devo_state_tensor dst[DEVO_ALGORITHM_STATE_MAX];
    size_t count = e->algorithm->list(e->algorithm_state, dst);
    if (count != s->es_count)
        return devo_fail(DEVO_ERR_INTERNAL, "%s: the algorithm's state differs from the file's",
                         fn);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(dst[i].name, s->es[i].name) != 0 || dst[i].length != s->es[i].length)
            return devo_fail(DEVO_ERR_INTERNAL, "%s: the algorithm's state differs from the "
                                                "file's at '%s'", fn, s->es[i].name);
        if (dst[i].f32) memcpy(dst[i].f32, s->es[i].f32, dst[i].length * sizeof(float));
        else *dst[i].count = *s->es[i].count;
    }
    return e->algorithm->resume(e->algorithm_state, NULL, (uint32_t)s->generation);
}

/* Moves the saved run's position into e, created from the saved population. */
static void restore(devo_evolver *e, devo_state *s)
{
    memcpy(e->fitness, s->fitness, e->P * sizeof *e->fitness);
    memcpy(e->order, s->order, e->P * sizeof *e->order);
    memcpy(e->best, s->arch->weights, e->D * sizeof *e->best);
    e->best_ever = s->best_ever;
    e->evaluations = s->evaluations;
    e->generation = s->generation;
    e->max_generations = s->planned_generations;
    e->history = s->history;
    e->history_capacity = s->history.generations;
    memset(&s->history, 0, sizeof s->history);
    if (e->generation > 0) {
        devo_history_row(&e->history, e->generation - 1, &e->last);
        e->last.max_generations = e->max_generations;
    }
    e->start_seconds = devo_now_seconds() - s->elapsed_seconds;
    if (s->data_name && s->data_name[0]) { // moved; "" (unnamed) stays NULL
        e->saved_data_name = s->data_name;
        s->data_name = NULL;
    }
    memcpy(e->data_fingerprint, s->data_fingerprint, sizeof e->data_fingerprint);
    e->data_saved = 1;
}

devo_status devo_evolver_load_state(devo_evolver **out, const char *path,
                                    const devo_evolve_options *overrides)
{
    return devo_evolver_load_state_part(out, path, overrides, DEVO_WHOLE);
}

devo_status devo_evolver_load_state_part(devo_evolver **out, const char *path,
                                         const devo_evolve_options *overrides, devo_part part)
{
    const char *fn = "devo_evolver_load_state";
    DEVO_REQUIRE_NONNULL(out, fn);
    DEVO_REQUIRE_NONNULL(path, fn);
    devo_state s;
    DEVO_TRY(devo_state_read(&s, path));
    devo_status status = DEVO_OK;
    if (overrides) status = apply_overrides(&s.opt, s.custom_fitness, overrides, fn);
    else if (s.custom_fitness)
        status = devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: %s was saved with a custom fitness: "
                                                      "pass it as overrides->fitness_fn or batch_fitness_fn", fn, path);
    devo_evolver *e = NULL;
    if (status == DEVO_OK) status = devo_evolver_open(&e, s.arch, &s.opt, fn, s.population, part);
    if (status == DEVO_OK && s.strategy) status = restore_es(e, &s, fn);
    if (status == DEVO_OK) {
        if (s.unchecked && e->opt.verbose > 0)
            fprintf(stderr, "devo: %s is a state file without a checksum (before version 3): "
                            "loaded unverified\n", path);
        restore(e, &s);
        status = devo_evolver_set_data(e, e->saved_data_name, 0);
    }
    if (status == DEVO_OK) {
        *out = e;
    } else {
        devo_evolver_free(e);
    }
    devo_state_free(&s);
    return status;
}
