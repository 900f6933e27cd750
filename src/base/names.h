/*
 * names.h - the text names of activations and losses (Keras' spellings; '-'
 * is accepted for '_') and the "UNITS:ACTIVATION,..." layer description that
 * model files and the devo command share.
 */
#ifndef DEVO_NAMES_H
#define DEVO_NAMES_H

#include <stddef.h>

#include "devo.h"

/* The index of `name` in names (count entries), '-' matching '_'; -1 when absent. */
int devo_name_lookup(const char *const *names, size_t count, const char *name);

/* Nonzero and *out set when `name` is known. */
int devo_activation_from_name(const char *name, devo_activation *out);
int devo_loss_from_name(const char *name, devo_loss *out);

/* "relu", "sparse_categorical_crossentropy", ...; "unknown" out of range. */
const char *devo_activation_name(devo_activation act);
const char *devo_loss_name(devo_loss loss);

/* Adds the layers of `spec` ("30:relu,10:softmax") to m; DEVO_ERR_INVALID_ARGUMENT with a
 * message naming the bad part (prefixed by `what`) when it is malformed. */
devo_status devo_layers_parse(devo_model *m, const char *spec, const char *what);

/* Writes m's layers as a spec into buf; returns 0 if it does not fit. */
int devo_layers_format(const devo_model *m, char *buf, size_t size);

/* m's layers as a spec in a string as long as it needs (free it); NULL when out of memory. */
char *devo_layers_text(const devo_model *m);

#endif /* DEVO_NAMES_H */
