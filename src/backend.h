/*
 * backend.h - the internal interface every backend implements (CPU reference,
 * CUDA). A backend owns the population (P x D floats, double-buffered), the
 * bound training data and its work space; the engine (evolver.c) orchestrates
 * and keeps the fitness and ranking on the host. Never installed.
 */
#ifndef DEVO_BACKEND_H
#define DEVO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "devo.h"
#include "model.h"

typedef struct devo_backend_config {
    const devo_model *arch;      /* borrowed for the backend's whole life */
    size_t population;           /* P */
    size_t top_k;                /* k */
    uint64_t seed;
    float init_std;
    float mutation_std;
    uint64_t mutation_threshold; /* devo_mutation_threshold(mutation_rate) */
    devo_fitness fitness;        /* built-in fitness computed by evaluate */
    size_t batch_size;           /* samples per evaluation chunk */
    int threads;                 /* CPU threads, 0 = all cores */
    devo_precision precision;
    int device;                  /* CUDA device index (devo_options_device) */
    const devo_evolve_options *options; /* the run's options, borrowed for create only: the
                                           evolution strategies read theirs from it */
} devo_backend_config;

/* One piece of a search distribution's state that evolves across generations, as the state
 * file holds it: `length` floats at f32 (bounded below by `bound`), or, when f32 is NULL, one
 * counter at count. Writable: a saved state is restored through it. */
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

typedef struct devo_backend_i {
    const char *name;
    devo_status (*create)(void **ctx, const devo_backend_config *cfg);
    void (*destroy)(void *ctx); /* accepts NULL */
    /* The first population from w0 (D): devo_cpu_init_population's rule. */
    devo_status (*init_population)(void *ctx, const float *w0);
    /* Keeps (or uploads once) the training data: x (n, inputs), y (n, target width). */
    devo_status (*bind_data)(void *ctx, const float *x, const float *y, size_t n);
    /* Built-in fitness of individuals [first, first + count) into fitness[first ..], on the
     * bound samples listed in rows (row_count of them), or on all of them when rows is NULL. */
    devo_status (*evaluate)(void *ctx, const size_t *rows, size_t row_count, size_t first,
                            size_t count, double *fitness);
    /* order (P) = the ranking of fitness (P), devo_rank's order. */
    devo_status (*rank)(void *ctx, const double *fitness, size_t *order);
    /* The next generation: slot r < k gets individual order[r] unchanged; slot k + c
     * gets the child of elites pairs[2c], pairs[2c+1] (ranks), drawn for `generation`. */
    devo_status (*breed)(void *ctx, const size_t *order, const uint32_t *pairs,
                         uint32_t generation);
    /* A host view of the population (P, D), valid until the next breed. */
    devo_status (*population)(void *ctx, const float **view);
    /* Copies individual `index` (D floats) to dst. */
    devo_status (*individual)(void *ctx, size_t index, float *dst);
    /* Every individual on its own inputs: x (P, rows, inputs) -> y (P, rows, outputs), activated. */
    devo_status (*forward)(void *ctx, const float *x, size_t rows, float *y);
    /* Bytes this backend holds on its device (0 for the host backend). Optional. */
    size_t (*device_bytes)(void *ctx);

    /* The hardware ceiling, for benchmarks (no context needed): the FLOP/s of one large
     * square GEMM in `precision`'s arithmetic (as evaluation runs it: FP32, TF32 or BF16
     * operands, FP32 accumulation) of side *gemm_size, and the bytes/s of a large
     * device-to-device (or memcpy) copy. Optional. */
    devo_status (*measure_ceiling)(int threads, devo_precision precision, double *gemm_flops,
                                   double *copy_bytes_per_second, size_t *gemm_size);

    /* Replaces rows [first, first + count) of the population with rows (count, D): a saved
     * state's, or elites from another process. Optional: without it, no resume and no MPI. */
    devo_status (*load_population)(void *ctx, const float *rows, size_t first, size_t count);
    /* breed, making only the children of slots [first, first + count) (the elites in slots
     * 0..k-1 always): bit-identical to those slots of breed. The other rows are left
     * undefined. Optional: without it, no MPI. */
    devo_status (*breed_range)(void *ctx, const size_t *order, const uint32_t *pairs,
                               uint32_t generation, size_t first, size_t count);
    /* Search-distribution strategies (the ES backend; NULL for the GA's backends): */
    /* Updates the distribution from the fitness (P) of the current population; the next
     * breed then draws the next population around it. */
    devo_status (*tell)(void *ctx, const double *fitness);
    /* Copies the distribution's centre (D) to dst. */
    devo_status (*center)(void *ctx, float *dst);
    /* The centre's built-in fitness on the bound samples (rows as in evaluate). */
    devo_status (*evaluate_center)(void *ctx, const size_t *rows, size_t row_count,
                                   double *fitness);
    /* Lists the distribution's state (devo_es_state_list) into out; returns the count. */
    size_t (*es_state)(void *ctx, devo_state_tensor *out);
} devo_backend_i;

/* The CPU reference backend; always built. */
const devo_backend_i *devo_backend_cpu(void);

/* The evolution strategies' backend: OpenAI-ES, PGPE, SNES, full or low rank; the search
 * distribution on the host, evaluation on the CPU or a CUDA device as cfg->options->backend
 * says (es_eval.h). Always built. */
const devo_backend_i *devo_backend_es(void);

/* The CUDA backend, or NULL when devo was built without CUDA. */
const devo_backend_i *devo_backend_cuda(void);

#endif /* DEVO_BACKEND_H */
