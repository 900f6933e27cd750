/*
 * state_file.c - the state file: devo_evolver_save_state and devo_state_read
 * (see state.h and docs/checkpoint.md). A safetensors file whose __metadata__
 * holds the version, the strategy tag, the architecture, every option and
 * the run's counters as strings, and whose tensors are named by what they hold:
 *   fitness F64 (P)   order I64 (P)   best F32 (D)
 *   history/{best,mean,std,population_mean,best_ever,seconds,center} F64 (G)
 *   history/evaluations I64 (G)                       with G = generation
 *   the GA:  population F32 (P, D)
 *   an ES:   es/center, es/sigma F32 (D), es/told I64 (1), then its strategy's
 *            (devo_strategy_i.state: F32 (D) tensors, I64 (1) counters)
 * Version 3 adds the data's name and fingerprint (data, data_fingerprint) and data_crc32, the
 * CRC-32 of the data section, checked on load. Version 2 (no data, no checksum) and version 1
 * (GA only: no history/center, no strategy options) still load.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "evolver.h"
#include "history.h"
#include "names.h"
#include "options.h"
#include "safetensors.h"
#include "state.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const fitness_names[] = {"neg_loss", "accuracy"};
static const char *const backend_names[] = {"auto", "cpu", "cuda"};
static const char *const precision_names[] = {"fp32", "tf32", "bf16"};
/* Indexed by devo_strategy. */
static const char *const strategy_names[] = {"ga", "openai-es", "pgpe", "snes"};

/* Tensors every state holds: fitness, order, best, the history (version 1: no center). */
enum { COMMON_TENSORS = 11, META_KEYS_V1 = 25, META_KEYS_V2 = 30, META_KEYS = 33 };
enum { HISTORY_DOUBLES = 7 };
enum { MAX_TENSORS = COMMON_TENSORS + 1 + DEVO_ALGORITHM_STATE_MAX };

static const char *const history_names[HISTORY_DOUBLES] = {
    "history/best", "history/mean", "history/std", "history/population_mean",
    "history/best_ever", "history/seconds", "history/center"};

static double *history_column(const devo_history *h, int c)
{
    double *columns[HISTORY_DOUBLES] = {h->best, h->mean, h->std, h->population_mean,
                                        h->best_ever, h->seconds, h->center};
    return columns[c];
}

/* The history columns of a version's file: version 1 lacks the last (center). */
static int history_doubles(unsigned version)
{
    return version == 1 ? HISTORY_DOUBLES - 1 : HISTORY_DOUBLES;
}

/* The file's entry for a listed piece of ES state: F32 (length), or a counter as I64 (1). */
static devo_st_tensor es_entry(const devo_state_tensor *t)
{
    if (t->f32) return (devo_st_tensor){t->name, DEVO_ST_F32, 1, {t->length, 0}, t->f32};
    return (devo_st_tensor){t->name, DEVO_ST_I64, 1, {1, 0}, t->count};
}

/* ------------------------------------------------------------------------------- save */

static void put_text(json_t *meta, const char *key, const char *value)
{
    json_object_set_new(meta, key, json_string(value));
}

static void put_uint(json_t *meta, const char *key, uint64_t value)
{
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)value);
    put_text(meta, key, text);
}

/* %.17g reads back to the same double; NaN is written "nan". */
static void put_double(json_t *meta, const char *key, double value)
{
    char text[40];
    snprintf(text, sizeof text, "%.17g", value);
    put_text(meta, key, isnan(value) ? "nan" : text);
}

