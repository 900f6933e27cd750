/*
 * fuzz_state_load.c - fuzz target: the evolver state loader on arbitrary bytes.
 * devo_state_read (every validation of devo_evolver_load_state) must refuse
 * or accept without a crash, leak or read out of bounds; what it accepts must
 * hold its invariants, and, when the run it describes is small, load as an
 * evolver whose saved state reads back the same (a load that fails then is a
 * bug, but for a backend this build lacks). Seeds: corpus/state_load/ (GA
 * states of version 1 and 2, an ES state).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devo.h"
#include "fuzz_input.h"
#include "state.h"

/* The invariants an accepted state promises. */
static void check_accepted(const devo_state *s)
{
    unsigned char *seen = calloc(s->P, 1);
    if (!seen || s->P != s->opt.population || s->history.generations != s->generation ||
        s->D != devo_model_param_count(s->arch) || isnan(s->best_ever) != (s->generation == 0))
        abort();
    for (size_t i = 0; i < s->P; i++) {
        if (s->order[i] >= s->P || seen[s->order[i]]) abort();
        seen[s->order[i]] = 1;
    }
    for (size_t i = 0; s->population && i < s->P * s->D; i++)
        if (!isfinite(s->population[i])) abort();
    if ((s->population == NULL) != (s->strategy != NULL) ||
        (s->strategy && s->told != s->generation))
        abort();
    // An ES: its listing is centre, sigma, told, then its strategy's tensors, each within its
    // bound (sigma > 0, second moments >= 0, all finite), D long.
    if (s->strategy && (s->es_count < 3 || strcmp(s->es[0].name, "es/center") != 0 ||
                        strcmp(s->es[1].name, "es/sigma") != 0 || s->es[0].f32 != s->center ||
                        s->es[1].f32 != s->sigma))
        abort();
    for (size_t i = 0; i < s->es_count; i++)
        if ((s->es[i].f32 && s->es[i].length != s->D) ||
            devo_state_tensor_check(&s->es[i], DEVO_ERR_FORMAT, "fuzz") != DEVO_OK)
            abort();
    for (size_t j = 0; s->strategy && j < s->D; j++)
        if (!isfinite(s->center[j]) || !(s->sigma[j] > 0.0f) || !isfinite(s->sigma[j])) abort();
    free(seen);
}

/* Loads the state as an evolver, saves it again and reads it back: the same run. */
static void check_round_trip(const char *path, const devo_state *s)
{
    devo_evolve_options o = s->opt;
    o.threads = 1;
    o.verbose = 0;
    devo_evolver *e = NULL;
    devo_status loaded = devo_evolver_load_state(&e, path, &o);
    if (loaded == DEVO_ERR_UNSUPPORTED) return; // the CUDA backend asked for, and none here
    if (loaded != DEVO_OK) abort();             // read as valid, refused as an evolver
    const char *again = fuzz_write_file(1, (const uint8_t *)"", 0, 0);
    devo_state back;
    if (!again || devo_evolver_save_state(e, again) != DEVO_OK ||
        devo_state_read(&back, again) != DEVO_OK)
        abort();
    if (back.P != s->P || back.D != s->D || back.generation != s->generation ||
        back.evaluations != s->evaluations || back.opt.seed != s->opt.seed ||
        (s->population && memcmp(back.population, s->population, s->P * s->D * sizeof(float))) ||
        back.es_count != s->es_count ||
        memcmp(back.order, s->order, s->P * sizeof(size_t)) != 0 ||
        memcmp(back.fitness, s->fitness, s->P * sizeof(double)) != 0)
        abort();
    for (size_t i = 0; i < s->es_count; i++) {
        const devo_state_tensor *a = &back.es[i], *b = &s->es[i];
        if (strcmp(a->name, b->name) != 0 || a->length != b->length ||
            (b->f32 ? memcmp(a->f32, b->f32, b->length * sizeof(float)) : *a->count != *b->count))
            abort();
    }
    devo_state_free(&back);
    devo_evolver_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(0, data, size, 0);
    devo_state s;
    if (!path || devo_state_read(&s, path) != DEVO_OK) return 0;
    check_accepted(&s);
    // An evolver's work space follows its options (batch_size rows of every individual), not
    // the file's size: only small runs are built.
    if (s.P * s.D <= (1u << 16) && s.opt.batch_size * devo_model_input_dim(s.arch) <= (1u << 20) &&
        !s.custom_fitness)
        check_round_trip(path, &s);
    devo_state_free(&s);
    return 0;
}
