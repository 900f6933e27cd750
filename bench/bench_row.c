/*
 * bench_row.c - one measured row of 'devo bench' (see bench_row.h).
 */
#include "bench_row.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cli_names.h"
#include "names.h"
#include "options.h"
#include "strategy.h"
#include "rng.h"

/* Resets the kernel's peak-RSS mark of this process (Linux clear_refs "5"). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return;
    fputs("5", f);
    fclose(f);
}

/* Peak resident set size since the last reset, in bytes (VmHWM); 0 if unknown. */
static double peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0.0;
    char line[256];
    double kib = 0.0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf kB", &kib) == 1) break;
    fclose(f);
    return kib * 1024.0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, size_t count)
{
    qsort(values, count, sizeof *values, compare_double);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

/* FLOPs of the GEMMs of one evaluation of P individuals on n samples: 2 * in * out per layer. */
static double evaluation_flops(const devo_model *m, size_t P, size_t n)
{
    double per_sample = 0.0;
    size_t inputs = devo_model_input_dim(m);
    for (size_t l = 0; l < devo_model_layer_count(m); l++) {
        size_t units = 0;
        devo_model_layer(m, l, &units, NULL);
        per_sample += 2.0 * (double)inputs * (double)units;
        inputs = units;
    }
    return per_sample * (double)P * (double)n;
}

typedef struct row_state {
    const devo_algorithm_i *algorithm;
    void *device_ctx, *algorithm_state;
    double *fitness, *times;
    size_t *order;
} row_state;

static void row_state_free(const bench_row_config *c, row_state *s)
{
    if (s->algorithm_state) s->algorithm->destroy(s->algorithm_state);
    if (s->device_ctx) c->device->destroy(s->device_ctx);
    free(s->fitness);
    free(s->times);
    free(s->order);
}

/* One generation; adds its phase times to t[0..2] (evaluate, select, vary). */
static devo_status generation(const bench_row_config *c, row_state *s, uint32_t g, double t[3])
{
    const devo_device_i *d = c->device;
    double t0 = devo_now_seconds();
    devo_status status = d->evaluate(s->device_ctx, NULL, 0, 0, c->population, s->fitness);
    double t1 = devo_now_seconds();
    if (status == DEVO_OK) status = d->rank(s->device_ctx, s->fitness, s->order);
    double t2 = devo_now_seconds();
    if (status == DEVO_OK)
        status = s->algorithm->next(s->algorithm_state, s->fitness, s->order, g, 0,
                                    c->population);
    if (status == DEVO_OK) status = d->finish(s->device_ctx); // the breed's kernels too
    double t3 = devo_now_seconds();
    t[0] = t1 - t0;
    t[1] = t2 - t1;
    t[2] = t3 - t2;
    return status;
}

/* The seed's variation, seed 1, and the row's settings. */
static void row_options(const bench_row_config *c, devo_evolve_options *o)
{
    devo_evolve_options_init(o);
    o->population = c->population;
    o->top_k = c->top_k;
    o->seed = 1;
    o->batch_size = c->batch_size;
    o->threads = c->threads;
    o->precision = c->precision;
    o->strategy = c->strategy;
    o->perturbation_rank = c->rank;
    o->max_generations = c->warmup + c->generations;
}

/* Bytes of host memory the population alone takes on the CPU device: the GA's rows and their
 * next generation (2 P D floats), a full-rank ES's rows (P D), a low-rank ES's factors
 * (P rank (inputs + units) floats per layer). A lower bound of what the row allocates. */
static double population_bytes(const devo_model *m, const devo_evolve_options *o)
{
    double P = (double)o->population, D = (double)devo_model_param_count(m);
    if (o->strategy == DEVO_STRATEGY_GA) return 2.0 * P * D * sizeof(float);
    if (o->perturbation_rank == 0) return P * D * sizeof(float);
    double factors = 0.0;
    size_t inputs = devo_model_input_dim(m);
    for (size_t l = 0; l < devo_model_layer_count(m); l++) {
        size_t units = 0;
        devo_model_layer(m, l, &units, NULL);
        factors += (double)o->perturbation_rank * (double)(inputs + units);
        inputs = units;
    }
    return P * factors * sizeof(float);
}

static double physical_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (double)pages * (double)page : INFINITY;
}

