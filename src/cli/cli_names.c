/*
 * cli_names.c - the devo command's enum names, model building and the flags of the
 * library's option names (see cli_names.h).
 */
#include "cli_names.h"

#include <stdio.h>
#include <string.h>

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

/* The flag that sets each option the library checks, by the option's name in its messages. */
static const struct {
    const char *option, *flag;
} option_flags[] = {
    {"max_generations", "generations"}, {"population", "population"},
    {"top_k", "top-k"},                 {"mutation_rate", "mutation-rate"},
    {"mutation_std", "mutation-std"},   {"init_std", "init-std"},
    {"batch_size", "batch-size"},       {"fitness_samples", "fitness-samples"},
    {"threads", "threads"},             {"verbose", "verbose"},
    {"learning_rate", "lr"},            {"sigma", "sigma"},
    {"perturbation_rank", "rank"},      {"weight_decay", "weight-decay"},
    {"sigma_final", "sigma-final"},     {"strategy", "strategy"},
};

/* When the library's last error refuses an option ("FN: top_k must be ..."), prints it with
 * the flag that set the option and returns 1 (a usage error); 0 when it is about another thing. */
int cli_refused_flag(void)
{
    const char *message = devo_last_error(), *colon = strstr(message, ": ");
    if (!colon) return 0;
    for (size_t i = 0; i < sizeof option_flags / sizeof option_flags[0]; i++) {
        size_t len = strlen(option_flags[i].option);
        if (strncmp(colon + 2, option_flags[i].option, len) == 0 && colon[2 + len] == ' ') {
            fprintf(stderr, "devo: bad value for flag '--%s': %s\n", option_flags[i].flag,
                    message);
            return 1;
        }
    }
    return 0;
}
