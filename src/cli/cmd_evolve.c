/*
 * cmd_evolve.c - "devo evolve": load an IDX dataset, build the network from
 * --layers, run devo_fit_evolve with every option as a flag, then save the
 * model (--save) and report the train and test loss and accuracy and the wall
 * time. --history writes a CSV row per generation as it ends (with the test
 * accuracy of the run's answer every --test-every generations). --checkpoint
 * writes the run's state as it goes and --resume continues one (checkpoint.c).
 * SIGINT (Ctrl-C) or SIGTERM stops after the current generation, writes the
 * checkpoint and the model, and exits 130 or 143 saying how to resume.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "checkpoint.h"
#include "cli_mpi.h"
#include "cli_data.h"
#include "blas.h"
#include "clock.h"
#include "history_file.h"
#include "commands.h"
#include "devo.h"
#include "cli_names.h"
#include "gemm_bf16.h"
#include "names.h"
#include "options.h"
#include "output_path.h"

static volatile sig_atomic_t interrupted = 0;

static void on_interrupt(int signal_number)
{
    interrupted = signal_number;
    signal(signal_number, SIG_DFL); // a second one ends the process at once
}

/* Writes each generation's statistics as a CSV row as it ends, so the history
 * survives an interrupted run, and stops the run after Ctrl-C. */
typedef struct generation_log {
    FILE *history;             /* NULL: no --history */
    int error;                 /* errno of the first failed history write, 0 while none has */
    cli_checkpoint checkpoint;
    size_t test_every;         /* 0: no test accuracy in the history */
    const devo_dataset *test;  /* NULL: no test split */
    const float *test_y;       /* the test targets in the model's layout */
} generation_log;

/* The test accuracy of the run's answer this generation, or NaN when not asked for. */
static double test_accuracy(const generation_log *log, const devo_generation_stats *s)
{
    double accuracy = NAN;
    int due = log->test_every && (s->generation % log->test_every == 0 ||
                                  s->generation == s->max_generations);
    if (due && log->test && s->model &&
        devo_model_evaluate(s->model, devo_dataset_x(log->test), log->test_y,
                            devo_dataset_count(log->test), NULL, &accuracy) != DEVO_OK)
        accuracy = NAN;
    return accuracy;
}

static void history_row(FILE *f, const devo_generation_stats *s, double test_accuracy)
{
    fprintf(f, "%zu,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%llu,%.6f,%.17g,%.17g\n", s->generation,
            s->max_generations, s->best, s->mean, s->std, s->population_mean, s->best_ever,
            (unsigned long long)s->evaluations, s->seconds, s->center, test_accuracy);
}

static int on_generation(const devo_generation_stats *s, void *user)
{
    generation_log *log = user;
    if (log->history) {
        history_row(log->history, s, test_accuracy(log, s));
        if (fflush(log->history) != 0 && !log->error) log->error = errno;
    }
    return !cli_checkpoint_generation(&log->checkpoint, s) || interrupted;
}

typedef struct evolve_args {
    const char *data, *layers, *loss, *fitness, *backend, *precision, *save, *history, *strategy;
    size_t test_every;
    devo_evolve_options opt;
    const char *checkpoint, *resume; /* NULL when not given */
    size_t checkpoint_every;
    int other_data;                  /* --other-data: resume on data unlike the checkpoint's */
    char saved_data[4096];           /* --resume without --data: the checkpoint's data */
} evolve_args;

/* --precision auto: the fastest precision the run's device has for its strategy: BF16 where
 * the CPU has BF16 GEMMs (gemm_bf16.h) or on a CUDA device for the GA (its ES runs FP32),
 * else FP32. Only when asked: the default stays FP32. */
