/*
 * evolver.c - the evolution engine and the public ask/tell API (see evolver.h).
 */
#include "evolver.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "check_data.h"
#include "clock.h"
#include "error.h"
#include "history.h"
#include "options.h"
#include "selection.h"
#include "strategy.h"

void devo_evolver_free(devo_evolver *e)
{
    if (!e) return;
    if (e->dist) e->dist->destroy(e->dist->ctx);
    if (e->algorithm) e->algorithm->destroy(e->algorithm_state);
    if (e->device) e->device->destroy(e->device_ctx);
    devo_model_free(e->arch);
    free(e->fitness);
    free(e->spare);
    free(e->order);
    free(e->best);
    devo_history_free(&e->history);
    free(e->data_name);
    free(e->saved_data_name);
    free(e);
}

/* The device the algorithm asks for, the algorithm over it, and the first population (or
 * the saved one). */
static devo_status open_engine(devo_evolver *e, const char *fn, const float *population,
                               devo_part part)
{
    const devo_device_i *device;
    DEVO_TRY(devo_options_device_table(&e->opt, &device));
    const devo_algorithm_i *algorithm = devo_algorithm_for(&e->opt);
    devo_device_config *cfg = &e->device_config;
    devo_algorithm_device_config(&e->opt, e->arch, cfg);
    if (part.count > 1) devo_algorithm_device_part(cfg, part.index, part.count);
    devo_status status = device->create(&e->device_ctx, cfg);
    if (status != DEVO_OK) return devo_fail(status, "%s: %s", fn, devo_last_error());
    e->device = device;
    status = algorithm->create(&e->algorithm_state, &e->opt, cfg, device, e->device_ctx);
    if (status != DEVO_OK) return devo_fail(status, "%s: %s", fn, devo_last_error());
    e->algorithm = algorithm;
    if (!population) return algorithm->start(e->algorithm_state, e->arch->weights);
    return algorithm->resume(e->algorithm_state, population, 0);
}

devo_status devo_evolver_open(devo_evolver **out, const devo_model *m,
                              const devo_evolve_options *opt, const char *fn,
                              const float *population, devo_part part)
{
    if (!out) return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    DEVO_TRY(devo_model_check_compiled(m, fn));
    devo_evolve_options defaults;
    devo_evolve_options_init(&defaults);
    DEVO_TRY(devo_options_check(opt ? opt : &defaults, fn));
    DEVO_TRY(devo_strategy_check(opt ? opt : &defaults, m, fn));
    devo_evolver *e = calloc(1, sizeof *e);
    if (!e) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    e->opt = opt ? *opt : defaults;
    e->P = e->opt.population;
    e->k = e->opt.top_k;
    e->D = m->param_count;
    e->best_ever = NAN;
    e->center_fitness = NAN;
    e->start_seconds = devo_now_seconds();
    // The device first: it refuses a run that does not fit before the host arrays are made.
    devo_status status = devo_model_clone(m, &e->arch);
    if (status == DEVO_OK) status = open_engine(e, fn, population, part);
    if (status == DEVO_OK) {
        e->fitness = malloc(e->P * sizeof *e->fitness);
        e->spare = malloc(e->P * sizeof *e->spare);
        e->order = malloc(e->P * sizeof *e->order);
        e->best = malloc(e->D * sizeof *e->best);
        if (!e->fitness || !e->spare || !e->order || !e->best)
            status = devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu individuals",
                               fn, e->P);
    }
    if (status != DEVO_OK) {
        devo_evolver_free(e);
        return status;
    }
    for (size_t i = 0; i < e->P; i++) {
        e->fitness[i] = NAN;
        e->order[i] = i;
    }
    memcpy(e->best, e->arch->weights, e->D * sizeof *e->best); // individual 0 until selected
    *out = e;
    return DEVO_OK;
}

devo_status devo_evolver_agree(const devo_evolver *e, devo_status status)
{
    return e->dist ? e->dist->agree(e->dist->ctx, status) : status;
}

