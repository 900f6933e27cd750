/*
 * fuzz_cli_args.c - fuzz target: the devo command's flag parser (cli_parse)
 * on arbitrary arguments (the input split at '\n', at most 32), with a table
 * holding every kind of flag and devo evolve's strategy, rank, checkpoint and
 * resume flags; the parsed options then go through the library's option check,
 * the strategy's check against a small network, and --resume's list of the
 * flags it allows. The parser's messages go to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "checkpoint.h"
#include "cli_names.h"
#include "devo.h"
#include "options.h"
#include "strategy.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink) sink = fopen("/dev/null", "w");
    char *text = malloc(size + 1), *argv[MAX_ARGS];
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int argc = 0;
    for (char *arg = text; argc < MAX_ARGS && arg;) {
        argv[argc++] = arg;
        arg = strchr(arg, '\n');
        if (arg) *arg++ = '\0';
    }
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    const char *layers = NULL, *save = NULL, *strategy = NULL, *checkpoint = NULL,
               *resume = NULL;
    int quiet = 0, other_data = 0;
    cli_strings data_dirs = {{0}, 0};
    const cli_flag flags[] = {
        {"layers", CLI_STRING, &layers, "layers"},
        {"generations", CLI_SIZE, &o.max_generations, "generations"},
        {"population", CLI_SIZE, &o.population, "population"},
        {"top-k", CLI_SIZE, &o.top_k, "elites"},
        {"mutation-rate", CLI_DOUBLE, &o.mutation_rate, "rate"},
        {"mutation-std", CLI_DOUBLE, &o.mutation_std, "std"},
        {"init-std", CLI_DOUBLE, &o.init_std, "std"},
        {"batch-size", CLI_SIZE, &o.batch_size, "batch"},
        {"seed", CLI_U64, &o.seed, "seed"},
        {"threads", CLI_INT, &o.threads, "threads"},
        {"verbose", CLI_INT, &o.verbose, "verbose"},
        {"save", CLI_STRING, &save, "path"},
        {"quiet", CLI_SWITCH, &quiet, "switch"},
        {"data", CLI_REPEAT, &data_dirs, "repeated"},
        {"strategy", CLI_STRING, &strategy, "ga | openai-es | pgpe | snes"},
        {"rank", CLI_SIZE, &o.perturbation_rank, "rank"},
        {"lr", CLI_DOUBLE, &o.learning_rate, "learning rate"},
        {"sigma", CLI_DOUBLE, &o.sigma, "sigma"},
        {"weight-decay", CLI_DOUBLE, &o.weight_decay, "decay"},
        {"sigma-final", CLI_DOUBLE, &o.sigma_final, "schedule"},
        {"checkpoint", CLI_STRING, &checkpoint, "path"},
        {"resume", CLI_STRING, &resume, "path"},
        {"other-data", CLI_SWITCH, &other_data, "switch"},
    };
    FILE *out = stdout, *err = stderr;
    stdout = stderr = sink; // glibc: the parser's usage and messages are not wanted here
    int result = cli_parse(argc, argv, flags, sizeof flags / sizeof flags[0], "fuzz [options]");
    if (result == CLI_OK && (!strategy || cli_strategy(strategy, &o.strategy)) &&
        devo_options_check(&o, "fuzz") == DEVO_OK) {
        devo_model *m = NULL; // 3 inputs, 4 relu units, 2 softmax outputs
        if (devo_model_create(&m, 3) == DEVO_OK && devo_model_add_dense(m, 4, DEVO_ACT_RELU) ==
            DEVO_OK && devo_model_add_dense(m, 2, DEVO_ACT_SOFTMAX) == DEVO_OK &&
            devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) == DEVO_OK)
            devo_strategy_check(&o, m, "fuzz");
        devo_model_free(m);
        if (resume) cli_resume_flags_ok(argc, argv);
    }
    stdout = out;
    stderr = err;
    free(text);
    return 0;
}
