/*
 * algorithm.h - the one interface every algorithm implements: the seed's GA
 * (ga.c) and the evolution strategies (es.c, with OpenAI-ES, PGPE and SNES
 * behind strategy.h). An algorithm says what it asks of a device (configure),
 * keeps what evolves on the host (the GA: its parent pairs; an ES: centre,
 * sigma and its optimiser's state) and makes each next population through the
 * device interface (device.h) alone. The engine (evolver.c) evaluates and ranks;
 * the algorithm turns a ranked generation into the next. Never installed.
 */
#ifndef DEVO_ALGORITHM_H
#define DEVO_ALGORITHM_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

/* One piece of an algorithm's state that evolves across generations, as the state file holds
 * it: `length` floats at f32 (bounded below by `bound`), or, when f32 is NULL, one counter at
 * count. Writable: a saved state is restored through it. */
typedef enum devo_state_bound {
    DEVO_STATE_FINITE = 0,      /* any finite value */
    DEVO_STATE_NONNEGATIVE = 1, /* finite, >= 0 (a second moment) */
    DEVO_STATE_POSITIVE = 2     /* finite, > 0 (a sigma) */
} devo_state_bound;

typedef struct devo_state_tensor {
    const char *name;       /* the state file's tensor name, "es/center" */
    float *f32;             /* (length), or NULL for a counter */
    size_t length;
    uint64_t *count;        /* the counter when f32 is NULL */
    devo_state_bound bound;
} devo_state_tensor;

/* Checks t's values against its bound (a counter passes): DEVO_OK, or `code` with a message
 * "WHERE: tensor 'NAME' entry J is V, not a finite value[ > 0| >= 0]". What an evolver
 * saves, its loader accepts: both check with this. */
devo_status devo_state_tensor_check(const devo_state_tensor *t, devo_status code,
                                    const char *where);

/* How processes continue an ES's full-rank update sums one after another, in direction
 * order, so that they are the same bits as one process's (libdevo_mpi): receive sets s1 and s2
 * (D each) to the sums of the processes before (zeros in the first); pass hands them on and
 * leaves the finished sums in every process. */
typedef struct devo_sum_chain {
    void *ctx;
    devo_status (*receive)(void *ctx, float *s1, float *s2, size_t D);
    devo_status (*pass)(void *ctx, float *s1, float *s2, size_t D);
} devo_sum_chain;

/* The most tensors an algorithm's state lists: centre, sigma, the schedule's position and a
 * strategy's optimiser state (strategy.h). */
enum { DEVO_ALGORITHM_STATE_MAX = 7 };

typedef struct devo_algorithm_i {
    const char *name;
    /* Nonzero for a search distribution: its answer is its centre, scored once more each
     * generation (the history's centre column), and every process holds all of its state. */
    int has_center;
    /* Nonzero when slots 0..k-1 of a new generation are the last one's elites, unchanged,
     * so their fitness stands while the samples stay the same (the GA). */
    int keeps_elites;
    /* What o asks of the device: the population's shape fields of cfg (population, top_k,
     * init_std, mutation_std, mutation_threshold, directions, antithetic, rank). */
    void (*configure)(const devo_evolve_options *o, devo_device_config *cfg);
    /* State for a run of o over the device (dev, dev_ctx) made from cfg; all borrowed. */
    devo_status (*create)(void **state, const devo_evolve_options *o,
                          const devo_device_config *cfg, const devo_device_i *dev,
                          void *dev_ctx);
    void (*destroy)(void *state); /* accepts NULL */
    /* The first population, around (or from) w0 (D). */
    devo_status (*start)(void *state, const float *w0);
    /* The population of a saved run at `generation`: the GA loads the rows (P, D) of the
     * slots its device holds; an ES, its state restored through `list`, draws them again
     * (population NULL). */
    devo_status (*resume)(void *state, const float *population, uint32_t generation);
    /* The next population from the ranked fitness (P) of this one (order, P), made for
     * `generation`; a process spread over others makes only the slots [first, first + count)
     * that it evaluates next (and whatever every process must hold). */
    devo_status (*next)(void *state, const double *fitness, const size_t *order,
                        uint32_t generation, size_t first, size_t count);
    /* dst (D) = the run's answer: the best individual (order[0]), or the centre. */
    devo_status (*answer)(void *state, const size_t *order, float *dst);
    /* The processes' chain of update sums (borrowed; NULL alone), used when the device
     * config's `chained` says its sums are a part. */
    void (*chain)(void *state, const devo_sum_chain *chain);
    /* Lists the state that evolves across generations into out (at most
     * DEVO_ALGORITHM_STATE_MAX entries; the GA has none); returns the count. */
    size_t (*list)(void *state, devo_state_tensor *out);
} devo_algorithm_i;

/* The seed's genetic algorithm (ga.c). */
const devo_algorithm_i *devo_algorithm_ga(void);

/* The evolution strategies (es.c): the strategy named by devo_evolve_options.strategy. */
const devo_algorithm_i *devo_algorithm_es(void);

/* The algorithm of o->strategy. */
const devo_algorithm_i *devo_algorithm_for(const devo_evolve_options *o);

/* *cfg = what a run of o on arch asks of its device: o's evaluation settings, the process's
 * CUDA device (devo_options_device) and the population devo_algorithm_for(o) configures,
 * held whole. */
void devo_algorithm_device_config(const devo_evolve_options *o, const devo_model *arch,
                                  devo_device_config *cfg);

/* The slots process `index` of `count` evaluates and holds when a generation's slots
 * [from, P) are shared (from = 0, or top_k when the elites keep their fitness): the shares
 * (share.h) of [top_k, P), the first extended down to `from`. */
void devo_algorithm_share(const devo_device_config *cfg, size_t from, int index, int count,
                          size_t *first, size_t *slots);

/* cfg made to hold only process `index` of `count`'s part: the elites, its share of
 * [top_k, P), and room for the top_k elites it may receive from the others. */
void devo_algorithm_device_part(devo_device_config *cfg, int index, int count);

#endif /* DEVO_ALGORITHM_H */
