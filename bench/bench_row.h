/*
 * bench_row.h - measures one row of 'devo bench': one device, precision,
 * network, algorithm and population size, timed on the device and algorithm
 * interfaces themselves so that evaluation, selection and variation are timed apart.
 */
#ifndef DEVO_BENCH_ROW_H
#define DEVO_BENCH_ROW_H

#include "algorithm.h"

typedef struct bench_row_config {
    const devo_device_i *device;
    devo_precision precision;
    const char *layers;       /* "30:relu,10:softmax" */
    size_t population, top_k;
    const float *x, *y;       /* (n, inputs), (n) class indices */
    size_t n, inputs;
    size_t batch_size;
    int threads;
    size_t warmup, generations;
    devo_strategy strategy;   /* the GA, or an evolution strategy */
    size_t rank;              /* an ES's perturbation rank, 0 = full rank */
} bench_row_config;

typedef struct bench_row_result {
    size_t params;                /* D */
    double gemm_flops;            /* FLOPs of every GEMM of one generation's evaluation */
    double variation_bytes;       /* bytes variation reads and writes per generation */
    double generation_seconds;    /* medians over the timed generations */
    double evaluate_seconds;
    double select_seconds;
    double vary_seconds;
    double host_peak_bytes;       /* peak resident set size during the row */
    double device_bytes;          /* bytes held on the device (0 on the CPU) */
    double single_model_seconds;  /* median time of one model's forward pass (and loss) over the
                                     n samples: the base network's inference */
} bench_row_result;

/* Checks a row before anything is measured: the options devo evolve checks (exit code 2,
 * the message naming the flag) and the population's memory against the machine's (1, the
 * figures named). Returns 0 when the row may run. */
int bench_check_row(const bench_row_config *c);

/* Builds the network, runs `warmup` untimed then `generations` timed generations
 * (each evaluates all P individuals, ranks, breeds; an ES also tells) and fills *r with
 * medians. vary_ms is then the ES's update and next draw.
 * Returns 0 on success; on failure prints the library's message and returns 1
 * (2 for a malformed --layers). */
int bench_measure_row(const bench_row_config *c, bench_row_result *r);

#endif /* DEVO_BENCH_ROW_H */