static devo_precision fastest_precision(const devo_evolve_options *o)
{
    devo_backend where = DEVO_BACKEND_CPU;
    if (devo_options_resolve_backend(o, &where) != DEVO_OK) return DEVO_PRECISION_FP32;
    if (where == DEVO_BACKEND_CUDA)
        return o->strategy == DEVO_STRATEGY_GA ? DEVO_PRECISION_BF16 : DEVO_PRECISION_FP32;
    return devo_bf16_available() == DEVO_OK ? DEVO_PRECISION_BF16 : DEVO_PRECISION_FP32;
}

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
    a->strategy = "ga";
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
        {"precision", CLI_STRING, &a->precision,
         "fp32 (default) | tf32 (CUDA) | bf16 | auto (the fastest here)"},
        {"threads", CLI_INT, &o->threads, "CPU threads, 0 = all cores (0)"},
        {"verbose", CLI_INT, &o->verbose,
         "0 silent, 1 a line per generation, 2 progress: a bar on a terminal, else a line every "
         "5 s (1)"},
        {"strategy", CLI_STRING, &a->strategy, "ga (default) | openai-es | pgpe | snes"},
        {"lr", CLI_DOUBLE, &o->learning_rate,
         "ES learning rate, 0 = the strategy's (openai-es 0.01, pgpe 0.15, snes 1)"},
        {"sigma", CLI_DOUBLE, &o->sigma,
         "ES initial perturbation std, 0 = the strategy's (openai-es 0.02, pgpe/snes 0.05)"},
        {"rank", CLI_SIZE, &o->perturbation_rank, "ES perturbation rank, 0 = full rank (0)"},
        {"weight-decay", CLI_DOUBLE, &o->weight_decay, "ES L2 pull on the centre (0)"},
        {"sigma-final", CLI_DOUBLE, &o->sigma_final,
         "ES schedule: sigma and learning rate decay geometrically to this, 0 = none (0)"},
        {"save", CLI_STRING, &a->save, "write the evolved model here (safetensors)"},
        {"history", CLI_STRING, &a->history, "write one CSV row per generation here"},
        {"test-every", CLI_SIZE, &a->test_every,
         "with --history: the test accuracy of the run's answer every N generations (0)"},
        {"checkpoint", CLI_STRING, &a->checkpoint, "write the run's state here as it goes"},
        {"checkpoint-every", CLI_SIZE, &a->checkpoint_every,
         "checkpoint every N generations (0: after each taking > 1 s) and at the end (0)"},
        {"resume", CLI_STRING, &a->resume,
         "continue the run checkpointed here (to it, or to --checkpoint), on its data"},
        {"other-data", CLI_SWITCH, &a->other_data,
         "with --resume: accept --data unlike the data the checkpoint was made on"},
    };
    int parsed = cli_parse(argc, argv, flags, sizeof flags / sizeof flags[0],
                           "devo evolve [--data DIR] [--layers 30:relu,10:softmax] [options]");
    if (parsed != CLI_OK) return parsed;
    devo_loss loss;
    const char *bad = NULL, *value = NULL;
    if (!devo_loss_from_name(a->loss, &loss)) bad = "loss", value = a->loss;
    else if (!cli_fitness(a->fitness, &o->fitness)) bad = "fitness", value = a->fitness;
    else if (!cli_backend(a->backend, &o->backend)) bad = "backend", value = a->backend;
    else if (!cli_strategy(a->strategy, &o->strategy)) bad = "strategy", value = a->strategy;
    else if (strcmp(a->precision, "auto") == 0) o->precision = fastest_precision(o);
    else if (!cli_precision(a->precision, &o->precision)) bad = "precision", value = a->precision;
    if (bad) {
        fprintf(stderr, "devo: bad value '%s' for flag '--%s' (see --help)\n", value, bad);
        return CLI_USAGE_ERROR;
    }
    // The library's bounds (population >= 2, top-k <= population, ...), before any data loads.
    if (devo_options_check(o, "devo evolve") == DEVO_OK) return CLI_OK;
    if (!cli_refused_flag()) fprintf(stderr, "devo: %s\n", devo_last_error());
    return CLI_USAGE_ERROR;
}

