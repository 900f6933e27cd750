/*
 * abi_v02_program.c - a program as built against devo 0.2's header, run against this
 * library: it declares 0.2's devo_evolve_options itself (without the fields added since,
 * the batched fitness) and calls the 0.2 symbols that take it. Guard bytes after each
 * options struct must survive, and the 0.2 fields (an evolution strategy) must take effect.
 * Argument: a path for a state file. Exit 0 on success, 1 with a message otherwise.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi_guard.h"

typedef struct devo_model devo_model;
typedef struct devo_evolver devo_evolver;

/* devo 0.2's options, field for field. */
typedef struct {
    size_t max_generations, population, top_k;
    double mutation_rate, mutation_std, init_std;
    int verbose;
    int fitness;
    void *fitness_fn, *fitness_user;
    size_t batch_size, fitness_samples;
    uint64_t seed;
    int backend, threads;
    void *on_generation, *on_generation_user;
    int precision;
    int strategy;
    double learning_rate, sigma;
    size_t perturbation_rank;
    double weight_decay, sigma_final;
} options_v02;

typedef struct {
    size_t generations;
    double *best, *mean, *std, *population_mean, *best_ever;
    uint64_t *evaluations;
    double *seconds, *center;
} history_v02;

int devo_model_create(devo_model **out, size_t input_dim);
int devo_model_add_dense(devo_model *m, size_t units, int act);
int devo_model_compile(devo_model *m, int loss);
void devo_model_free(devo_model *m);
void devo_evolve_options_init_v2(options_v02 *o);
int devo_fit_evolve_v2(devo_model *m, const float *x, const float *y, size_t n,
                       const options_v02 *opt, history_v02 *hist);
int devo_evolver_create_v2(devo_evolver **out, const devo_model *m, const options_v02 *opt);
int devo_evolver_tell(devo_evolver *e, const double *fitness);
int devo_evolver_save_state(const devo_evolver *e, const char *path);
int devo_evolver_load_state(devo_evolver **out, const char *path, const options_v02 *overrides);
int devo_state_options(const char *path, options_v02 *opt);
int devo_evolver_options(const devo_evolver *e, options_v02 *opt);
size_t devo_evolver_generation(const devo_evolver *e);
void devo_evolver_free(devo_evolver *e);
void devo_history_free_v2(history_v02 *h);

typedef struct {
    options_v02 o;
    unsigned char guard[GUARD_BYTES];
} guarded_options;

static int fail(const char *what)
{
    printf("%s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) return fail("usage: abi_v02_program STATE_PATH");
    guarded_options opt, read_back;
    memset(&opt, GUARD, sizeof opt);
    memset(&read_back, GUARD, sizeof read_back);
    devo_evolve_options_init_v2(&opt.o);
    if (!guarded(opt.guard, "0.2", "devo_evolve_options")) return 1;
    if (opt.o.population != 16 || opt.o.top_k != 4 || opt.o.strategy != 0 || opt.o.sigma != 0.0)
        return fail("devo_evolve_options_init_v2 gave 0.2 programs wrong defaults");
    opt.o.verbose = 0;
    opt.o.max_generations = 3;
    opt.o.population = 8;
    opt.o.top_k = 2;
    opt.o.backend = 1;  /* CPU */
    opt.o.strategy = 1; /* OpenAI-ES: a 0.2 field */
    devo_model *m = NULL;
    const float x[4] = {0, 1, 1, 0}, y[2] = {0, 1};
    if (devo_model_create(&m, 2) || devo_model_add_dense(m, 2, 4) || devo_model_compile(m, 4))
        return fail("model building failed");
    history_v02 hist;
    memset(&hist, 0, sizeof hist);
    int status = devo_fit_evolve_v2(m, x, y, 2, &opt.o, &hist);
    if (status != 0 || hist.generations != 3 || isnan(hist.center[2]))
        return fail("devo_fit_evolve_v2 did not run a 0.2 program's evolution strategy");
    devo_history_free_v2(&hist);
    devo_evolver *e = NULL, *r = NULL;
    double fitness[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    if (devo_evolver_create_v2(&e, m, &opt.o) || devo_evolver_tell(e, fitness) ||
        devo_evolver_save_state(e, argv[1]))
        return fail("ask/tell or save_state failed for a 0.2 program");
    if (devo_state_options(argv[1], &read_back.o) ||
        !guarded(read_back.guard, "0.2", "devo_evolve_options (devo_state_options)"))
        return 1;
    if (read_back.o.strategy != 1 || read_back.o.population != 8)
        return fail("devo_state_options gave a 0.2 program the wrong options");
    read_back.o.max_generations = 5;
    if (devo_evolver_load_state(&r, argv[1], &read_back.o) || devo_evolver_generation(r) != 1)
        return fail("devo_evolver_load_state refused a 0.2 program's overrides");
    memset(&read_back, GUARD, sizeof read_back);
    if (devo_evolver_options(r, &read_back.o) ||
        !guarded(read_back.guard, "0.2", "devo_evolve_options (devo_evolver_options)"))
        return 1;
    if (read_back.o.max_generations != 5)
        return fail("devo_evolver_options gave a 0.2 program the wrong options");
    devo_evolver_free(e);
    devo_evolver_free(r);
    devo_model_free(m);
    remove(argv[1]);
    printf("a devo 0.2 program runs against this library\n");
    return 0;
}
