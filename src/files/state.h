/*
 * state.h - an evolver's saved state as read from a state file, validated in
 * full before an evolver is built from it (devo_evolver_load_state), and
 * readable on its own (the fuzz target). Private.
 */
#ifndef DEVO_STATE_H
#define DEVO_STATE_H

#include "devo.h"
#include "strategy.h"

typedef struct devo_state {
    devo_model *arch;           /* compiled; its weights are the best individual (D) */
    devo_evolve_options opt;    /* the saved options, callbacks NULL */
    int custom_fitness;         /* the saved run had a fitness_fn */
    size_t P, D;
    size_t generation;          /* generations selected (and bred) so far */
    size_t planned_generations; /* the statistics' max_generations (0 in ask/tell) */
    uint64_t evaluations;
    double best_ever;           /* NaN before the first generation */
    double elapsed_seconds;     /* wall time of the run when saved */
    float *population;          /* (P, D); NULL for an ES (its population is drawn) */
    double *fitness;            /* (P): elites' in 0..k-1, NaN for the children */
    size_t *order;              /* (P): the last ranking, a permutation */
    devo_history history;       /* generation records */
    /* An evolution strategy (NULL for the GA): its distribution as the state file holds it,
     * es[0..es_count) listing center, sigma, told and strategy_state's tensors. */
    const devo_strategy_i *strategy;
    void *strategy_state;
    float *center, *sigma;      /* (D) each */
    uint64_t told;
    devo_state_tensor es[DEVO_ALGORITHM_STATE_MAX];
    size_t es_count;
    char *data_name;            /* the data's name ("" none; NULL before version 3) */
    char data_fingerprint[16];  /* "%08x", or "" (ask/tell, or before version 3) */
    int unchecked;              /* the file has no checksum (before version 3) */
} devo_state;

/* Reads and validates the state file at path into *s (zeroed first). On failure *s holds
 * nothing to free. */
devo_status devo_state_read(devo_state *s, const char *path);

void devo_state_free(devo_state *s);

#endif /* DEVO_STATE_H */
