/*
 * names.c - enum names and the layer description of the devo command (see names.h).
 */
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct name_value {
    const char *name;
    int value;
} name_value;

static const name_value activations[] = {
    {"linear", DEVO_ACT_LINEAR}, {"relu", DEVO_ACT_RELU},       {"tanh", DEVO_ACT_TANH},
    {"sigmoid", DEVO_ACT_SIGMOID}, {"softmax", DEVO_ACT_SOFTMAX},
};
static const name_value losses[] = {
    {"none", DEVO_LOSS_NONE},
    {"mse", DEVO_LOSS_MSE},
    {"binary-crossentropy", DEVO_LOSS_BINARY_CROSSENTROPY},
    {"categorical-crossentropy", DEVO_LOSS_CATEGORICAL_CROSSENTROPY},
    {"sparse-categorical-crossentropy", DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY},
};
static const name_value fitnesses[] = {
    {"neg-loss", DEVO_FITNESS_NEG_LOSS}, {"accuracy", DEVO_FITNESS_ACCURACY}};
static const name_value backends[] = {
    {"auto", DEVO_BACKEND_AUTO}, {"cpu", DEVO_BACKEND_CPU}, {"cuda", DEVO_BACKEND_CUDA}};
static const name_value precisions[] = {
    {"fp32", DEVO_PRECISION_FP32}, {"tf32", DEVO_PRECISION_TF32}, {"bf16", DEVO_PRECISION_BF16}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Compares treating '_' in `given` as '-'. */
static int same_name(const char *given, const char *known)
{
    for (; *given && *known; given++, known++)
        if ((*given == '_' ? '-' : *given) != *known) return 0;
    return *given == *known;
}

static int lookup(const name_value *table, size_t count, const char *name, int *out)
{
    for (size_t i = 0; i < count; i++)
        if (same_name(name, table[i].name)) {
            *out = table[i].value;
            return 1;
        }
    return 0;
}

static const char *reverse(const name_value *table, size_t count, int value)
{
    for (size_t i = 0; i < count; i++)
        if (table[i].value == value) return table[i].name;
    return "unknown";
}

#define DEFINE_LOOKUP(fn, type, table)                                                         \
    int fn(const char *name, type *out)                                                        \
    {                                                                                          \
        int value;                                                                             \
        if (!lookup(table, COUNT(table), name, &value)) return 0;                              \
        *out = (type)value;                                                                    \
        return 1;                                                                              \
    }

DEFINE_LOOKUP(cli_activation, devo_activation, activations)
DEFINE_LOOKUP(cli_loss, devo_loss, losses)
DEFINE_LOOKUP(cli_fitness, devo_fitness, fitnesses)
DEFINE_LOOKUP(cli_backend, devo_backend, backends)
DEFINE_LOOKUP(cli_precision, devo_precision, precisions)

const char *cli_activation_name(devo_activation act)
{
    return reverse(activations, COUNT(activations), act);
}

const char *cli_loss_name(devo_loss loss) { return reverse(losses, COUNT(losses), loss); }

int cli_build_model(const char *spec, size_t input_dim, devo_loss loss, devo_model **out)
{
    devo_model *m = NULL;
    if (devo_model_create(&m, input_dim) != DEVO_OK) {
        fprintf(stderr, "devo: %s\n", devo_last_error());
        return 0;
    }
    const char *part = spec;
    while (*part) {
        const char *end = strchr(part, ',');
        size_t len = end ? (size_t)(end - part) : strlen(part);
        char item[64] = {0};
        if (len == 0 || len >= sizeof item) goto bad;
        memcpy(item, part, len);
        char *colon = strchr(item, ':'), *stop = NULL;
        if (!colon) goto bad;
        *colon = '\0';
        errno = 0;
        unsigned long units = strtoul(item, &stop, 10);
        devo_activation act;
        if (errno || *stop || item[0] == '\0' || item[0] == '-' || units == 0 ||
            !cli_activation(colon + 1, &act))
            goto bad;
        if (devo_model_add_dense(m, units, act) != DEVO_OK) goto bad;
        part += len + (end ? 1 : 0);
        if (end && !*part) goto bad;
        continue;
    bad:
        fprintf(stderr, "devo: bad value '%s' for flag '--layers' near '%.*s' (expected "
                        "UNITS:ACTIVATION,... with activation linear|relu|tanh|sigmoid|softmax)\n",
                spec, (int)len, part);
        devo_model_free(m);
        return 0;
    }
    if (devo_model_layer_count(m) == 0) {
        fprintf(stderr, "devo: bad value '' for flag '--layers': no layers\n");
        devo_model_free(m);
        return 0;
    }
    if (devo_model_compile(m, loss) != DEVO_OK) {
        fprintf(stderr, "devo: %s\n", devo_last_error());
        devo_model_free(m);
        return 0;
    }
    *out = m;
    return 1;
}