static json_t *state_metadata(const devo_evolver *e)
{
    char *layers = devo_layers_text(e->arch); // no limit: a model file has none either
    if (!layers) return NULL;
    const devo_evolve_options *o = &e->opt;
    json_t *meta = json_object();
    put_uint(meta, "devo_state_version", DEVO_STATE_VERSION);
    put_text(meta, "strategy", strategy_names[o->strategy]);
    put_uint(meta, "input_dim", e->arch->input_dim);
    put_text(meta, "layers", layers);
    free(layers);
    put_text(meta, "loss", devo_loss_name(e->arch->loss));
    put_uint(meta, "population", o->population);
    put_uint(meta, "top_k", o->top_k);
    put_double(meta, "mutation_rate", o->mutation_rate);
    put_double(meta, "mutation_std", o->mutation_std);
    put_double(meta, "init_std", o->init_std);
    put_text(meta, "fitness", fitness_names[o->fitness]);
    put_uint(meta, "custom_fitness", devo_options_custom_fitness(o) != 0);
    put_uint(meta, "batch_size", o->batch_size);
    put_uint(meta, "fitness_samples", o->fitness_samples);
    put_uint(meta, "seed", o->seed);
    put_text(meta, "backend", backend_names[o->backend]);
    put_text(meta, "precision", precision_names[o->precision]);
    put_uint(meta, "max_generations", o->max_generations);
    put_uint(meta, "verbose", (uint64_t)o->verbose);
    put_uint(meta, "threads", (uint64_t)o->threads);
    put_double(meta, "learning_rate", o->learning_rate);
    put_double(meta, "sigma", o->sigma);
    put_uint(meta, "perturbation_rank", o->perturbation_rank);
    put_double(meta, "weight_decay", o->weight_decay);
    put_double(meta, "sigma_final", o->sigma_final);
    put_uint(meta, "generation", e->generation);
    put_uint(meta, "planned_generations", e->max_generations);
    put_uint(meta, "evaluations", e->evaluations);
    put_double(meta, "best_ever", e->best_ever);
    put_double(meta, "elapsed_seconds", devo_now_seconds() - e->start_seconds);
    put_text(meta, "data", e->data_name ? e->data_name : "");
    put_text(meta, "data_fingerprint", e->data_fingerprint);
    return meta;
}

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* What save writes, load accepts: a state the loader would refuse (an ES gone out of its
 * bounds, a non-finite weight) is DEVO_ERR_NUMERIC and no file is written. */
static devo_status check_loadable(const devo_evolver *e, const float *population,
                                  const devo_state_tensor *es, size_t es_count, const char *fn)
{
    char where[64];
    snprintf(where, sizeof where, "%s: generation %zu", fn, e->generation);
    for (size_t i = 0; i < es_count; i++)
        DEVO_TRY(devo_state_tensor_check(&es[i], DEVO_ERR_NUMERIC, where));
    if ((population && !all_finite(population, e->P * e->D)) || !all_finite(e->best, e->D))
        return devo_fail(DEVO_ERR_NUMERIC, "%s: the population or the best individual holds a "
                                           "non-finite weight: not written", where);
    return DEVO_OK;
}

/* Writes e's state with `population` (P x D; NULL: the device's; unused for an ES) to path. */
static devo_status write_state(const devo_evolver *e, const char *path, const float *population,
                               const char *fn)
{
    devo_state_tensor es[DEVO_ALGORITHM_STATE_MAX];
    size_t es_count = e->algorithm->list(e->algorithm_state, es);
    if (!es_count && !population) DEVO_TRY(e->device->view(e->device_ctx, &population));
    DEVO_TRY(check_loadable(e, population, es, es_count, fn));
    int64_t *order = malloc(e->P * sizeof *order);
    json_t *meta = order ? state_metadata(e) : NULL;
    if (!meta) {
        free(order);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    }
    for (size_t i = 0; i < e->P; i++) order[i] = (int64_t)e->order[i];
    uint64_t G = e->generation;
    const devo_history *h = &e->history;
    // 8-byte elements first: every tensor starts aligned to its element size.
    devo_st_tensor tensors[MAX_TENSORS] = {
        {"fitness", DEVO_ST_F64, 1, {e->P, 0}, e->fitness},
        {"order", DEVO_ST_I64, 1, {e->P, 0}, order},
        {"history/evaluations", DEVO_ST_I64, 1, {G, 0}, h->evaluations},
    };
    size_t n = 3;
    for (int c = 0; c < HISTORY_DOUBLES; c++)
        tensors[n++] = (devo_st_tensor){history_names[c], DEVO_ST_F64, 1, {G, 0},
                                        history_column(h, c)};
    for (size_t i = 0; i < es_count; i++)
        if (!es[i].f32) tensors[n++] = es_entry(&es[i]);
    if (!es_count)
        tensors[n++] = (devo_st_tensor){"population", DEVO_ST_F32, 2, {e->P, e->D}, population};
    tensors[n++] = (devo_st_tensor){"best", DEVO_ST_F32, 1, {e->D, 0}, e->best};
    for (size_t i = 0; i < es_count; i++)
        if (es[i].f32) tensors[n++] = es_entry(&es[i]);
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", (unsigned)devo_st_crc32(tensors, n));
    put_text(meta, "data_crc32", crc);
    devo_status status = devo_st_write(path, meta, tensors, n, fn);
    json_decref(meta);
    free(order);
    return status;
}

