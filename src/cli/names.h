/*
 * names.h - the devo command's names for the library's enums, and the
 * "--layers 30:relu,10:softmax" network description.
 */
#ifndef DEVO_CLI_NAMES_H
#define DEVO_CLI_NAMES_H

#include "devo.h"

/* Each returns 1 and sets *out when `name` is known (case-sensitive, '-' or '_'). */
int cli_activation(const char *name, devo_activation *out);
int cli_loss(const char *name, devo_loss *out);
int cli_fitness(const char *name, devo_fitness *out);
int cli_backend(const char *name, devo_backend *out);
int cli_precision(const char *name, devo_precision *out);

const char *cli_activation_name(devo_activation act);
const char *cli_loss_name(devo_loss loss);

/* Builds and compiles a model of input_dim inputs from "UNITS:ACT,UNITS:ACT,...".
 * On a malformed spec prints a message naming the bad part and returns 0. */
int cli_build_model(const char *spec, size_t input_dim, devo_loss loss, devo_model **out);

#endif /* DEVO_CLI_NAMES_H */
