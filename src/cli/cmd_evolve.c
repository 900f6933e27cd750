/*
 * cmd_evolve.c - "devo evolve": load an IDX dataset, build the network from
 * --layers, run devo_fit_evolve with every option as a flag, then report the
 * train and test loss and accuracy and the wall time. Ctrl-C stops after the
 * current generation and still reports.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "clock.h"
#include "commands.h"
#include "devo.h"
#include "cli_names.h"
#include "names.h"

static volatile sig_atomic_t interrupted = 0;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
    signal(SIGINT, SIG_DFL); // a second Ctrl-C ends the process at once
}

static int stop_when_interrupted(const devo_generation_stats *s, void *user)
{
    (void)s;
    (void)user;
    return interrupted;
}

/* Targets in the layout the loss expects: class indices for the sparse loss
 * and for a single output, one-hot rows otherwise. Returns NULL when out of memory. */
static float *targets_for(const devo_dataset *d, devo_loss loss, size_t outputs)
{
    size_t n = devo_dataset_count(d);
    const float *labels = devo_dataset_y(d);
    size_t width = loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY || outputs == 1 ? 1 : outputs;
    float *y = calloc(n * width, sizeof(float));
    if (!y) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (width == 1)
            y[i] = labels[i];
        else if ((size_t)labels[i] < outputs)
            y[i * width + (size_t)labels[i]] = 1.0f;
    }
    return y;
}

/* Prints "NAME: loss L  accuracy A" for a split; 0 on a library failure. */
static int report_split(const char *name, const devo_model *m, const devo_dataset *d)
{
    float *y = targets_for(d, devo_model_loss(m), devo_model_output_dim(m));
    if (!y) {
        fprintf(stderr, "devo: out of memory\n");
        return 0;
    }
    double loss = NAN, accuracy = NAN;
    int has_loss = devo_model_loss(m) != DEVO_LOSS_NONE;
    devo_status status = devo_model_evaluate(m, devo_dataset_x(d), y, devo_dataset_count(d),
                                             has_loss ? &loss : NULL, &accuracy);
    free(y);
    if (status != DEVO_OK) {
        fprintf(stderr, "devo: %s\n", devo_last_error());
        return 0;
    }
    printf("%-5s loss %.4f  accuracy %.4f  (%zu samples)\n", name, loss, accuracy,
           devo_dataset_count(d));
    return 1;
}

typedef struct evolve_args {
    const char *data, *layers, *loss, *fitness, *backend, *precision;
    devo_evolve_options opt;
} evolve_args;