devo_status devo_evolver_save_state(const devo_evolver *e, const char *path)
{
    const char *fn = "devo_evolver_save_state";
    DEVO_REQUIRE_NONNULL(e, fn);
    DEVO_REQUIRE_NONNULL(path, fn);
    if (!e->dist) return write_state(e, path, NULL, fn);
    if (e->algorithm->has_center) // an ES: every process holds the whole state; the root writes it
        return devo_evolver_agree(e, e->dist->root ? write_state(e, path, NULL, fn) : DEVO_OK);
    // Spread over processes: the population is gathered into the root, which writes it.
    float *all = NULL;
    devo_status status = e->dist->gather_population(e->dist->ctx, (devo_evolver *)e, &all);
    if (status == DEVO_OK && e->dist->root) status = write_state(e, path, all, fn);
    free(all);
    return devo_evolver_agree(e, status);
}

/* ------------------------------------------------------------------------------- read */

/* Metadata `key` as a decimal integer in [0, max]. */
static devo_status meta_uint(const devo_st_file *st, const char *key, uint64_t max,
                             uint64_t *out)
{
    const char *text = devo_st_meta(st, key);
    char *end = NULL;
    errno = 0;
    unsigned long long v = text ? strtoull(text, &end, 10) : 0;
    if (!text || text[0] < '0' || text[0] > '9' || *end || errno || v > max)
        return devo_fail(DEVO_ERR_FORMAT, "%s: __metadata__ '%s' is %s%s%s, not an integer in "
                                          "[0, %llu]", st->path, key, text ? "'" : "missing",
                         text ? text : "", text ? "'" : "", (unsigned long long)max);
    *out = v;
    return DEVO_OK;
}

static devo_status meta_size(const devo_st_file *st, const char *key, uint64_t max, size_t *out)
{
    uint64_t v;
    DEVO_TRY(meta_uint(st, key, max, &v));
    *out = (size_t)v;
    return DEVO_OK;
}

/* Metadata `key` as a finite double; a fitness (allow_fitness: best_ever) may also be "nan",
 * "inf" or "-inf" (the scores told may be infinite). */
static devo_status meta_double(const devo_st_file *st, const char *key, int allow_fitness,
                               double *out)
{
    const char *text = devo_st_meta(st, key);
    char *end = NULL;
    double v = text ? strtod(text, &end) : 0.0;
    int special = strcmp(text ? text : "", "nan") == 0 || strcmp(text ? text : "", "inf") == 0 ||
                  strcmp(text ? text : "", "-inf") == 0;
    int ok = text && text[0] && !*end && (isfinite(v) || (allow_fitness && special));
    if (!ok)
        return devo_fail(DEVO_ERR_FORMAT, "%s: __metadata__ '%s' is not a finite number%s",
                         st->path, key, allow_fitness ? " or nan, inf, -inf" : "");
    *out = v;
    return DEVO_OK;
}

