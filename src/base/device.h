/*
 * device.h - the one interface every device implements (cpu/: the readable
 * reference and the oracle; cuda/: the GPU). A device owns a population
 * (P individuals of D weights, or a low-rank ES's factors around a centre),
 * the bound training data and its work space, and offers the operations the
 * algorithms (algorithm.h) are made of. Every device implements every entry:
 * the GA uses init_population and vary, an evolution strategy perturb and
 * update_sums, both the rest. Per generation, only the GA's ranking and
 * parent pairs or an ES's centre and sigma (D each) go down to a device, and
 * the P fitnesses (an ES: also its two update sums, D each) come up.
 * Never installed.
 */
#ifndef DEVO_DEVICE_H
#define DEVO_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "devo.h"
#include "model.h"

/* What a device is asked to hold: the population's shape (set by the algorithm, see
 * algorithm.h's configure) and the run's evaluation settings. */
typedef struct devo_device_config {
    const devo_model *arch;      /* borrowed for the device's whole life */
    size_t population;           /* P */
    /* The GA's variation (SEED.md): */
    size_t top_k;                /* k: elites kept unchanged in slots 0..k-1 */
    float init_std;
    float mutation_std;
    uint64_t mutation_threshold; /* devo_mutation_threshold(mutation_rate) */
    /* An evolution strategy's population (directions 0: the GA's rows): */
    size_t directions;           /* directions drawn per generation: P, or P / 2 antithetic */
    int antithetic;              /* individual i is direction i / 2, sign + for even i, - odd */
    size_t rank;                 /* 0: full rank (rows held); r >= 1: factors of rank r */
    /* The rows held (devo_algorithm_device_config; an MPI process: devo_algorithm_device_part):
     * the slots [0, top_k) and [first_slot, first_slot + slot_count), and room for
     * received_rows rows of slots held elsewhere, loaded as elites from their holders.
     * Alone: [0, P), nothing received. The CUDA device holds every slot whatever this says. */
    size_t first_slot, slot_count, received_rows;
    /* An ES's directions drawn: [first_direction, first_direction + direction_count), those of
     * the slots held (a low-rank ES: all); update_sums adds those from sum_first on. Chained:
     * the sums continue the processes' before it (algorithm.h's devo_sum_chain). Alone: every
     * direction, summed from 0. */
    size_t first_direction, direction_count, sum_first;
    int chained;
    /* Evaluation: */
    uint64_t seed;
    devo_fitness fitness;        /* the built-in fitness evaluate computes */
    size_t batch_size;           /* samples per evaluation chunk */
    int threads;                 /* CPU threads, 0 = all cores */
    devo_precision precision;
    int device;                  /* CUDA device index (devo_options_device) */
} devo_device_config;

/* Bytes a device moved and holds, counted since create. */
typedef struct devo_device_traffic {
    uint64_t to_device;          /* host-to-device copies (0 on the CPU) */
    uint64_t to_host;            /* device-to-host copies (0 on the CPU) */
    size_t held;                 /* bytes held on the device now (0 on the CPU) */
    size_t rows;                 /* population rows allocated (one buffer), received ones too */
    size_t directions;           /* an ES's directions drawn and kept each generation */
} devo_device_traffic;

