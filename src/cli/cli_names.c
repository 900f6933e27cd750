/*
 * cli_names.c - the devo command's enum names and model building (see cli_names.h).
 */
#include "cli_names.h"

#include <stdio.h>

#include "names.h"

/* In enum order: the index of a name is its value. */
static const char *const fitnesses[] = {"neg_loss", "accuracy"};
static const char *const backends[] = {"auto", "cpu", "cuda"};
static const char *const precisions[] = {"fp32", "tf32", "bf16"};
static const char *const strategies[] = {"ga", "openai_es", "pgpe", "snes"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define DEFINE_LOOKUP(fn, type, table)                                                         \
    int fn(const char *name, type *out)                                                        \
    {                                                                                          \
        int value = devo_name_lookup(table, COUNT(table), name);                               \
        if (value >= 0) *out = (type)value;                                                    \
        return value >= 0;                                                                     \
    }

DEFINE_LOOKUP(cli_fitness, devo_fitness, fitnesses)
DEFINE_LOOKUP(cli_backend, devo_backend, backends)
DEFINE_LOOKUP(cli_precision, devo_precision, precisions)
DEFINE_LOOKUP(cli_strategy, devo_strategy, strategies)

int cli_build_model(const char *spec, size_t input_dim, devo_loss loss, devo_model **out)
{
    devo_model *m = NULL;
    devo_status status = devo_model_create(&m, input_dim);
    if (status == DEVO_OK) status = devo_layers_parse(m, spec, "devo: bad value for flag '--layers'");
    if (status == DEVO_OK) status = devo_model_compile(m, loss);
    if (status != DEVO_OK) {
        fprintf(stderr, "%s\n", devo_last_error());
        devo_model_free(m);
        return 0;
    }
    *out = m;
    return 1;
}