/* Metadata `key` as one of `names`; its index into *out. */
static devo_status meta_choice(const devo_st_file *st, const char *key, const char *const *names,
                               size_t count, int *out)
{
    const char *text = devo_st_meta(st, key);
    int found = -1;
    for (size_t i = 0; text && i < count; i++)
        if (strcmp(text, names[i]) == 0) found = (int)i;
    if (found < 0)
        return devo_fail(DEVO_ERR_FORMAT, "%s: __metadata__ '%s' is missing or not a known value",
                         st->path, key);
    *out = found;
    return DEVO_OK;
}

/* The architecture: a compiled model of the saved input width, layers and loss. */
static devo_status read_architecture(const devo_st_file *st, devo_model **out)
{
    size_t input_dim;
    devo_loss loss;
    DEVO_TRY(meta_size(st, "input_dim", (uint64_t)1 << 31, &input_dim));
    const char *layers = devo_st_meta(st, "layers"), *loss_name = devo_st_meta(st, "loss");
    if (!layers || !loss_name || !devo_loss_from_name(loss_name, &loss) || input_dim == 0)
        return devo_fail(DEVO_ERR_FORMAT, "%s: __metadata__ lacks a valid input_dim, layers or "
                                          "loss", st->path);
    devo_model *m = NULL;
    DEVO_TRY(devo_model_create(&m, input_dim));
    devo_status status = devo_layers_parse(m, layers, st->path);
    if (status != DEVO_OK) status = devo_fail(DEVO_ERR_FORMAT, "%s", devo_last_error());
    // The declared shape against the file before the weights are allocated: 'best' holds D
    // floats, and the file's data section holds 'best'.
    if (status == DEVO_OK)
        status = devo_st_check(st, "best", DEVO_ST_F32, 1, (uint64_t[2]){m->param_count, 0});
    if (status == DEVO_OK) status = devo_model_compile(m, loss);
    if (status != DEVO_OK) {
        devo_model_free(m);
        return status;
    }
    *out = m;
    return DEVO_OK;
}

/* The version, strategy and saved options (validated as devo_evolver_create would). */
static devo_status read_options(const devo_st_file *st, devo_evolve_options *o,
                                int *custom_fitness, unsigned *version_out)
{
    uint64_t version = 0, custom = 0, seed = 0, verbose = 0, threads = 0;
    int fitness = 0, backend = 0, precision = 0, strategy = 0;
    DEVO_TRY(meta_uint(st, "devo_state_version", UINT32_MAX, &version));
    if (version < 1 || version > DEVO_STATE_VERSION)
        return devo_fail(DEVO_ERR_FORMAT, "%s: devo_state_version %llu is not one this devo "
                                          "reads (1 to %d)", st->path,
                         (unsigned long long)version, DEVO_STATE_VERSION);
    size_t keys = version == 1 ? META_KEYS_V1 : version == 2 ? META_KEYS_V2 : META_KEYS;
    if (json_object_size(st->meta) != keys)
        return devo_fail(DEVO_ERR_FORMAT, "%s: __metadata__ has %zu keys, a version %llu state %zu",
                         st->path, json_object_size(st->meta), (unsigned long long)version, keys);
    DEVO_TRY(meta_choice(st, "strategy", strategy_names, version == 1 ? 1 : COUNT(strategy_names),
                         &strategy));
    devo_evolve_options_init(o);
    DEVO_TRY(meta_size(st, "population", UINT32_MAX, &o->population));
    DEVO_TRY(meta_size(st, "top_k", UINT32_MAX, &o->top_k));
    DEVO_TRY(meta_double(st, "mutation_rate", 0, &o->mutation_rate));
    DEVO_TRY(meta_double(st, "mutation_std", 0, &o->mutation_std));
    DEVO_TRY(meta_double(st, "init_std", 0, &o->init_std));
    DEVO_TRY(meta_choice(st, "fitness", fitness_names, COUNT(fitness_names), &fitness));
    DEVO_TRY(meta_uint(st, "custom_fitness", 1, &custom));
    DEVO_TRY(meta_size(st, "batch_size", UINT32_MAX, &o->batch_size));
    DEVO_TRY(meta_size(st, "fitness_samples", SIZE_MAX, &o->fitness_samples));
    DEVO_TRY(meta_uint(st, "seed", UINT64_MAX, &seed));
    DEVO_TRY(meta_choice(st, "backend", backend_names, COUNT(backend_names), &backend));
    DEVO_TRY(meta_choice(st, "precision", precision_names, COUNT(precision_names), &precision));
    DEVO_TRY(meta_size(st, "max_generations", UINT32_MAX, &o->max_generations));
    DEVO_TRY(meta_uint(st, "verbose", 2, &verbose));
    DEVO_TRY(meta_uint(st, "threads", INT32_MAX, &threads));
    if (version > 1) {
        DEVO_TRY(meta_double(st, "learning_rate", 0, &o->learning_rate));
        DEVO_TRY(meta_double(st, "sigma", 0, &o->sigma));
        DEVO_TRY(meta_size(st, "perturbation_rank", UINT32_MAX, &o->perturbation_rank));
        DEVO_TRY(meta_double(st, "weight_decay", 0, &o->weight_decay));
        DEVO_TRY(meta_double(st, "sigma_final", 0, &o->sigma_final));
    }
    o->strategy = (devo_strategy)strategy;
    o->fitness = (devo_fitness)fitness;
    o->seed = seed;
    o->backend = (devo_backend)backend;
    o->precision = (devo_precision)precision;
    o->verbose = (int)verbose;
    o->threads = (int)threads;
    *custom_fitness = (int)custom;
    *version_out = (unsigned)version;
    if (devo_options_check(o, st->path) != DEVO_OK)
        return devo_fail(DEVO_ERR_FORMAT, "%s", devo_last_error());
    return DEVO_OK;
}