/* The history CSV's header: every field of devo_generation_stats. */
#define HISTORY_HEADER \
    "generation,max_generations,best,mean,std,population_mean,best_ever,evaluations,seconds," \
    "center,test_accuracy\n"

/* Opens the history CSV; a resumed run's earlier generations are written again first, with
 * the test accuracy the file recorded for them (the checkpoint has none). */
static FILE *open_history(const evolve_args *a, devo_evolver *e)
{
    devo_history h = {0};
    if (devo_evolver_history(e, &h) != DEVO_OK) {
        cli_library_failure();
        return NULL;
    }
    double *accuracy = cli_history_test_accuracy(a->history, h.generations);
    FILE *f = accuracy ? fopen(a->history, "w") : NULL;
    if (!f) {
        fprintf(stderr, "devo: cannot write '%s': %s\n", a->history,
                accuracy ? strerror(errno) : "out of memory");
        free(accuracy);
        devo_history_free(&h);
        return NULL;
    }
    fputs(HISTORY_HEADER, f);
    for (size_t g = 0; g < h.generations; g++) {
        devo_generation_stats s = {g + 1, a->opt.max_generations, h.best[g], h.mean[g], h.std[g],
                                   h.population_mean[g], h.best_ever[g], h.evaluations[g],
                                   h.seconds[g], h.center[g], NULL};
        history_row(f, &s, accuracy[g]);
    }
    free(accuracy);
    devo_history_free(&h);
    return f;
}

/* Says which checkpoint holds the run (c: written by it, or the one resumed) and the command
 * that resumes it, or that none does. */
static void print_resume(FILE *out, const evolve_args *a, const cli_checkpoint *c)
{
    if (c->written && access(c->path, F_OK) != 0)
        fprintf(out, "the checkpoint %s is gone: this run cannot be resumed\n", c->path);
    else if (c->written)
        fprintf(out, "checkpoint of generation %zu in %s; resume with: devo evolve --resume %s "
                     "--data %s%s%s\n", c->written_generation, c->path, c->path, a->data,
                a->save ? " --save " : "", a->save ? a->save : "");
    else if (c->path)
        fprintf(out, "no checkpoint was written to %s: this run cannot be resumed\n", c->path);
    else
        fprintf(out, "no --checkpoint was given: this run cannot be resumed\n");
}

/* After SIGINT or SIGTERM: says where the run stopped and how to resume it; the exit code. */
static int interrupted_exit(const evolve_args *a, devo_evolver *e, const cli_checkpoint *c)
{
    int sigint = interrupted == SIGINT;
    printf("interrupted by %s after generation %zu\n", sigint ? "SIGINT" : "SIGTERM",
           devo_evolver_generation(e));
    print_resume(stdout, a, c);
    return sigint ? 130 : 143;
}

/* A run that stopped on an error after some generations (an ES that diverged): the answer of
 * its last good generation goes to --save (or a rescue file), and the command that resumes
 * from the last checkpoint is printed. Returns 1, the exit code. */
static int failed_run_exit(const evolve_args *a, devo_evolver *e, const cli_checkpoint *c)
{
    if (devo_evolver_generation(e) == 0) return 1; // nothing evolved, nothing to keep
    devo_model *last = NULL;
    if (a->save && devo_evolver_model(e, &last) == DEVO_OK) {
        fprintf(stderr, "devo: saving the answer of generation %zu, the last one completed\n",
                devo_evolver_generation(e));
        cli_save_model(last, a->save);
    }
    devo_model_free(last);
    print_resume(stderr, a, c);
    return 1;
}

/* Evolves m on train with e as the flags say, checkpointing, then saves and reports.
 * Returns the exit code. */
