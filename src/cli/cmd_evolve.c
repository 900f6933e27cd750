/*
 * cmd_evolve.c - "devo evolve": load an IDX dataset, build the network from
 * --layers, run devo_fit_evolve with every option as a flag, then save the
 * model (--save) and report the train and test loss and accuracy and the wall
 * time. --history writes a CSV row per generation as it ends. Ctrl-C stops
 * after the current generation and still saves and reports.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli_data.h"
#include "blas_cpu.h"
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

/* Writes each generation's statistics as a CSV row as it ends, so the history
 * survives an interrupted run, and stops the run after Ctrl-C. */
typedef struct generation_log {
    FILE *history; /* NULL: no --history */
} generation_log;

static int on_generation(const devo_generation_stats *s, void *user)
{
    generation_log *log = user;
    if (log->history) {
        fprintf(log->history, "%zu,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%llu,%.6f\n", s->generation,
                s->max_generations, s->best, s->mean, s->std, s->population_mean, s->best_ever,
                (unsigned long long)s->evaluations, s->seconds);
        fflush(log->history);
    }
    return interrupted;
}

typedef struct evolve_args {
    const char *data, *layers, *loss, *fitness, *backend, *precision, *save, *history;
    devo_evolve_options opt;
} evolve_args;

static int parse_evolve(int argc, char **argv, evolve_args *a)
{
    memset(a, 0, sizeof *a); // flags not given stay NULL (--save, --history)
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
        {"save", CLI_STRING, &a->save, "write the evolved model here (safetensors)"},
        {"history", CLI_STRING, &a->history, "write one CSV row per generation here"},
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

/* The history CSV's header: every field of devo_generation_stats. */
#define HISTORY_HEADER \
    "generation,max_generations,best,mean,std,population_mean,best_ever,evaluations,seconds\n"

/* Evolves m on train as the flags say, then saves and reports. Returns the exit code. */
static int evolve(evolve_args *a, devo_model *m, const devo_dataset *train,
                  const devo_dataset *test)
{
    float *y = cli_targets(train, m);
    if (!y) return 1;
    generation_log log = {NULL};
    if (a->history && !(log.history = fopen(a->history, "w"))) {
        fprintf(stderr, "devo: cannot write '%s': %s\n", a->history, strerror(errno));
        free(y);
        return 1;
    }
    if (log.history) fputs(HISTORY_HEADER, log.history);
    printf("devo %s: %zu samples of %zu features, %zu parameters, population %zu, top-k %zu, "
           "%zu generations, CPU GEMM %s\n", devo_version_string(), devo_dataset_count(train),
           devo_dataset_dim(train), devo_model_param_count(m), a->opt.population, a->opt.top_k,
           a->opt.max_generations, devo_blas_kernels());
    fflush(stdout);
    a->opt.on_generation = on_generation;
    a->opt.on_generation_user = &log;
    signal(SIGINT, on_interrupt);
    double start = devo_now_seconds();
    devo_status status =
        devo_fit_evolve(m, devo_dataset_x(train), y, devo_dataset_count(train), &a->opt, NULL);
    double seconds = devo_now_seconds() - start;
    signal(SIGINT, SIG_DFL);
    free(y);
    if (log.history && fclose(log.history) != 0) {
        fprintf(stderr, "devo: cannot write '%s': %s\n", a->history, strerror(errno));
        return 1;
    }
    if (status != DEVO_OK) return cli_library_failure();
    if (interrupted) printf("interrupted: stopped after the current generation\n");
    if (a->save) {
        if (devo_model_save(m, a->save) != DEVO_OK) return cli_library_failure();
        printf("saved %s\n", a->save);
    }
    if (!cli_report_split("train", m, train) || (test && !cli_report_split("test", m, test)))
        return 1;
    printf("time  %.2f s\n", seconds);
    return 0;
}

int cmd_evolve(int argc, char **argv)
{
    evolve_args a;
    int parsed = parse_evolve(argc, argv, &a);
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    devo_loss loss;
    devo_loss_from_name(a.loss, &loss);
    devo_dataset *train = NULL, *test = NULL;
    if (devo_dataset_load_idx_dir(&train, a.data, "train") != DEVO_OK) return cli_library_failure();
    if (devo_dataset_load_idx_dir(&test, a.data, "t10k") != DEVO_OK)
        fprintf(stderr, "devo: no test split (%s); reporting the training split only\n",
                devo_last_error());
    devo_model *m = NULL;
    int code = 2;
    if (cli_build_model(a.layers, devo_dataset_dim(train), loss, &m))
        code = devo_model_init_weights(m, a.opt.seed) == DEVO_OK ? evolve(&a, m, train, test)
                                                                  : cli_library_failure();
    devo_model_free(m);
    devo_dataset_free(train);
    devo_dataset_free(test);
    return code;
}