typedef struct devo_device_i {
    const char *name;            /* "cpu", "cuda" */
    devo_status (*create)(void **ctx, const devo_device_config *cfg);
    void (*destroy)(void *ctx);  /* accepts NULL */
    /* Keeps (or uploads once) the training data: x (n, inputs), y (n, target width). */
    devo_status (*bind_data)(void *ctx, const float *x, const float *y, size_t n);

    /* ---- rows */
    /* The GA's first population from w0 (D): row 0 = w0, row i = w0 + init_std N(0, 1). */
    devo_status (*init_population)(void *ctx, const float *w0);
    /* Slots [first, first + count) = rows (count, D): a saved state's, or elites from another
     * process (a slot this device does not hold takes one of its received rows, until the
     * next vary; none left is DEVO_ERR_INTERNAL). A low-rank population is drawn, never
     * loaded: DEVO_ERR_INVALID_ARGUMENT. */
    devo_status (*load_rows)(void *ctx, const float *rows, size_t first, size_t count);
    /* dst (D) = individual `index` (held, or received). */
    devo_status (*copy_row)(void *ctx, size_t index, float *dst);
    /* A host view of the whole population (P, D), valid until the population changes; a
     * device holding only a share of it: DEVO_ERR_UNSUPPORTED. */
    devo_status (*view)(void *ctx, const float **population);

    /* ---- evaluation */
    /* Built-in fitness of individuals [first, first + count) into fitness[first ..], on the
     * bound samples listed in rows (row_count of them), or on all of them when rows is NULL. */
    devo_status (*evaluate)(void *ctx, const size_t *rows, size_t row_count, size_t first,
                            size_t count, double *fitness);
    /* *fitness of the centre last given to perturb, on the same samples as evaluate. */
    devo_status (*evaluate_center)(void *ctx, const size_t *rows, size_t row_count,
                                   double *fitness);
    /* order (P) = the ranking of fitness (P): devo_rank's order (selection.h). */
    devo_status (*rank)(void *ctx, const double *fitness, size_t *order);
    /* Every individual on its own inputs: x (P, rows, inputs) -> y (P, rows, outputs); a
     * device holding only a share: DEVO_ERR_UNSUPPORTED. */
    devo_status (*forward)(void *ctx, const float *x, size_t rows, float *y);
    /* Every individual on the same inputs: x (n, inputs) -> y (P, n, outputs), activated
     * (devo_evolver_predict, a batched custom fitness); a device holding only a share:
     * DEVO_ERR_UNSUPPORTED. */
    devo_status (*predict)(void *ctx, const float *x, size_t n, float *y);

    /* ---- variation */
    /* The GA's next generation: slot r < k gets individual order[r] unchanged; slot k + c the
     * child of elites pairs[2c], pairs[2c + 1] (ranks), drawn for `generation`; only the
     * children of slots [first, first + count) are made (an MPI rank's share), the others
     * are left undefined. Bit-identical to those slots of a whole generation. */
    devo_status (*vary)(void *ctx, const size_t *order, const uint32_t *pairs,
                        uint32_t generation, size_t first, size_t count);
    /* An ES's population around center and sigma (D each, copied): the directions of
     * `generation` drawn from the run's Philox (rng.h's ES_NOISE or LOW_RANK stream), full
     * rank as rows, low rank as factors (es_noise.h's layout). */
    devo_status (*perturb)(void *ctx, const float *center, const float *sigma,
                           uint32_t generation);
    /* The ES update's sums over the directions last drawn, w and v (directions): at full rank
     * s1 (D) += sum_d w_d eps_d and s2 (D) += sum_d v_d (eps_d^2 - 1) over d from sum_first on,
     * in order (the caller starts them at zero, or at the sums of the directions before); at
     * low rank they are set to es_noise.h's low-rank forms over every direction. */
    devo_status (*update_sums)(void *ctx, const float *w, const float *v, float *s1, float *s2);

    /* ---- accounting (no context needed for the ceiling) */
    void (*traffic)(void *ctx, devo_device_traffic *out);
    /* The hardware ceiling, for benchmarks: the FLOP/s of one large square GEMM in
     * `precision`'s arithmetic (as evaluation runs it) of side *gemm_size, and the bytes/s of
     * a large device-to-device (or memcpy) copy. */
    devo_status (*measure_ceiling)(int threads, devo_precision precision, double *gemm_flops,
                                   double *copy_bytes_per_second, size_t *gemm_size);
    /* Waits until the work the device has queued is done. A call may return while its work
     * still runs on the device (the CUDA device's vary does), and a later call that needs the
     * results waits for them; only timing a phase apart (devo bench) needs this. The CPU's
     * calls return with their work done: its finish returns at once. */
    devo_status (*finish)(void *ctx);
} devo_device_i;

/* The CPU device (cpu/); always built. */
const devo_device_i *devo_device_cpu(void);

/* The CUDA device (cuda/), or NULL when devo was built without CUDA. */
const devo_device_i *devo_device_cuda(void);

#endif /* DEVO_DEVICE_H */