static int evolve(evolve_args *a, devo_model *m, devo_evolver *e, generation_log *log,
                  const devo_dataset *train, const devo_dataset *test)
{
    float *y = cli_targets(train, m);
    if (!y) return 1;
    log->checkpoint.evolver = e;
    log->test_every = a->test_every;
    log->test = test;
    float *test_y = test && a->test_every ? cli_targets(test, m) : NULL;
    log->test_y = test_y;
    if (a->history && !(log->history = open_history(a, e))) {
        free(y);
        free(test_y);
        return 1;
    }
    // FP32, the default, says nothing more (its first line stays what it was).
    const char *precision = a->opt.precision == DEVO_PRECISION_BF16   ? ", precision BF16"
                            : a->opt.precision == DEVO_PRECISION_TF32 ? ", precision TF32"
                                                                      : "";
    printf("devo %s: %zu samples of %zu features, %zu parameters, population %zu, top-k %zu, "
           "%zu generations, CPU GEMM %s%s%s\n", devo_version_string(), devo_dataset_count(train),
           devo_dataset_dim(train), devo_model_param_count(m), a->opt.population, a->opt.top_k,
           a->opt.max_generations, devo_cpu_gemm_kernels(a->opt.precision), precision,
           strcmp(a->precision, "auto") == 0 ? " (auto)" : "");
    if (devo_evolver_generation(e) > 0)
        printf("resuming %s at generation %zu\n", a->resume, devo_evolver_generation(e) + 1);
    fflush(stdout);
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    double start = devo_now_seconds();
    devo_status status =
        devo_evolver_fit(e, m, devo_dataset_x(train), y, devo_dataset_count(train), NULL);
    double seconds = devo_now_seconds() - start;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    interrupted = cli_mpi_max(interrupted); // a signal to any rank stopped them all
    free(y);
    free(test_y);
    // A history that failed to write (a full disk) fails the command, but the model still saves.
    if (log->history && fclose(log->history) != 0 && !log->error) log->error = errno;
    int history_ok = log->error == 0;
    if (!history_ok)
        fprintf(stderr, "devo: cannot write '%s': %s\n", a->history, strerror(log->error));
    // A bound that needs the data (--fitness-samples <= samples) is a usage error too.
    if (status == DEVO_ERR_INVALID_ARGUMENT && cli_refused_flag()) return 2;
    if (status == DEVO_ERR_INVALID_ARGUMENT && strstr(devo_last_error(), "differs from the data")) {
        fprintf(stderr, "devo: %s\ndevo: give --other-data to resume on %s anyway\n",
                devo_last_error(), a->data);
        return 1;
    }
    if (status != DEVO_OK) {
        cli_library_failure();
        return failed_run_exit(a, e, &log->checkpoint);
    }
    // A checkpoint that failed (now or during the run, which stopped there) loses no model.
    int checkpointed = !log->checkpoint.failed && cli_checkpoint_write(&log->checkpoint);
    // A failed save still reports: the model may be in a rescue file (see cli_save_model).
    int saved = !a->save || cli_save_model(m, a->save);
    if (!checkpointed) print_resume(stderr, a, &log->checkpoint);
    int stopped_code = interrupted ? interrupted_exit(a, e, &log->checkpoint) : 0;
    cli_mpi_report(e, devo_evolver_generation(e));
    if (!cli_report_split("train", m, train) || (test && !cli_report_split("test", m, test)))
        return 1;
    printf("time  %.2f s\n", seconds);
    return !saved || !history_ok || !checkpointed ? 1 : stopped_code;
}

/* The model and evolver of a fresh run (--layers, --seed) or of a resumed one (the
 * checkpoint's), reporting to log. 0 with a message printed on failure; the exit code in *code. */
