/*
 * names.c - activation and loss names and the layer description (see names.h).
 */
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"

static const char *const activation_names[] = {"linear", "relu", "tanh", "sigmoid", "softmax"};
static const char *const loss_names[] = {"none", "mse", "binary_crossentropy",
                                         "categorical_crossentropy",
                                         "sparse_categorical_crossentropy"};

/* Compares treating '-' in `given` as '_'. */
static int same_name(const char *given, const char *known)
{
    for (; *given && *known; given++, known++)
        if ((*given == '-' ? '_' : *given) != *known) return 0;
    return *given == *known;
}

int devo_name_lookup(const char *const *names, size_t count, const char *name)
{
    for (size_t i = 0; name && i < count; i++)
        if (same_name(name, names[i])) return (int)i;
    return -1;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int devo_activation_from_name(const char *name, devo_activation *out)
{
    int value = devo_name_lookup(activation_names, COUNT(activation_names), name);
    if (value >= 0) *out = (devo_activation)value;
    return value >= 0;
}

int devo_loss_from_name(const char *name, devo_loss *out)
{
    int value = devo_name_lookup(loss_names, COUNT(loss_names), name);
    if (value >= 0) *out = (devo_loss)value;
    return value >= 0;
}

const char *devo_activation_name(devo_activation act)
{
    return (unsigned)act < COUNT(activation_names) ? activation_names[act] : "unknown";
}

const char *devo_loss_name(devo_loss loss)
{
    return (unsigned)loss < COUNT(loss_names) ? loss_names[loss] : "unknown";
}

devo_status devo_layers_parse(devo_model *m, const char *spec, const char *what)
{
    const char *part = spec;
    if (!*part) return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: no layers in ''", what);
    while (*part) {
        const char *end = strchr(part, ',');
        size_t len = end ? (size_t)(end - part) : strlen(part);
        char item[64] = {0};
        devo_activation act = DEVO_ACT_LINEAR;
        char *colon = NULL, *stop = NULL;
        unsigned long long units = 0;
        int ok = len > 0 && len < sizeof item;
        if (ok) {
            memcpy(item, part, len);
            colon = strchr(item, ':');
            ok = colon != NULL;
        }
        if (ok) {
            *colon = '\0';
            errno = 0;
            units = strtoull(item, &stop, 10);
            ok = !errno && !*stop && item[0] >= '0' && item[0] <= '9' && units > 0 &&
                 devo_activation_from_name(colon + 1, &act);
        }
        if (!ok || (end && !end[1]))
            return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                             "%s: bad layer '%.*s' in '%s' (expected UNITS:ACTIVATION,... with "
                             "activation linear|relu|tanh|sigmoid|softmax)",
                             what, (int)len, part, spec);
        DEVO_TRY(devo_model_add_dense(m, (size_t)units, act));
        part += len + (end ? 1 : 0);
    }
    return DEVO_OK;
}

int devo_layers_format(const devo_model *m, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t l = 0; l < m->layer_count; l++) {
        int n = snprintf(buf + used, size - used, "%s%zu:%s", l ? "," : "", m->layers[l].units,
                         devo_activation_name(m->layers[l].act));
        if (n < 0 || (size_t)n >= size - used) return 0;
        used += (size_t)n;
    }
    return 1;
}

/* Bytes a layer description needs: per layer 20 digits, ':', the longest activation name, ','. */
#define DEVO_LAYER_SPEC_BYTES 32

char *devo_layers_text(const devo_model *m)
{
    size_t size = m->layer_count * DEVO_LAYER_SPEC_BYTES + 1;
    char *text = malloc(size);
    if (text && !devo_layers_format(m, text, size)) { // cannot happen: each layer fits 32 bytes
        free(text);
        return NULL;
    }
    return text;
}