/* Eight lowercase hexadecimal digits. */
static int is_hex8(const char *text)
{
    if (!text || strlen(text) != 8) return 0;
    for (int i = 0; i < 8; i++)
        if (!strchr("0123456789abcdef", text[i])) return 0;
    return 1;
}

/* Version 3: the data section against its checksum, then the data's name and fingerprint.
 * An older file has neither: s->unchecked. */
static devo_status read_data(const devo_st_file *st, devo_state *s, unsigned version)
{
    s->unchecked = version < 3;
    if (s->unchecked) return DEVO_OK;
    const char *crc_text = devo_st_meta(st, "data_crc32");
    const char *name = devo_st_meta(st, "data");
    const char *fingerprint = devo_st_meta(st, "data_fingerprint");
    uint32_t crc = 0;
    if (!is_hex8(crc_text) || !name || !fingerprint ||
        (fingerprint[0] && !is_hex8(fingerprint)))
        return devo_fail(DEVO_ERR_FORMAT, "%s: __metadata__ lacks a valid data_crc32, data or "
                                          "data_fingerprint", st->path);
    DEVO_TRY(devo_st_data_crc32(st, &crc));
    if (strtoul(crc_text, NULL, 16) != crc)
        return devo_fail(DEVO_ERR_FORMAT, "%s: the data section's CRC-32 is %08x, the header's "
                                          "data_crc32 %s: the file is corrupt", st->path,
                         (unsigned)crc, crc_text);
    s->data_name = strdup(name);
    if (!s->data_name) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", st->path);
    snprintf(s->data_fingerprint, sizeof s->data_fingerprint, "%s", fingerprint);
    return DEVO_OK;
}

/* The counters: generation, planned generations, evaluations, best_ever, elapsed time. */
static devo_status read_counters(const devo_st_file *st, devo_state *s)
{
    DEVO_TRY(meta_size(st, "generation", UINT32_MAX - 2u, &s->generation));
    DEVO_TRY(meta_size(st, "planned_generations", UINT32_MAX, &s->planned_generations));
    DEVO_TRY(meta_uint(st, "evaluations", INT64_MAX, &s->evaluations));
    DEVO_TRY(meta_double(st, "best_ever", 1, &s->best_ever));
    DEVO_TRY(meta_double(st, "elapsed_seconds", 0, &s->elapsed_seconds));
    if (isnan(s->best_ever) != (s->generation == 0))
        return devo_fail(DEVO_ERR_FORMAT, "%s: best_ever must be nan exactly before the first "
                                          "generation", st->path);
    if (s->elapsed_seconds < 0.0)
        return devo_fail(DEVO_ERR_FORMAT, "%s: elapsed_seconds is negative", st->path);
    return DEVO_OK;
}

