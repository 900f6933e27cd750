/*
 * cli_names.h - the devo command's names for fitness, backend, precision and strategy, and
 * building a model from "--layers 30:relu,10:softmax" (the library's names.h
 * has the activation and loss names).
 */
#ifndef DEVO_CLI_CLI_NAMES_H
#define DEVO_CLI_CLI_NAMES_H

#include "devo.h"

/* Each returns 1 and sets *out when `name` is known (case-sensitive, '-' or '_'). */
int cli_fitness(const char *name, devo_fitness *out);
int cli_backend(const char *name, devo_backend *out);
int cli_precision(const char *name, devo_precision *out);
int cli_strategy(const char *name, devo_strategy *out);

/* Builds and compiles a model of input_dim inputs from "UNITS:ACT,UNITS:ACT,...".
 * On a malformed spec prints a message naming the bad part and returns 0. */
int cli_build_model(const char *spec, size_t input_dim, devo_loss loss, devo_model **out);

/* When the library's last error refuses an option ("FN: top_k must be ..."), prints it with
 * the flag that sets the option and returns 1 (a usage error); 0 when it is about another
 * thing. */
int cli_refused_flag(void);

#endif /* DEVO_CLI_CLI_NAMES_H */
