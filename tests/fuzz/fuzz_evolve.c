/*
 * fuzz_evolve.c - fuzz target: devo_fit_evolve, devo_model_evaluate and the
 * ask/tell evolver on small configurations drawn from the input: a model of
 * 1..3 dense layers (1..6 units each, any activation and loss), 1..12 samples
 * of 1..6 inputs with any float values (NaN and Inf included), options from
 * the input (the GA or an evolution strategy, at full or low rank), and fitness
 * scores from the input. A first byte chooses between
 * valid options and targets (to reach the runs) and raw ones (out of range,
 * NaN). Every call must return a status; nothing may crash, leak or read out
 * of bounds.
 */
#include <stdint.h>
#include <stdlib.h>

#include "devo.h"
#include "fuzz_input.h"

static devo_model *fuzz_model(fuzz_input *in, size_t inputs)
{
    devo_model *m = NULL;
    if (devo_model_create(&m, inputs) != DEVO_OK) return NULL;
    size_t layers = fuzz_range(in, 1, 3);
    for (size_t l = 0; l < layers; l++)
        devo_model_add_dense(m, fuzz_range(in, 1, 6), (devo_activation)fuzz_range(in, 0, 5));
    if (devo_model_compile(m, (devo_loss)fuzz_range(in, 0, 5)) != DEVO_OK) {
        devo_model_free(m);
        return NULL;
    }
    return m;
}

/* Options from the input: in range unless `raw`, then anything small. */
static void fuzz_options(fuzz_input *in, devo_evolve_options *o, size_t n, int raw)
{
    devo_evolve_options_init(o);
    o->verbose = 0;
    o->backend = DEVO_BACKEND_CPU;
    o->threads = (int)fuzz_range(in, 1, 2);
    o->max_generations = fuzz_range(in, raw ? 0 : 1, 3);
    o->population = fuzz_range(in, raw ? 1 : 2, 9);
    o->top_k = raw ? fuzz_range(in, 0, 9) : fuzz_range(in, 1, o->population);
    o->fitness = (devo_fitness)fuzz_range(in, 0, raw ? 2 : 1);
    o->batch_size = fuzz_range(in, raw ? 0 : 1, 8);
    o->fitness_samples = fuzz_range(in, 0, raw ? 13 : n);
    o->seed = fuzz_byte(in);
    o->strategy = (devo_strategy)fuzz_range(in, 0, raw ? 4 : 3); // the GA or an ES
    o->perturbation_rank = fuzz_range(in, 0, raw ? 7 : 1);
    if (!raw && o->strategy != DEVO_STRATEGY_GA && o->population % 2) o->population++;
    if (!raw) return;
    if (fuzz_byte(in) & 1) o->learning_rate = fuzz_float(in);
    if (fuzz_byte(in) & 1) o->sigma = fuzz_float(in);
    if (fuzz_byte(in) & 1) o->mutation_rate = fuzz_float(in);
    if (fuzz_byte(in) & 1) o->mutation_std = fuzz_float(in);
    if (fuzz_byte(in) & 1) o->init_std = fuzz_float(in);
}

/* Inputs of the data: mostly small finite values, any float when the byte says so. */
static float fuzz_value(fuzz_input *in)
{
    uint8_t b = fuzz_byte(in);
    return b == 0xff ? fuzz_float(in) : (float)b / 64.0f - 1.0f;
}

/* One target row for m's loss: valid (a class, a one-hot row, values in [0, 1]) unless raw. */
static void fuzz_target_row(fuzz_input *in, const devo_model *m, float *t, int raw)
{
    devo_loss loss = devo_model_loss(m);
    size_t outputs = devo_model_output_dim(m);
    size_t width = loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? 1 : outputs;
    if (raw || loss == DEVO_LOSS_MSE || loss == DEVO_LOSS_NONE) {
        for (size_t j = 0; j < width; j++) t[j] = fuzz_value(in);
    } else if (loss == DEVO_LOSS_BINARY_CROSSENTROPY) {
        for (size_t j = 0; j < width; j++) t[j] = (float)fuzz_byte(in) / 255.0f;
    } else {
        size_t label = fuzz_range(in, 0, outputs - 1);
        if (width == 1) {
            t[0] = (float)label;
        } else {
            for (size_t j = 0; j < width; j++) t[j] = j == label ? 1.0f : 0.0f;
        }
    }
}

static void ask_tell(fuzz_input *in, const devo_model *m, const devo_evolve_options *o)
{
    devo_evolver *e = NULL;
    if (devo_evolver_create(&e, m, o) != DEVO_OK) return;
    size_t population = 0, dim = 0, rows = fuzz_range(in, 1, 3);
    const float *weights = NULL;
    devo_evolver_ask(e, &weights, &population, &dim);
    size_t inputs = devo_model_input_dim(m), outputs = devo_model_output_dim(m);
    float *x = malloc(population * rows * inputs * sizeof *x);
    float *y = malloc(population * rows * outputs * sizeof *y);
    double *scores = malloc(population * sizeof *scores);
    devo_model *best = NULL;
    if (x && y && scores && devo_model_clone(m, &best) == DEVO_OK) {
        for (size_t i = 0; i < population * rows * inputs; i++) x[i] = fuzz_value(in);
        devo_evolver_forward(e, x, rows, y);
        for (size_t g = fuzz_range(in, 1, 3); g > 0; g--) {
            for (size_t i = 0; i < population; i++) scores[i] = (double)fuzz_value(in);
            devo_evolver_tell(e, scores);
        }
        devo_generation_stats stats;
        devo_evolver_stats(e, &stats);
        devo_evolver_best(e, best, NULL);
    }
    devo_model_free(best);
    free(x);
    free(y);
    free(scores);
    devo_evolver_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    uint8_t mode = fuzz_byte(&in);
    int raw_options = mode & 1, raw_targets = (mode >> 1) & 1;
    size_t inputs = fuzz_range(&in, 1, 6), n = fuzz_range(&in, 1, 12);
    devo_model *m = fuzz_model(&in, inputs);
    if (!m) return 0;
    devo_evolve_options o;
    fuzz_options(&in, &o, n, raw_options);
    size_t width = devo_model_loss(m) == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY
                       ? 1 : devo_model_output_dim(m);
    float *x = malloc(n * inputs * sizeof *x), *y = malloc(n * width * sizeof *y);
    if (x && y) {
        for (size_t i = 0; i < n * inputs; i++) x[i] = fuzz_value(&in);
        for (size_t i = 0; i < n; i++) fuzz_target_row(&in, m, y + i * width, raw_targets);
        double loss = 0, accuracy = 0;
        devo_model_evaluate(m, x, y, n, devo_model_loss(m) != DEVO_LOSS_NONE ? &loss : NULL,
                            &accuracy);
        devo_history hist = {0};
        devo_fit_evolve(m, x, y, n, &o, &hist);
        devo_history_free(&hist);
        ask_tell(&in, m, &o);
    }
    free(x);
    free(y);
    devo_model_free(m);
    return 0;
}
