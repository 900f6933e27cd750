/*
 * evolver.h - the engine shared by ask/tell and devo_fit_evolve: an algorithm
 * (algorithm.h) over a device (device.h) that holds the population, the host
 * fitness and ranking, selection statistics, the run's answer, and the next
 * generation. Private.
 */
#ifndef DEVO_EVOLVER_H
#define DEVO_EVOLVER_H

#include "algorithm.h"
#include "device.h"

typedef struct devo_evolver devo_evolver;

/* A run spread over processes (libdevo_mpi, src/mpi/). A generation evaluates the slots
 * [from, P) (from = 0, or k when the elites' fitness is kept); each process evaluates its
 * share of them, and breeds the children of its share of the next generation's [from, P).
 * Every process holds the elites (slots 0..k-1) after breeding. The hooks make every
 * process's host state (fitness, ranking, elites, statistics) the same. NULL: one process. */
typedef struct devo_dist {
    int root;            /* nonzero in the process that writes files and reports */
    void *ctx;
    /* This process's share [*first, *first + *count) of the slots [from, P). */
    void (*share)(void *ctx, size_t from, size_t *first, size_t *count);
    /* Every share of fitness[from .. P) into every process's array. */
    devo_status (*gather_fitness)(void *ctx, double *fitness, size_t from);
    /* Rows order[0..k) of e's population from the processes holding them into every one. */
    devo_status (*share_elites)(void *ctx, devo_evolver *e);
    /* The whole population (P x D, malloc'd) in the root process, NULL elsewhere. */
    devo_status (*gather_population)(void *ctx, devo_evolver *e, float **population);
    /* Every process's status: the first failing one's (its message prefixed), or DEVO_OK. */
    devo_status (*agree)(void *ctx, devo_status status);
    /* Nonzero when flag is nonzero in any process. */
    int (*any)(void *ctx, int flag);
    /* DEVO_OK in every process when text ("key=value" lines) is the root's; else a failure
     * in every process naming the first difference (fn names the caller). */
    devo_status (*same)(void *ctx, const char *text, const char *fn);
    /* Frees ctx (and this table, if it lives there) with the evolver. */
    void (*destroy)(void *ctx);
} devo_dist;

/* status agreed by every process of e's run (itself when e runs alone). */
devo_status devo_evolver_agree(const devo_evolver *e, devo_status status);

struct devo_evolver {
    const devo_device_i *device; /* where the population lives and is evaluated */
    void *device_ctx;
    const devo_algorithm_i *algorithm; /* how the next population is made from a ranked one */
    void *algorithm_state;
    devo_device_config device_config; /* what the device was made to hold */
    devo_model *arch;          /* private clone of the model: layers, and scratch weights */
    devo_evolve_options opt;
    size_t P, D, k;
    double *fitness;           /* (P): fitness of the current population, NaN = unknown */
    double *spare;             /* (P): the fitness array of the next generation */
    size_t *order;             /* (P): the last ranking */
    float *best;               /* (D): the answer of the last selected generation: its best
                                  individual, or an ES's centre */
    double best_ever;
    uint64_t evaluations;
    size_t generation;         /* generations selected so far */
    size_t max_generations;    /* the run's planned generations, for the statistics (0: ask/tell) */
    devo_generation_stats last; /* statistics of the last selected generation */
    double start_seconds;
    devo_history history;      /* one record per selected generation (generation of them) */
    size_t history_capacity;
    const devo_dist *dist;     /* NULL, or the run's other processes (destroyed with e) */
    size_t share_from;         /* with dist: the first slot of the generation being evaluated,
                                  or, once it is bred, of the next one (see devo_dist) */
    double center_fitness;     /* ES: the centre's fitness this generation (NaN: not scored) */
    char *data_name;           /* devo_evolver_set_data's name, or the loaded state's
                                  (NULL: none) */
    char *saved_data_name;     /* a loaded state's data name (NULL: none) */
    char data_fingerprint[16]; /* "%08x" of the data last fitted on, or saved; "" before */
    int data_saved;            /* data_fingerprint is a loaded state's: the next fit checks it */
    int accept_other_data;     /* ... unless this is set */
};

/* The fingerprint of fit data into out (16 bytes): the CRC-32 of n, x (n, inputs) and
 * y (n, width) as "%08x". */
void devo_data_fingerprint(const float *x, const float *y, size_t n, size_t inputs,
                           size_t width, char out[16]);

/* Which part of the population a process holds: process `index` of `count` (MPI ranks;
 * DEVO_WHOLE alone). */
typedef struct devo_part {
    int index, count;
} devo_part;
#define DEVO_WHOLE ((devo_part){0, 1})

/* Validates and creates an evolver whose device holds `part` of the population
 * (devo_algorithm_device_part); `fn` names the caller. The first population is `population`
 * (P x D, copied; a saved state's) or, when NULL, made from m's weights. */
devo_status devo_evolver_open(devo_evolver **out, const devo_model *m,
                              const devo_evolve_options *opt, const char *fn,
                              const float *population, devo_part part);

/* devo_evolver_load_state for `part` of the population (libdevo_mpi). */
devo_status devo_evolver_load_state_part(devo_evolver **out, const char *path,
                                         const devo_evolve_options *overrides, devo_part part);

/* Nonzero when a and b have the same input width and layers (units and activations). */
int devo_same_architecture(const devo_model *a, const devo_model *b);

/* Ranks the current fitness, keeps the algorithm's answer (the best individual, or an ES's
 * centre) and fills e->last. DEVO_ERR_NUMERIC when every fitness is NaN. */
devo_status devo_evolver_select(devo_evolver *e);

/* Makes the next generation from the last ranking through the algorithm: the GA's elites
 * (with their fitness) in slots 0..k-1, then its children, or an ES's new population
 * (fitness unknown). */
devo_status devo_evolver_breed(devo_evolver *e);

#endif /* DEVO_EVOLVER_H */