static int parse_evolve(int argc, char **argv, evolve_args *a)
{
    devo_evolve_options_init(&a->opt);
    a->data = DEVO_DEFAULT_DATA_DIR;
    a->layers = "30:relu,10:softmax";
    a->loss = "sparse-categorical-crossentropy";
    a->fitness = "neg-loss";
    a->backend = "auto";
    a->precision = "fp32";
    devo_evolve_options *o = &a->opt;
    const cli_flag flags[] = {
        {"data", CLI_STRING, &a->data, "IDX dataset directory (default: installed Fashion-MNIST)"},
        {"layers", CLI_STRING, &a->layers, "UNITS:ACT,... (default 30:relu,10:softmax)"},
        {"loss", CLI_STRING, &a->loss, "mse|binary-crossentropy|categorical-crossentropy|"
                                       "sparse-categorical-crossentropy (default)|none"},
        {"fitness", CLI_STRING, &a->fitness, "neg-loss (default) | accuracy"},
        {"generations", CLI_SIZE, &o->max_generations, "generations to run (100)"},
        {"population", CLI_SIZE, &o->population, "individuals per generation (16)"},
        {"top-k", CLI_SIZE, &o->top_k, "elites kept each generation (4)"},
        {"mutation-rate", CLI_DOUBLE, &o->mutation_rate, "per-weight mutation probability (0.2)"},
        {"mutation-std", CLI_DOUBLE, &o->mutation_std, "std of the mutation noise (0.03)"},
        {"init-std", CLI_DOUBLE, &o->init_std, "std of the first population's noise (0.03)"},
        {"batch-size", CLI_SIZE, &o->batch_size, "samples per evaluation chunk (1024)"},
        {"fitness-samples", CLI_SIZE, &o->fitness_samples,
         "random samples per generation, 0 = all (0)"},
        {"seed", CLI_U64, &o->seed, "seed of every random draw, initial weights too (0)"},
        {"backend", CLI_STRING, &a->backend, "auto (default) | cpu | cuda"},
        {"precision", CLI_STRING, &a->precision, "fp32 (default) | tf32 | bf16 (CUDA only)"},
        {"threads", CLI_INT, &o->threads, "CPU threads, 0 = all cores (0)"},
        {"verbose", CLI_INT, &o->verbose, "0 silent, 1 a line per generation, 2 progress bar (1)"},
    };
    int parsed = cli_parse(argc, argv, flags, sizeof flags / sizeof flags[0],
                           "devo evolve [--data DIR] [--layers 30:relu,10:softmax] [options]");
    if (parsed != CLI_OK) return parsed;
    devo_loss loss;
    const char *bad = NULL, *value = NULL;
    if (!devo_loss_from_name(a->loss, &loss)) bad = "loss", value = a->loss;
    else if (!cli_fitness(a->fitness, &o->fitness)) bad = "fitness", value = a->fitness;
    else if (!cli_backend(a->backend, &o->backend)) bad = "backend", value = a->backend;
    else if (!cli_precision(a->precision, &o->precision)) bad = "precision", value = a->precision;
    if (bad) {
        fprintf(stderr, "devo: bad value '%s' for flag '--%s' (see --help)\n", value, bad);
        return CLI_USAGE_ERROR;
    }
    return CLI_OK;
}

int cmd_evolve(int argc, char **argv)
{
    evolve_args a;
    int parsed = parse_evolve(argc, argv, &a);
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    devo_loss loss;
    devo_loss_from_name(a.loss, &loss);

    devo_dataset *train = NULL, *test = NULL;
    if (devo_dataset_load_idx_dir(&train, a.data, "train") != DEVO_OK) {
        fprintf(stderr, "devo: %s\n", devo_last_error());
        return 1;
    }
    if (devo_dataset_load_idx_dir(&test, a.data, "t10k") != DEVO_OK)
        fprintf(stderr, "devo: no test split (%s); reporting the training split only\n",
                devo_last_error());
    devo_model *m = NULL;
    if (!cli_build_model(a.layers, devo_dataset_dim(train), loss, &m)) {
        devo_dataset_free(train);
        devo_dataset_free(test);
        return 2;
    }
    int code = 1;
    float *y = targets_for(train, loss, devo_model_output_dim(m));
    if (!y) {
        fprintf(stderr, "devo: out of memory\n");
        goto done;
    }
    if (devo_model_init_weights(m, a.opt.seed) != DEVO_OK) goto fail;
    printf("devo %s: %zu samples of %zu features, %zu parameters, population %zu, top-k %zu, "
           "%zu generations\n", devo_version_string(), devo_dataset_count(train),
           devo_dataset_dim(train), devo_model_param_count(m), a.opt.population, a.opt.top_k,
           a.opt.max_generations);
    fflush(stdout);
    a.opt.on_generation = stop_when_interrupted;
    signal(SIGINT, on_interrupt);
    double start = devo_now_seconds();
    devo_status status =
        devo_fit_evolve(m, devo_dataset_x(train), y, devo_dataset_count(train), &a.opt, NULL);
    double seconds = devo_now_seconds() - start;
    signal(SIGINT, SIG_DFL);
    if (status != DEVO_OK) goto fail;
    if (interrupted) printf("interrupted: stopped after the current generation\n");
    if (!report_split("train", m, train) || (test && !report_split("test", m, test))) goto done;
    printf("time  %.2f s\n", seconds);
    code = 0;
    goto done;
fail:
    fprintf(stderr, "devo: %s\n", devo_last_error());
done:
    free(y);
    devo_model_free(m);
    devo_dataset_free(train);
    devo_dataset_free(test);
    return code;
}