devo_status devo_evolver_select(devo_evolver *e)
{
    devo_status status = devo_history_reserve(&e->history, &e->history_capacity, e->generation + 1);
    if (status == DEVO_OK) status = e->device->rank(e->device_ctx, e->fitness, e->order);
    DEVO_TRY(devo_evolver_agree(e, status));
    if (isnan(e->fitness[e->order[0]]))
        return devo_fail(DEVO_ERR_NUMERIC, "generation %zu: every fitness is NaN",
                         e->generation + 1);
    // Spread over processes, each holds only its share: the elites come from their holders.
    status = e->dist ? e->dist->share_elites(e->dist->ctx, e) : DEVO_OK;
    // A search distribution's answer is its centre; the GA's, its best individual.
    if (status == DEVO_OK) status = e->algorithm->answer(e->algorithm_state, e->order, e->best);
    DEVO_TRY(devo_evolver_agree(e, status));
    e->generation++;
    devo_generation_stats *stats = &e->last;
    memset(stats, 0, sizeof *stats);
    devo_elite_stats(e->fitness, e->order, e->P, e->k, stats);
    if (isnan(e->best_ever) || stats->best > e->best_ever) e->best_ever = stats->best;
    stats->generation = e->generation;
    stats->max_generations = e->max_generations;
    stats->best_ever = e->best_ever;
    stats->evaluations = e->evaluations;
    stats->seconds = devo_now_seconds() - e->start_seconds;
    stats->center = e->center_fitness;
    e->center_fitness = NAN;
    devo_history_append(&e->history, stats);
    return DEVO_OK;
}

devo_status devo_evolver_breed(devo_evolver *e)
{
    // Spread over processes, this process makes its share of the next generation's
    // evaluated slots; alone, all of them.
    size_t first = 0, count = e->P;
    if (e->dist) e->dist->share(e->dist->ctx, e->share_from, &first, &count);
    devo_status status = e->algorithm->next(e->algorithm_state, e->fitness, e->order,
                                            (uint32_t)e->generation, first, count);
    DEVO_TRY(devo_evolver_agree(e, status));
    // Elites move to slots 0..k-1 in rank order; children are not evaluated yet.
    for (size_t i = 0; i < e->P; i++) e->spare[i] = i < e->k ? e->fitness[e->order[i]] : NAN;
    double *swap = e->fitness;
    e->fitness = e->spare;
    e->spare = swap;
    return DEVO_OK;
}

/* ------------------------------------------------------------ public ask/tell */

devo_status devo_evolver_create(devo_evolver **out, const devo_model *m,
                                const devo_evolve_options *opt)
{
    return devo_evolver_open(out, m, opt, "devo_evolver_create", NULL, DEVO_WHOLE);
}

devo_status devo_evolver_ask(devo_evolver *e, const float **weights, size_t *population,
                             size_t *dim)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_ask");
    if (weights) DEVO_TRY(e->device->view(e->device_ctx, weights));
    if (population) *population = e->P;
    if (dim) *dim = e->D;
    return DEVO_OK;
}

devo_status devo_evolver_tell(devo_evolver *e, const double *fitness)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_tell");
    DEVO_REQUIRE_NONNULL(fitness, "devo_evolver_tell");
    if (e->generation + 1 >= UINT32_MAX)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "devo_evolver_tell: too many generations");
    memcpy(e->fitness, fitness, e->P * sizeof *fitness);
    e->evaluations += e->P;
    devo_status status = devo_evolver_select(e);
    if (status != DEVO_OK) {
        e->evaluations -= e->P; // a failed tell changes nothing
        return devo_fail(status, "devo_evolver_tell: %s", devo_last_error());
    }
    return devo_evolver_breed(e);
}

devo_status devo_evolver_stats(const devo_evolver *e, devo_generation_stats *stats)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_stats");
    DEVO_REQUIRE_NONNULL(stats, "devo_evolver_stats");
    if (e->generation == 0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "devo_evolver_stats: no generation has been told yet");
    *stats = e->last;
    return DEVO_OK;
}

