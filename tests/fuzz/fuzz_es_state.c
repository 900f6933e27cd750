/*
 * fuzz_es_state.c - fuzz target: the evolution strategies' options and ask/tell with any
 * scores (NaN, +-Inf, huge and tiny ones included), asserting that what save_state writes,
 * load_state accepts, bit for bit (docs/robustness.md, round 2, item 3). From the input: a
 * model of 1..2 dense layers on 1..4 inputs, a strategy (OpenAI-ES, PGPE, SNES) at full rank
 * or rank 1..2, an even population of 2..10, the learning rate, sigma, weight decay and
 * sigma_final (in range, or any float: the check may refuse them), 1..5 generations of
 * scores. After each tell: save; a save that succeeds must load, ask for the same population
 * and save the same data section again; a save that fails must say DEVO_ERR_NUMERIC (a state
 * the loader would refuse) and leave no file. Seeds: corpus/es_state/.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devo.h"
#include "fuzz_input.h"

/* An ES option from the input: 0 (the strategy's default), a power of ten from 1e-16 to
 * 1e35 (huge but finite values make a run diverge), or any float's value. */
static double fuzz_option(fuzz_input *in)
{
    uint8_t kind = fuzz_byte(in) % 4;
    if (kind == 0) return 0.0;
    if (kind == 3) return (double)fuzz_float(in);
    return pow(10.0, (double)(fuzz_byte(in) % 52) - 16.0);
}

/* A score: NaN, +Inf, -Inf, any float, or a small finite value. */
static double fuzz_score(fuzz_input *in)
{
    switch (fuzz_byte(in) % 8) {
    case 0: return (double)NAN;
    case 1: return (double)INFINITY;
    case 2: return -(double)INFINITY;
    case 3: return (double)fuzz_float(in);
    default: return (double)fuzz_byte(in) / 32.0 - 4.0;
    }
}

/* The bytes after a safetensors file's header: its data section ("" when unreadable). */
static size_t data_section(const char *path, unsigned char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char length[8];
    uint64_t header = 0;
    size_t got = fread(length, 1, 8, f);
    for (int i = 7; got == 8 && i >= 0; i--) header = header << 8 | length[i];
    size_t size = 0;
    if (got == 8 && fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (end > 0 && (uint64_t)end >= 8 + header &&
            fseek(f, (long)(8 + header), SEEK_SET) == 0) {
            size = (size_t)((uint64_t)end - 8 - header);
            *out = malloc(size ? size : 1);
            if (!*out || fread(*out, 1, size, f) != size) abort();
        }
    }
    fclose(f);
    return size;
}

/* The invariant: e's saved state loads, asks for the same population, and saves the same data. */
static void check_saved(devo_evolver *e, const char *path, const char *again)
{
    unlink(path);
    devo_status saved = devo_evolver_save_state(e, path);
    if (saved != DEVO_OK) {
        if (saved != DEVO_ERR_NUMERIC || access(path, F_OK) == 0) abort();
        return;
    }
    devo_evolve_options o;
    if (devo_evolver_options(e, &o) != DEVO_OK) abort();
    devo_evolver *r = NULL;
    if (devo_evolver_load_state(&r, path, &o) != DEVO_OK) abort(); // save wrote, load refused
    const float *a = NULL, *b = NULL;
    size_t P = 0, D = 0;
    if (devo_evolver_ask(e, &a, &P, &D) != DEVO_OK ||
        devo_evolver_ask(r, &b, NULL, NULL) != DEVO_OK || memcmp(a, b, P * D * sizeof(float)) != 0)
        abort();
    if (devo_evolver_save_state(r, again) != DEVO_OK) abort();
    unsigned char *first, *second;
    size_t n1 = data_section(path, &first), n2 = data_section(again, &second);
    if (n1 != n2 || !first || !second || memcmp(first, second, n1) != 0) abort();
    free(first);
    free(second);
    devo_evolver_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    size_t inputs = fuzz_range(&in, 1, 4);
    devo_model *m = NULL;
    if (devo_model_create(&m, inputs) != DEVO_OK) return 0;
    for (size_t l = fuzz_range(&in, 1, 2); l > 0; l--)
        devo_model_add_dense(m, fuzz_range(&in, 1, 5), (devo_activation)fuzz_range(&in, 0, 5));
    if (devo_model_compile(m, DEVO_LOSS_MSE) != DEVO_OK ||
        devo_model_init_weights(m, fuzz_byte(&in)) != DEVO_OK) {
        devo_model_free(m);
        return 0;
    }
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.threads = 1;
    o.backend = DEVO_BACKEND_CPU;
    o.strategy = (devo_strategy)fuzz_range(&in, 1, 3);
    o.perturbation_rank = fuzz_range(&in, 0, 2);
    o.population = 2 * fuzz_range(&in, 1, 5);
    o.top_k = fuzz_range(&in, 1, o.population);
    o.max_generations = fuzz_range(&in, 0, 5);
    o.seed = fuzz_byte(&in);
    o.learning_rate = fuzz_option(&in);
    o.sigma = fuzz_option(&in);
    o.weight_decay = fuzz_option(&in);
    o.sigma_final = fuzz_option(&in);
    devo_evolver *e = NULL;
    if (devo_evolver_create(&e, m, &o) == DEVO_OK) {
        const char *path = fuzz_scratch_path(0), *again = fuzz_scratch_path(1);
        size_t P = 0;
        devo_evolver_ask(e, NULL, &P, NULL);
        double *scores = malloc(P * sizeof *scores);
        for (size_t g = fuzz_range(&in, 1, 5); scores && g > 0; g--) {
            for (size_t i = 0; i < P; i++) scores[i] = fuzz_score(&in);
            devo_evolver_tell(e, scores); // may diverge (DEVO_ERR_NUMERIC) or find all NaN
            check_saved(e, path, again);
        }
        free(scores);
    }
    devo_evolver_free(e);
    devo_model_free(m);
    return 0;
}