/* Checks the presence, dtype and shape of every tensor but an ES's (es_tensors, checked by
 * check_es) before anything of size D or P is allocated. */
static devo_status check_tensors(const devo_st_file *st, const devo_state *s, unsigned version)
{
    uint64_t P = s->P, D = s->D, G = s->generation;
    if (s->opt.strategy == DEVO_STRATEGY_GA)
        DEVO_TRY(devo_st_check(st, "population", DEVO_ST_F32, 2, (uint64_t[2]){P, D}));
    else // the file holds D floats of centre: the strategy's state may be allocated
        DEVO_TRY(devo_st_check(st, "es/center", DEVO_ST_F32, 1, (uint64_t[2]){D, 0}));
    DEVO_TRY(devo_st_check(st, "fitness", DEVO_ST_F64, 1, (uint64_t[2]){P, 0}));
    DEVO_TRY(devo_st_check(st, "order", DEVO_ST_I64, 1, (uint64_t[2]){P, 0}));
    DEVO_TRY(devo_st_check(st, "best", DEVO_ST_F32, 1, (uint64_t[2]){D, 0}));
    DEVO_TRY(devo_st_check(st, "history/evaluations", DEVO_ST_I64, 1, (uint64_t[2]){G, 0}));
    for (int c = 0; c < history_doubles(version); c++)
        DEVO_TRY(devo_st_check(st, history_names[c], DEVO_ST_F64, 1, (uint64_t[2]){G, 0}));
    return DEVO_OK;
}

/* An ES: makes its strategy's state and checks every listed tensor, and the tensor count. */
static devo_status check_es(const devo_st_file *st, devo_state *s, unsigned version)
{
    size_t expected = COMMON_TENSORS - (version == 1) + 1; // + population
    if (s->opt.strategy != DEVO_STRATEGY_GA) {
        const devo_strategy_i *strategy = devo_strategy_table(s->opt.strategy);
        devo_strategy_config cfg = {
            .D = s->D, .P = s->P,
            .learning_rate = s->opt.learning_rate > 0.0 ? s->opt.learning_rate
                                                         : strategy->default_learning_rate,
            .weight_decay = s->opt.weight_decay,
        };
        s->center = malloc(s->D * sizeof(float));
        s->sigma = malloc(s->D * sizeof(float));
        if (!s->center || !s->sigma)
            return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", st->path);
        DEVO_TRY(strategy->create(&s->strategy_state, &cfg));
        s->strategy = strategy;
        s->es_count = devo_es_state_list(strategy, s->strategy_state, s->center, s->sigma,
                                         &s->told, s->D, s->es);
        for (size_t i = 0; i < s->es_count; i++) {
            devo_st_tensor t = es_entry(&s->es[i]);
            DEVO_TRY(devo_st_check(st, t.name, t.dtype, t.rank, t.shape));
        }
        expected += s->es_count - 1; // no population
    }
    if (st->tensors != expected)
        return devo_fail(DEVO_ERR_FORMAT, "%s: %zu tensors, a version %u %s state has %zu",
                         st->path, st->tensors, version, strategy_names[s->opt.strategy],
                         expected);
    return DEVO_OK;
}

