/*
 * evolver.h - the engine shared by ask/tell and devo_fit_evolve: the
 * population on a backend, host fitness and ranking, selection statistics,
 * the best individual, and breeding. Private.
 */
#ifndef DEVO_EVOLVER_H
#define DEVO_EVOLVER_H

#include "backend.h"

struct devo_evolver {
    const devo_backend_i *backend;
    void *ctx;
    devo_model *arch;          /* private clone of the model: layers, and scratch weights */
    devo_evolve_options opt;
    size_t P, D, k;
    double *fitness;           /* (P): fitness of the current population, NaN = unknown */
    double *spare;             /* (P): the fitness array of the next generation */
    size_t *order;             /* (P): the last ranking */
    uint32_t *pairs;           /* (P - k, 2): parent ranks of each child */
    float *best;               /* (D): best individual of the last selected generation */
    double best_ever;
    uint64_t evaluations;
    size_t generation;         /* generations selected so far */
    size_t max_generations;    /* the run's planned generations, for the statistics (0: ask/tell) */
    devo_generation_stats last; /* statistics of the last selected generation */
    double start_seconds;
    devo_history history;      /* one record per selected generation (generation of them) */
    size_t history_capacity;
};

/* Validates and creates an evolver; `fn` names the caller. The first population is
 * `population` (P x D, copied; a saved state's) or, when NULL, made from m's weights. */
devo_status devo_evolver_open(devo_evolver **out, const devo_model *m,
                              const devo_evolve_options *opt, const char *fn,
                              const float *population);

/* Nonzero when a and b have the same input width and layers (units and activations). */
int devo_same_architecture(const devo_model *a, const devo_model *b);

/* Ranks the current fitness, keeps the best individual and fills e->last.
 * DEVO_ERR_NUMERIC when every fitness is NaN. */
devo_status devo_evolver_select(devo_evolver *e);

/* Makes the next generation from the last ranking: elites (with their fitness)
 * in slots 0..k-1, then the children (fitness unknown). */
devo_status devo_evolver_breed(devo_evolver *e);

#endif /* DEVO_EVOLVER_H */
