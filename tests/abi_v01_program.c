/*
 * abi_v01_program.c - a program as built against devo 0.1's header, run against
 * this library: it declares 0.1's struct layouts itself (without the fields added
 * since) and calls the 0.1 symbols. Guard bytes after each struct must survive;
 * the run must be the GA's. Exit 0 on success, 1 with a message otherwise.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi_guard.h"

typedef struct devo_model devo_model;
typedef struct devo_evolver devo_evolver;

/* devo 0.1's layouts, field for field. */
typedef struct {
    size_t generation, max_generations;
    double best, mean, std, population_mean, best_ever;
    uint64_t evaluations;
    double seconds;
} stats_v01;

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
} options_v01;

typedef struct {
    size_t generations;
    double *best, *mean, *std, *population_mean, *best_ever;
    uint64_t *evaluations;
    double *seconds;
} history_v01;

int devo_model_create(devo_model **out, size_t input_dim);
int devo_model_add_dense(devo_model *m, size_t units, int act);
int devo_model_compile(devo_model *m, int loss);
void devo_model_free(devo_model *m);
void devo_evolve_options_init(options_v01 *o);
int devo_fit_evolve(devo_model *m, const float *x, const float *y, size_t n,
                    const options_v01 *opt, history_v01 *hist);
int devo_evolver_create(devo_evolver **out, const devo_model *m, const options_v01 *opt);
int devo_evolver_tell(devo_evolver *e, const double *fitness);
int devo_evolver_stats(const devo_evolver *e, stats_v01 *stats);
void devo_evolver_free(devo_evolver *e);
void devo_history_free(history_v01 *h);

int main(void)
{
    struct { options_v01 o; unsigned char guard[GUARD_BYTES]; } opt;
    struct { stats_v01 s; unsigned char guard[GUARD_BYTES]; } stats;
    struct { history_v01 h; unsigned char guard[GUARD_BYTES]; } hist;
    memset(&opt, GUARD, sizeof opt);
    memset(&stats, GUARD, sizeof stats);
    memset(&hist, 0, sizeof hist.h);
    memset(hist.guard, GUARD, sizeof hist.guard);
    devo_evolve_options_init(&opt.o);
    if (!guarded(opt.guard, "0.1", "devo_evolve_options")) return 1;
    if (opt.o.population != 16 || opt.o.top_k != 4 || opt.o.mutation_rate != 0.2) {
        printf("devo_evolve_options_init gave 0.1 programs wrong defaults\n");
        return 1;
    }
    opt.o.verbose = 0;
    opt.o.max_generations = 3;
    opt.o.population = 8;
    opt.o.top_k = 2;
    opt.o.backend = 1; /* CPU */
    devo_model *m = NULL;
    const float x[4] = {0, 1, 1, 0}, y[2] = {0, 1};
    if (devo_model_create(&m, 2) || devo_model_add_dense(m, 2, 4) || devo_model_compile(m, 4)) {
        printf("model building failed\n");
        return 1;
    }
    int status = devo_fit_evolve(m, x, y, 2, &opt.o, &hist.h);
    if (status != 0 || hist.h.generations != 3 || !guarded(hist.guard, "0.1", "devo_history")) {
        printf("devo_fit_evolve failed for a 0.1 program (%d)\n", status);
        return 1;
    }
    devo_history_free(&hist.h);
    devo_evolver *e = NULL;
    double fitness[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    if (devo_evolver_create(&e, m, &opt.o) || devo_evolver_tell(e, fitness) ||
        devo_evolver_stats(e, &stats.s) || !guarded(stats.guard, "0.1", "devo_generation_stats")) {
        printf("ask/tell failed for a 0.1 program\n");
        return 1;
    }
    if (stats.s.generation != 1 || stats.s.best != 8.0 || stats.s.mean != 7.5) {
        printf("devo_evolver_stats gave a 0.1 program wrong statistics\n");
        return 1;
    }
    devo_evolver_free(e);
    devo_model_free(m);
    printf("a devo 0.1 program runs against this library\n");
    return 0;
}