int bench_check_row(const bench_row_config *c)
{
    devo_model *m = NULL;
    if (!cli_build_model(c->layers, c->inputs, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &m))
        return 2;
    devo_evolve_options o;
    row_options(c, &o);
    int code = 0;
    // The bounds devo evolve checks (an even population for an antithetic strategy, --rank
    // within every layer), named by their flags.
    if (devo_options_check(&o, "devo bench") != DEVO_OK ||
        devo_strategy_check(&o, m, "devo bench") != DEVO_OK) {
        if (!cli_refused_flag()) fprintf(stderr, "devo: %s\n", devo_last_error());
        code = 2;
    } else if (population_bytes(m, &o) > physical_memory_bytes()) {
        fprintf(stderr, "devo: bench P=%zu %s: its population alone needs %.1f GB, more than "
                        "this machine's %.1f GB of memory\n", c->population, c->layers,
                population_bytes(m, &o) / 1e9, physical_memory_bytes() / 1e9);
        code = 1;
    }
    devo_model_free(m);
    return code;
}

int bench_measure_row(const bench_row_config *c, bench_row_result *r)
{
    devo_model *m = NULL;
    if (!cli_build_model(c->layers, c->inputs, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &m))
        return 2;
    memset(r, 0, sizeof *r);
    if (devo_model_check_targets(m, c->y, c->n, "devo bench") != DEVO_OK) {
        fprintf(stderr, "devo: %s\n", devo_last_error());
        devo_model_free(m);
        return 1;
    }
    size_t P = c->population, k = c->top_k, D = devo_model_param_count(m);
    r->params = D;
    r->gemm_flops = evaluation_flops(m, P, c->n);
    // Elites copied (read + write), children read two parents and write themselves.
    r->variation_bytes = (double)D * sizeof(float) * (2.0 * (double)k + 3.0 * (double)(P - k));
    reset_peak_rss();
    devo_evolve_options options;
    row_options(c, &options);
    devo_device_config cfg;
    devo_algorithm_device_config(&options, m, &cfg);
    row_state s = {.algorithm = devo_algorithm_for(&options)};
    s.fitness = malloc(P * sizeof *s.fitness);
    s.order = malloc(P * sizeof *s.order);
    s.times = malloc(4 * (c->generations + 1) * sizeof *s.times);
    devo_status status = DEVO_ERR_OUT_OF_MEMORY;
    if (s.fitness && s.order && s.times) status = c->device->create(&s.device_ctx, &cfg);
    if (status == DEVO_OK)
        status = s.algorithm->create(&s.algorithm_state, &options, &cfg, c->device,
                                     s.device_ctx);
    if (status == DEVO_OK) status = s.algorithm->start(s.algorithm_state, m->weights);
    if (status == DEVO_OK) status = c->device->bind_data(s.device_ctx, c->x, c->y, c->n);
    double phase[3];
    for (size_t g = 0; status == DEVO_OK && g < c->warmup; g++)
        status = generation(c, &s, (uint32_t)(g + 1), phase);
    size_t T = c->generations;
    double *total = s.times, *eval = total + T, *sel = eval + T, *vary = sel + T;
    for (size_t g = 0; status == DEVO_OK && g < T; g++) {
        status = generation(c, &s, (uint32_t)(c->warmup + g + 1), phase);
        eval[g] = phase[0];
        sel[g] = phase[1];
        vary[g] = phase[2];
        total[g] = phase[0] + phase[1] + phase[2];
    }
    if (status == DEVO_OK) {
        r->generation_seconds = median(total, T);
        r->evaluate_seconds = median(eval, T);
        r->select_seconds = median(sel, T);
        r->vary_seconds = median(vary, T);
        r->host_peak_bytes = peak_rss_bytes();
        devo_device_traffic traffic;
        c->device->traffic(s.device_ctx, &traffic);
        r->device_bytes = (double)traffic.held;
        // The base network's inference on the same samples: one model, timed apart.
        for (size_t g = 0; status == DEVO_OK && g < T; g++) {
            double loss, start = devo_now_seconds();
            status = devo_model_evaluate(m, c->x, c->y, c->n, &loss, NULL);
            total[g] = devo_now_seconds() - start;
        }
        r->single_model_seconds = median(total, T);
    }
    if (status != DEVO_OK) {
        fprintf(stderr, "devo: bench %s P=%zu %s: %s\n", c->device->name, P, c->layers,
                status == DEVO_ERR_OUT_OF_MEMORY && !s.device_ctx ? "out of memory"
                                                                   : devo_last_error());
    }
    row_state_free(c, &s);
    devo_model_free(m);
    return status == DEVO_OK ? 0 : 1;
}