/* Reads an ES's listed tensors and checks their values. */
static devo_status read_es(const devo_st_file *st, devo_state *s)
{
    for (size_t i = 0; i < s->es_count; i++) {
        const devo_state_tensor *t = &s->es[i];
        devo_st_tensor entry = es_entry(t);
        void *dst = t->f32 ? (void *)t->f32 : (void *)t->count;
        DEVO_TRY(devo_st_read(st, t->name, entry.dtype, 1, entry.shape, dst));
        if (!t->f32) {
            if (*t->count > (uint64_t)INT64_MAX)
                return devo_fail(DEVO_ERR_FORMAT, "%s: tensor '%s' is negative", st->path,
                                 t->name);
            continue;
        }
        DEVO_TRY(devo_state_tensor_check(t, DEVO_ERR_FORMAT, st->path));
    }
    if (s->told != s->generation)
        return devo_fail(DEVO_ERR_FORMAT, "%s: tensor 'es/told' (%llu) differs from generation "
                                          "(%zu)", st->path, (unsigned long long)s->told,
                         s->generation);
    return DEVO_OK;
}

/* Reads the ranking (a permutation of 0..P-1) into s->order. */
static devo_status read_order(const devo_st_file *st, devo_state *s)
{
    int64_t *raw = malloc(s->P * sizeof *raw);
    unsigned char *seen = calloc(s->P, 1);
    devo_status status = raw && seen ? devo_st_read(st, "order", DEVO_ST_I64, 1,
                                                    (uint64_t[2]){s->P, 0}, raw)
                                     : devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory",
                                                 st->path);
    for (size_t i = 0; status == DEVO_OK && i < s->P; i++) {
        if (raw[i] < 0 || (uint64_t)raw[i] >= s->P || seen[raw[i]])
            status = devo_fail(DEVO_ERR_FORMAT, "%s: tensor 'order' is not a permutation of "
                                                "0..%zu (entry %zu)", st->path, s->P - 1, i);
        else
            seen[raw[i]] = 1, s->order[i] = (size_t)raw[i];
    }
    free(raw);
    free(seen);
    return status;
}

/* Reads the history columns; G = generation records consistent with the counters. */
static devo_status read_history(const devo_st_file *st, devo_state *s, unsigned version)
{
    size_t capacity = 0, G = s->generation;
    devo_history *h = &s->history;
    DEVO_TRY(devo_history_reserve(h, &capacity, G));
    h->generations = G;
    uint64_t shape[2] = {G, 0};
    DEVO_TRY(devo_st_read(st, "history/evaluations", DEVO_ST_I64, 1, shape, h->evaluations));
    for (size_t g = 0; g < G; g++) h->center[g] = NAN; // version 1 (a GA's): no centre
    for (int c = 0; c < history_doubles(version); c++)
        DEVO_TRY(devo_st_read(st, history_names[c], DEVO_ST_F64, 1, shape, history_column(h, c)));
    for (size_t g = 0; g < G; g++)
        if (h->evaluations[g] > (uint64_t)INT64_MAX || (g > 0 && h->evaluations[g] < h->evaluations[g - 1]))
            return devo_fail(DEVO_ERR_FORMAT, "%s: history/evaluations decreases at generation "
                                              "%zu", st->path, g + 1);
    if (G > 0 && (h->evaluations[G - 1] != s->evaluations ||
                  memcmp(&h->best_ever[G - 1], &s->best_ever, sizeof(double)) != 0))
        return devo_fail(DEVO_ERR_FORMAT, "%s: the last history record disagrees with "
                                          "evaluations or best_ever", st->path);
    return DEVO_OK;
}

/* Reads the tensors the shapes were checked for, and checks their values. */
static devo_status read_tensors(const devo_st_file *st, devo_state *s, unsigned version)
{
    size_t P = s->P, D = s->D, ga = s->strategy == NULL;
    s->population = ga ? malloc(P * D * sizeof(float)) : NULL;
    s->fitness = malloc(P * sizeof(double));
    s->order = malloc(P * sizeof(size_t));
    if ((ga && !s->population) || !s->fitness || !s->order)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: cannot hold a population of %zu x %zu",
                         st->path, P, D);
    if (ga)
        DEVO_TRY(devo_st_read(st, "population", DEVO_ST_F32, 2, (uint64_t[2]){P, D},
                              s->population));
    else
        DEVO_TRY(read_es(st, s));
    DEVO_TRY(devo_st_read(st, "best", DEVO_ST_F32, 1, (uint64_t[2]){D, 0}, s->arch->weights));
    DEVO_TRY(devo_st_read(st, "fitness", DEVO_ST_F64, 1, (uint64_t[2]){P, 0}, s->fitness));
    if ((ga && !all_finite(s->population, P * D)) || !all_finite(s->arch->weights, D))
        return devo_fail(DEVO_ERR_FORMAT, "%s: tensor 'population' or 'best' holds a non-finite "
                                          "value", st->path);
    size_t elites = s->generation == 0 ? 0 : s->opt.top_k;
    for (size_t i = elites; i < P; i++)
        if (!isnan(s->fitness[i]))
            return devo_fail(DEVO_ERR_FORMAT, "%s: tensor 'fitness' has a value for child %zu, "
                                              "which has not been evaluated", st->path, i);
    DEVO_TRY(read_order(st, s));
    return read_history(st, s, version);
}

