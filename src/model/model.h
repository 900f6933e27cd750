/*
 * model.h - the private layout of devo_model: a stack of dense layers over one
 * flat weight vector (per layer: kernel inputs x units row-major, then bias).
 */
#ifndef DEVO_MODEL_H
#define DEVO_MODEL_H

#include "devo.h"

typedef struct devo_layer {
    size_t inputs;
    size_t units;
    devo_activation act;
    size_t kernel_offset; /* into the flat weights: kernel is (inputs, units) */
    size_t bias_offset;   /* bias is (units) */
} devo_layer;

struct devo_model {
    size_t input_dim;
    size_t layer_count;
    size_t layer_capacity;
    devo_layer *layers;
    devo_loss loss;
    int compiled;
    size_t param_count;
    float *weights; /* (param_count); allocated at compile */
};

/* The widest layer's units (0 for no layers). */
size_t devo_model_max_units(const devo_model *m);

/* Target floats per sample: 1 for the sparse loss, else output_dim. */
size_t devo_model_target_width(const devo_model *m);

/* Checks that m is a compiled model; `fn` names the caller in the message. */
devo_status devo_model_check_compiled(const devo_model *m, const char *fn);

/* Checks targets a loss relies on (DEVO_ERR_INVALID_ARGUMENT naming the row): every target
 * finite; sparse labels integers in [0, outputs); binary cross-entropy targets in [0, 1];
 * categorical cross-entropy rows >= 0 summing to 1. */
devo_status devo_model_check_targets(const devo_model *m, const float *y, size_t n, const char *fn);

#endif /* DEVO_MODEL_H */