static int open_run(evolve_args *a, int argc, char **argv, const devo_dataset *train,
                    generation_log *log, devo_model **m, devo_evolver **e, int *code)
{
    *code = 1;
    if (a->resume) {
        if (!cli_resume_flags_ok(argc, argv)) return (*code = 2), 0;
        if (!cli_resume_options(a->resume, argc, argv, &a->opt, &a->opt)) return 0;
        a->opt.on_generation = on_generation;
        a->opt.on_generation_user = log;
        if (cli_evolver_load_state(e, a->resume, &a->opt) != DEVO_OK ||
            devo_evolver_model(*e, m) != DEVO_OK ||
            devo_evolver_set_data(*e, a->data, a->other_data) != DEVO_OK)
            return !cli_library_failure();
        if (devo_model_input_dim(*m) != devo_dataset_dim(train)) {
            fprintf(stderr, "devo: the checkpoint's model takes %zu inputs, but %s has %zu\n",
                    devo_model_input_dim(*m), a->data, devo_dataset_dim(train));
            return 0;
        }
        if (a->opt.fitness_samples > devo_dataset_count(train)) {
            fprintf(stderr, "devo: the checkpoint's run scores %zu samples a generation "
                            "(its --fitness-samples), but %s has only %zu training samples\n",
                    a->opt.fitness_samples, a->data, devo_dataset_count(train));
            return 0;
        }
        return 1;
    }
    devo_loss loss;
    devo_loss_from_name(a->loss, &loss);
    if (!cli_build_model(a->layers, devo_dataset_dim(train), loss, m)) return (*code = 2), 0;
    a->opt.on_generation = on_generation;
    a->opt.on_generation_user = log;
    if (devo_model_init_weights(*m, a->opt.seed) != DEVO_OK) return !cli_library_failure();
    devo_status status = cli_evolver_create(e, *m, &a->opt);
    // Bounds that need the network (--rank against a layer, an even --population for
    // antithetic strategies) are usage errors too.
    if (status == DEVO_ERR_INVALID_ARGUMENT && cli_refused_flag()) return (*code = 2), 0;
    if (status == DEVO_OK) status = devo_evolver_set_data(*e, a->data, 0);
    return status == DEVO_OK || !cli_library_failure();
}

static int evolve_command(int argc, char **argv)
{
    evolve_args a;
    int parsed = parse_evolve(argc, argv, &a);
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    if (a.other_data && !a.resume) {
        fprintf(stderr, "devo: --other-data is for --resume\n");
        return 2;
    }
    // A resumed run continues on the checkpoint's data unless --data says otherwise.
    if (a.resume && !cli_flag_given(argc, argv, "data")) {
        if (devo_state_data(a.resume, a.saved_data, sizeof a.saved_data) != DEVO_OK)
            return cli_library_failure();
        if (a.saved_data[0]) a.data = a.saved_data;
    }
    const char *checkpoint = a.checkpoint ? a.checkpoint : a.resume;
    // Output paths are checked before the data is loaded and the run spent.
    if ((a.save && !cli_check_writable("save", a.save)) ||
        (a.history && !cli_check_writable("history", a.history)) ||
        (checkpoint && !cli_check_writable("checkpoint", checkpoint)))
        return 1;
    if (!cli_mpi_root()) a.save = a.history = NULL; // rank 0 writes them
    devo_dataset *train = NULL, *test = NULL;
    if (cli_mpi_any(!cli_load_split(&train, a.data, "train", "train", NULL, 0))) return 1;
    devo_model *m = NULL;
    devo_evolver *e = NULL;
    generation_log log = {NULL, 0, {checkpoint, a.checkpoint_every, NULL, 0.0, 0, 0, 0}, 0,
                          NULL, NULL};
    int code;
    // The model takes the training split's width; the test split must have it too.
    int opened = open_run(&a, argc, argv, train, &log, &m, &e, &code);
    if (opened && a.resume && !a.checkpoint) { // the checkpoint resumed is the one written to
        log.checkpoint.written = 1;
        log.checkpoint.written_generation = devo_evolver_generation(e);
    }
    if (opened)
        code = cli_mpi_any(!cli_load_split(&test, a.data, "t10k", "test", m, 1))
                   ? 1
                   : evolve(&a, m, e, &log, train, test);
    devo_evolver_free(e);
    devo_model_free(m);
    devo_dataset_free(train);
    devo_dataset_free(test);
    return code;
}

int cmd_evolve(int argc, char **argv)
{
    cli_mpi_start();
    return cli_mpi_finish(evolve_command(argc, argv));
}