devo_status devo_evolver_forward(devo_evolver *e, const float *x, size_t rows, float *y)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_forward");
    DEVO_REQUIRE_NONNULL(x, "devo_evolver_forward");
    DEVO_REQUIRE_NONNULL(y, "devo_evolver_forward");
    if (rows == 0 || rows > SIZE_MAX / e->P / e->arch->input_dim)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "devo_evolver_forward: rows must be > 0 and population x rows x inputs "
                         "must fit in memory (got %zu rows)", rows);
    DEVO_TRY(devo_check_finite(x, e->P * rows, e->arch->input_dim, "x", "devo_evolver_forward"));
    return e->device->forward(e->device_ctx, x, rows, y);
}

devo_status devo_evolver_predict(devo_evolver *e, const float *x, size_t n, float *y)
{
    const char *fn = "devo_evolver_predict";
    DEVO_REQUIRE_NONNULL(e, fn);
    DEVO_REQUIRE_NONNULL(x, fn);
    DEVO_REQUIRE_NONNULL(y, fn);
    size_t outputs = devo_model_output_dim(e->arch);
    if (n == 0 || n > SIZE_MAX / sizeof(float) / e->P / outputs)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: n must be > 0 and population x n x outputs must fit in memory "
                         "(got %zu samples)", fn, n);
    DEVO_TRY(devo_check_finite(x, n, e->arch->input_dim, "x", fn));
    devo_status status = e->device->predict(e->device_ctx, x, n, y);
    if (status != DEVO_OK) return devo_fail(status, "%s: %s", fn, devo_last_error());
    return DEVO_OK;
}

int devo_same_architecture(const devo_model *a, const devo_model *b)
{
    if (a->input_dim != b->input_dim || a->layer_count != b->layer_count) return 0;
    for (size_t l = 0; l < a->layer_count; l++)
        if (a->layers[l].units != b->layers[l].units || a->layers[l].act != b->layers[l].act)
            return 0;
    return 1;
}

devo_status devo_evolver_best(const devo_evolver *e, devo_model *dst, double *fitness)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_best");
    DEVO_TRY(devo_model_check_compiled(dst, "devo_evolver_best"));
    if (e->generation == 0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "devo_evolver_best: no generation has been told yet");
    if (!devo_same_architecture(e->arch, dst))
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "devo_evolver_best: dst's architecture differs from the evolver's");
    memcpy(dst->weights, e->best, e->D * sizeof(float));
    if (fitness) *fitness = e->algorithm->has_center ? e->last.center : e->last.best;
    return DEVO_OK;
}

size_t devo_evolver_generation(const devo_evolver *e) { return e ? e->generation : 0; }

devo_status devo_evolver_options(const devo_evolver *e, devo_evolve_options *opt)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_options");
    DEVO_REQUIRE_NONNULL(opt, "devo_evolver_options");
    *opt = e->opt;
    return DEVO_OK;
}

devo_status devo_evolver_history(const devo_evolver *e, devo_history *hist)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_history");
    DEVO_REQUIRE_NONNULL(hist, "devo_evolver_history");
    return devo_history_copy(hist, &e->history);
}

devo_status devo_evolver_model(const devo_evolver *e, devo_model **out)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_model");
    DEVO_REQUIRE_NONNULL(out, "devo_evolver_model");
    devo_model *m;
    DEVO_TRY(devo_model_clone(e->arch, &m));
    memcpy(m->weights, e->best, e->D * sizeof(float));
    *out = m;
    return DEVO_OK;
}

void devo_data_fingerprint(const float *x, const float *y, size_t n, size_t inputs,
                           size_t width, char out[16])
{
    uint64_t count = n;
    uLong crc = crc32(0L, (const Bytef *)&count, sizeof count);
    crc = crc32_z(crc, (const Bytef *)x, n * inputs * sizeof(float));
    crc = crc32_z(crc, (const Bytef *)y, n * width * sizeof(float));
    snprintf(out, 16, "%08lx", (unsigned long)(crc & 0xffffffffUL));
}

devo_status devo_evolver_set_data(devo_evolver *e, const char *name, int accept_other_data)
{
    DEVO_REQUIRE_NONNULL(e, "devo_evolver_set_data");
    if (name) {
        char *copy = strdup(name);
        if (!copy) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "devo_evolver_set_data: out of memory");
        free(e->data_name);
        e->data_name = copy;
    }
    e->accept_other_data = accept_other_data != 0;
    return DEVO_OK;
}