void devo_state_free(devo_state *s)
{
    devo_model_free(s->arch);
    free(s->population);
    free(s->fitness);
    free(s->order);
    devo_history_free(&s->history);
    if (s->strategy) s->strategy->destroy(s->strategy_state);
    free(s->center);
    free(s->sigma);
    free(s->data_name);
    memset(s, 0, sizeof *s);
}

/* Reads the whole state from an open file. */
static devo_status read_state(const devo_st_file *st, devo_state *s)
{
    unsigned version;
    DEVO_TRY(read_options(st, &s->opt, &s->custom_fitness, &version));
    DEVO_TRY(read_data(st, s, version));
    DEVO_TRY(read_counters(st, s));
    DEVO_TRY(read_architecture(st, &s->arch));
    if (devo_strategy_check(&s->opt, s->arch, st->path) != DEVO_OK)
        return devo_fail(DEVO_ERR_FORMAT, "%s", devo_last_error());
    s->P = s->opt.population;
    s->D = s->arch->param_count;
    DEVO_TRY(check_tensors(st, s, version));
    DEVO_TRY(check_es(st, s, version));
    return read_tensors(st, s, version);
}

devo_status devo_state_read(devo_state *s, const char *path)
{
    memset(s, 0, sizeof *s);
    devo_st_file st;
    devo_status status = devo_st_open(&st, path);
    if (status == DEVO_OK) status = read_state(&st, s);
    devo_st_close(&st);
    if (status != DEVO_OK) devo_state_free(s);
    return status;
}

/* Opens path and reads its saved options (the header only); close st after, also on failure. */
static devo_status open_options(devo_st_file *st, const char *path, devo_evolve_options *o,
                                unsigned *version)
{
    int custom;
    DEVO_TRY(devo_st_open(st, path));
    return read_options(st, o, &custom, version);
}

devo_status devo_state_options(const char *path, devo_evolve_options *opt)
{
    DEVO_REQUIRE_NONNULL(path, "devo_state_options");
    DEVO_REQUIRE_NONNULL(opt, "devo_state_options");
    devo_st_file st;
    unsigned version;
    devo_evolve_options o;
    devo_status status = open_options(&st, path, &o, &version);
    devo_st_close(&st);
    if (status == DEVO_OK) *opt = o;
    return status;
}

devo_status devo_state_data(const char *path, char *name, size_t size)
{
    const char *fn = "devo_state_data";
    DEVO_REQUIRE_NONNULL(path, fn);
    DEVO_REQUIRE_NONNULL(name, fn);
    devo_st_file st;
    unsigned version;
    devo_evolve_options o;
    devo_status status = open_options(&st, path, &o, &version);
    const char *saved = status == DEVO_OK && version >= 3 ? devo_st_meta(&st, "data") : "";
    if (status == DEVO_OK && (!saved || strlen(saved) >= size))
        status = devo_fail(saved ? DEVO_ERR_INVALID_ARGUMENT : DEVO_ERR_FORMAT,
                           "%s: %s's data name %s", fn, path,
                           saved ? "does not fit in name" : "is missing");
    if (status == DEVO_OK) memcpy(name, saved, strlen(saved) + 1);
    devo_st_close(&st);
    return status;
}
