/*
 * bench.c - 'devo bench' (see bench.h): flags, the sweep, the table, the CSV
 * and the plot. Each row is measured by bench_row.c.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "device.h"
#include "bench_row.h"
#include "blas.h"
#include "cli_data.h"
#include "gnuplot.h"
#include "cli_names.h"
#include "names.h"

#define BENCH_MAX_LIST 32
/* Plotted lines: (backend, precision, network, strategy and rank) */
#define BENCH_MAX_SERIES 256

typedef struct bench_args {
    const char *populations, *backends, *precisions, *data, *csv, *plot, *strategies, *ranks;
    cli_strings layers;
    size_t samples, generations, warmup, top_k, batch_size;
    int threads;
} bench_args;

typedef struct ceiling {
    double gemm_flops, copy_bytes_per_second;
} ceiling;

/* Splits "a,b,c" into at most BENCH_MAX_LIST parts (pointers into a copy the caller frees). */
static size_t split_list(const char *text, char **copy, const char **items)
{
    *copy = strdup(text);
    size_t count = 0;
    for (char *part = strtok(*copy, ","); part && count < BENCH_MAX_LIST; part = strtok(NULL, ","))
        items[count++] = part;
    return count;
}

/* Sizes in [min, 2^24], comma-separated. */
static int parse_sizes(const char *text, size_t *out, size_t *count, size_t min)
{
    char *copy;
    const char *items[BENCH_MAX_LIST];
    *count = split_list(text, &copy, items);
    int ok = *count > 0;
    for (size_t i = 0; ok && i < *count; i++) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(items[i], &end, 10);
        ok = !errno && !*end && items[i][0] != '-' && v >= min && v <= (1ull << 24);
        out[i] = (size_t)v;
    }
    free(copy);
    return ok;
}

static void print_header(FILE *out)
{
    fprintf(out,
            "%-5s %-5s %-16s %6s %9s %11s %9s %9s %6s %8s %8s %8s %8s %8s %6s %9s %9s %-12s %8s\n",
            "back", "prec", "network", "P", "gen/s", "evals/s", "GFLOP/s", "ceiling", "%ceil",
            "eval_ms", "sel_ms", "vary_ms", "varyGB/s", "copyGB/s", "%copy", "host_MB",
            "device_MB", "strategy", "fwd_eq");
}

static const char *csv_header =
    "backend,precision,network,population,top_k,params,samples,generations_per_s,"
    "evaluations_per_s,gflops,ceiling_gflops,ceiling_fraction,evaluate_ms,select_ms,vary_ms,"
    "vary_gbps,copy_ceiling_gbps,copy_fraction,host_peak_mb,device_mb,strategy,rank,"
    "forward_equivalents\n";

/* What a row runs: a strategy and, for an ES, its perturbation rank. */
typedef struct row_kind {
    devo_strategy strategy;
    size_t rank;
} row_kind;

static const char *const strategy_names[] = {"ga", "openai-es", "pgpe", "snes"};

/* "ga", or the strategy and its rank: "openai-es-r1". */
static void kind_name(row_kind kind, char *out, size_t size)
{
    if (kind.strategy == DEVO_STRATEGY_GA) snprintf(out, size, "ga");
    else snprintf(out, size, "%s-r%zu", strategy_names[kind.strategy], kind.rank);
}

static void print_row(FILE *out, int csv, const char *backend, const char *precision,
                      const char *network, size_t P, size_t k, size_t samples,
                      const bench_row_result *r, const ceiling *top, row_kind kind)
{
    // P n sample evaluations per second over one model's n samples per second.
    double forward_equivalents = (double)P * r->single_model_seconds / r->evaluate_seconds;
    char strategy[32];
    kind_name(kind, strategy, sizeof strategy);
    double gflops = r->gemm_flops / r->evaluate_seconds / 1e9;
    double ceiling_gflops = top->gemm_flops / 1e9;
    double vary_gbps = r->variation_bytes / r->vary_seconds / 1e9;
    double copy_gbps = top->copy_bytes_per_second / 1e9;
    double evals = (double)P / r->generation_seconds;
    if (csv)
        fprintf(out, "%s,%s,%s,%zu,%zu,%zu,%zu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
                     "%.6g,%.6g,%.6g,%s,%zu,%.6g\n",
                backend, precision, network, P, k, r->params, samples, 1.0 / r->generation_seconds,
                evals, gflops, ceiling_gflops, gflops / ceiling_gflops, 1e3 * r->evaluate_seconds,
                1e3 * r->select_seconds, 1e3 * r->vary_seconds, vary_gbps, copy_gbps,
                vary_gbps / copy_gbps, r->host_peak_bytes / 1e6, r->device_bytes / 1e6,
                strategy_names[kind.strategy], kind.rank, forward_equivalents);
    else
        fprintf(out,
                "%-5s %-5s %-16s %6zu %9.3f %11.1f %9.1f %9.1f %5.1f%% %8.2f %8.3f %8.3f %8.2f "
                "%8.2f %5.1f%% %9.1f %9.1f %-12s %8.2f\n",
                backend, precision, network, P, 1.0 / r->generation_seconds, evals, gflops,
                ceiling_gflops, 100.0 * gflops / ceiling_gflops, 1e3 * r->evaluate_seconds,
                1e3 * r->select_seconds, 1e3 * r->vary_seconds, vary_gbps, copy_gbps,
                100.0 * vary_gbps / copy_gbps, r->host_peak_bytes / 1e6, r->device_bytes / 1e6,
                strategy, forward_equivalents);
    fflush(out);
}

/* "784-30-10" for a layer spec on `inputs` inputs. */
static void network_name(const char *layers, size_t inputs, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "%zu", inputs);
    for (const char *p = layers; *p && used < size; p++) {
        if (p == layers || p[-1] == ',') used += (size_t)snprintf(out + used, size - used, "-%lu",
                                                                  strtoul(p, NULL, 10));
    }
}

/* Throughput against population, one line per series ("backend/precision/network/kind",
 * kind as kind_name writes it, all in ARG3, space-separated) from the bench CSV ARG2, drawn
 * into the PNG ARG1. A series none of whose rows the CSV holds is an error (a line that
 * would be missing). The strings travel as gnuplot arguments, never as script text. */
static const char bench_plot_script[] =
    "set terminal pngcairo size 900,600 noenhanced\n"
    "set output ARG1\n"
    "set datafile separator ','\nset logscale xy\nset key left top\nset grid\n"
    "set xlabel 'population'\nset ylabel 'individual evaluations per second'\n"
    "set title 'devo bench: throughput'\n"
    "series(x) = strcol(1).'/'.strcol(2).'/'.strcol(3).'/'.(strcol(21) eq 'ga' ? 'ga' : "
    "strcol(21).'-r'.strcol(22))\n"
    "do for [i=1:words(ARG3)] {\n"
    "  undefine STATS_*\n"
    "  stats ARG2 using (series(0) eq word(ARG3, i) ? $4 : NaN) nooutput\n"
    "  if (!exists('STATS_records')) { exit error 'no rows of series '.word(ARG3, i) }\n"
    "}\n"
    "plot for [i=1:words(ARG3)] ARG2 using (series(0) eq word(ARG3, i) ? $4 : NaN):9 "
    "with linespoints title word(ARG3, i)\n";

static int draw_plot(const char *csv_path, const char *png, const char **series, size_t count)
{
    size_t size = 1;
    for (size_t i = 0; i < count; i++) size += strlen(series[i]) + 1;
    char *names = malloc(size), *png_name = cli_gnuplot_file_name(png),
         *csv_name = cli_gnuplot_file_name(csv_path);
    int drawn = 0;
    if (names && png_name && csv_name) {
        size_t used = 0;
        names[0] = '\0';
        for (size_t i = 0; i < count; i++)
            used += (size_t)snprintf(names + used, size - used, "%s%s", i ? " " : "", series[i]);
        const char *args[] = {png_name, csv_name, names};
        drawn = cli_gnuplot_run(bench_plot_script, args, 3, png);
        if (drawn) printf("plotted %zu lines into %s: %s\n", count, png, names);
    } else {
        fprintf(stderr, "devo: out of memory\n");
    }
    free(names);
    free(png_name);
    free(csv_name);
    return drawn;
}

static int parse_bench(int argc, char **argv, bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->populations = "16,64,256,1024,4096";
    a->strategies = "ga";
    a->ranks = "0";
    a->backends = devo_backend_available(DEVO_BACKEND_CUDA) ? "cpu,cuda" : "cpu";
    a->precisions = "fp32";
    a->data = DEVO_DEFAULT_DATA_DIR;
    a->generations = 5;
    a->warmup = 1;
    a->batch_size = 1024;
    const cli_flag flags[] = {
        {"population", CLI_STRING, &a->populations, "population sizes (16,64,256,1024,4096)"},
        {"strategy", CLI_STRING, &a->strategies, "ga,openai-es,pgpe,snes: rows for each (ga)"},
        {"rank", CLI_STRING, &a->ranks, "ES perturbation ranks, 0 = full rank (0)"},
        {"layers", CLI_REPEAT, &a->layers,
         "network, repeatable: 784-256-10 or 256:relu,10:softmax (784-30-10 784-256-10 "
         "784-256-128-10)"},
        {"backend", CLI_STRING, &a->backends, "cpu,cuda (cuda rows where a device is present)"},
        {"precision", CLI_STRING, &a->precisions, "fp32,tf32,bf16 (fp32; CUDA has all three, the CPU fp32 and bf16)"},
        {"data", CLI_STRING, &a->data, "IDX dataset directory (installed Fashion-MNIST)"},
        {"samples", CLI_SIZE, &a->samples, "use the first N training samples (0 = all)"},
        {"generations", CLI_SIZE, &a->generations, "timed generations per row (5)"},
        {"warmup", CLI_SIZE, &a->warmup, "untimed generations first (1)"},
        {"top-k", CLI_SIZE, &a->top_k, "elites (0 = population / 4)"},
        {"batch-size", CLI_SIZE, &a->batch_size, "samples per evaluation chunk (1024)"},
        {"threads", CLI_INT, &a->threads, "CPU threads, 0 = all cores (0)"},
        {"csv", CLI_STRING, &a->csv,
         "also write the rows to this CSV file (--plot without it: a temporary one)"},
        {"plot", CLI_STRING, &a->plot, "draw throughput against population to this PNG"},
    };
    int parsed = cli_parse(argc, argv, flags, sizeof flags / sizeof flags[0],
                           "devo bench [--population 16,64] [--layers 30:relu,10:softmax]... "
                           "[options]");
    if (parsed != CLI_OK) return parsed;
    if (a->layers.count == 0) {
        a->layers.items[0] = "30:relu,10:softmax";
        a->layers.items[1] = "256:relu,10:softmax";
        a->layers.items[2] = "256:relu,128:relu,10:softmax";
        a->layers.count = 3;
    }
    if (a->generations == 0 || a->batch_size == 0) {
        fprintf(stderr, "devo: bad value '0' for flag '--%s'\n",
                a->generations == 0 ? "generations" : "batch-size");
        return CLI_USAGE_ERROR;
    }
    return CLI_OK;
}

/* A network given as "784-30-10" (relu hidden layers, a softmax output; the first number must
 * be the data's input size) becomes "30:relu,10:softmax"; "UNITS:ACT,..." passes unchanged.
 * Returns 0 with a message when the dashed form is malformed or its input size is wrong. */
static int layer_spec(const char *given, size_t inputs, char *spec, size_t size)
{
    if (strchr(given, ':')) {
        snprintf(spec, size, "%s", given);
        return 1;
    }
    char *copy = strdup(given), *save = NULL, *end = NULL;
    size_t used = 0, count = 0;
    int ok = copy != NULL;
    spec[0] = '\0';
    for (char *part = copy ? strtok_r(copy, "-", &save) : NULL; ok && part;
         part = strtok_r(NULL, "-", &save), count++) {
        errno = 0;
        unsigned long units = strtoul(part, &end, 10);
        ok = !errno && *end == '\0' && units > 0 && part[0] != '+';
        if (ok && count == 0) ok = units == inputs;
        else if (ok) used += (size_t)snprintf(spec + used, size - used, "%s%lu:%s",
                                              count > 1 ? "," : "", units, "relu");
        ok = ok && used < size;
    }
    free(copy);
    char *last = strrchr(spec, ':');
    if (!ok || count < 2 || !last) {
        fprintf(stderr, "devo: bad value '%s' for flag '--layers' (UNITS:ACT,... or "
                        "%zu-HIDDEN-...-OUTPUTS for this data)\n", given, inputs);
        return 0;
    }
    snprintf(last + 1, size - (size_t)(last + 1 - spec), "softmax");
    return 1;
}

typedef struct sweep {
    size_t populations[BENCH_MAX_LIST], population_count;
    const char *backends[BENCH_MAX_LIST], *precisions[BENCH_MAX_LIST];
    size_t backend_count, precision_count;
    char *backend_copy, *precision_copy;
    row_kind kinds[BENCH_MAX_LIST * BENCH_MAX_LIST];
    size_t kind_count;
} sweep;

/* The rows' kinds: each strategy of --strategy, an ES once per rank of --rank. */
static int parse_kinds(const bench_args *a, sweep *s)
{
    size_t ranks[BENCH_MAX_LIST], rank_count;
    if (!parse_sizes(a->ranks, ranks, &rank_count, 0)) {
        fprintf(stderr, "devo: bad value '%s' for flag '--rank' (ranks >= 0, comma-separated)\n",
                a->ranks);
        return 0;
    }
    char *copy;
    const char *items[BENCH_MAX_LIST];
    size_t count = split_list(a->strategies, &copy, items);
    int ok = count > 0;
    for (size_t i = 0; ok && i < count; i++) {
        devo_strategy strategy;
        ok = cli_strategy(items[i], &strategy);
        if (!ok) fprintf(stderr, "devo: bad value '%s' for flag '--strategy'\n", items[i]);
        for (size_t r = 0; ok && r < (strategy == DEVO_STRATEGY_GA ? 1 : rank_count); r++)
            s->kinds[s->kind_count++] = (row_kind){strategy, strategy ? ranks[r] : 0};
    }
    free(copy);
    return ok;
}

static int parse_sweep(const bench_args *a, sweep *s)
{
    memset(s, 0, sizeof *s);
    if (!parse_kinds(a, s)) return 0;
    if (!parse_sizes(a->populations, s->populations, &s->population_count, 2)) {
        fprintf(stderr, "devo: bad value '%s' for flag '--population' (sizes >= 2, "
                        "comma-separated)\n", a->populations);
        return 0;
    }
    s->backend_count = split_list(a->backends, &s->backend_copy, s->backends);
    s->precision_count = split_list(a->precisions, &s->precision_copy, s->precisions);
    devo_backend backend;
    devo_precision precision;
    for (size_t i = 0; i < s->backend_count; i++)
        if (!cli_backend(s->backends[i], &backend) || backend == DEVO_BACKEND_AUTO) {
            fprintf(stderr, "devo: bad value '%s' for flag '--backend' (cpu or cuda)\n",
                    s->backends[i]);
            return 0;
        }
    for (size_t i = 0; i < s->precision_count; i++)
        if (!cli_precision(s->precisions[i], &precision)) {
            fprintf(stderr, "devo: bad value '%s' for flag '--precision'\n", s->precisions[i]);
            return 0;
        }
    if (s->backend_count == 0 || s->precision_count == 0) {
        fprintf(stderr, "devo: --backend and --precision need at least one value\n");
        return 0;
    }
    return 1;
}

static void sweep_free(sweep *s)
{
    free(s->backend_copy);
    free(s->precision_copy);
}

/* Row i of a network's rows (series by series: population fastest), on the CPU in FP32. */
static bench_row_config row_config(const bench_args *a, const sweep *s, size_t i,
                                   const char *spec, const devo_dataset *data, const float *y,
                                   size_t n)
{
    size_t P = s->populations[i % s->population_count];
    row_kind kind = s->kinds[i / s->population_count];
    size_t k = a->top_k ? a->top_k : (P / 4 ? P / 4 : 1);
    return (bench_row_config){
        .device = devo_device_cpu(), .precision = DEVO_PRECISION_FP32, .layers = spec,
        .population = P, .top_k = k > P ? P : k, .x = devo_dataset_x(data), .y = y, .n = n,
        .inputs = devo_dataset_dim(data), .batch_size = a->batch_size, .threads = a->threads,
        .warmup = a->warmup, .generations = a->generations, .strategy = kind.strategy,
        .rank = kind.rank,
    };
}

/* Checks every row of the sweep before any is measured (bench_check_row); the exit code. */
static int check_sweep(const bench_args *a, const sweep *s, const devo_dataset *data)
{
    for (size_t li = 0; li < a->layers.count; li++) {
        char spec[512];
        if (!layer_spec(a->layers.items[li], devo_dataset_dim(data), spec, sizeof spec))
            return 2;
        for (size_t i = 0; i < s->population_count * s->kind_count; i++) {
            bench_row_config c = row_config(a, s, i, spec, data, devo_dataset_y(data), 0);
            int code = bench_check_row(&c);
            if (code) return code;
        }
    }
    return 0;
}

/* The rows of one device; returns the worst exit code. */
static int bench_backend(const bench_args *a, const sweep *s, const devo_device_i *backend,
                         const devo_dataset *data, const float *y, size_t n, FILE *csv,
                         const char **series, size_t *series_count)
{
    int worst = 0;
    for (size_t pi = 0; pi < s->precision_count; pi++) {
        // Each precision's rows are divided by a GEMM ceiling in that precision.
        devo_precision ceiling_precision;
        cli_precision(s->precisions[pi], &ceiling_precision);
        ceiling top = {0, 0};
        size_t side = 0;
        devo_status status = backend->measure_ceiling(a->threads, ceiling_precision,
                                                      &top.gemm_flops,
                                                      &top.copy_bytes_per_second, &side);
        if (status != DEVO_OK) {
            fprintf(stderr, "devo: %s ceiling: %s\n", backend->name, devo_last_error());
            return 1;
        }
        const char *gemm = ceiling_precision == DEVO_PRECISION_TF32   ? "GEMM (TF32)"
                           : ceiling_precision == DEVO_PRECISION_BF16 ? "GEMM (BF16)"
                                                                      : "sgemm";
        int cpu = strcmp(backend->name, "cpu") == 0; // the CPU line names its GEMM kernels
        printf("%s ceiling: %s %zu^3 %.1f GFLOP/s, copy %.2f GB/s (read + write)%s%s\n",
               backend->name, gemm, side, top.gemm_flops / 1e9, top.copy_bytes_per_second / 1e9,
               cpu ? ", " : "", cpu ? devo_cpu_gemm_kernels(ceiling_precision) : "");
        print_header(stdout);
        for (size_t li = 0; li < a->layers.count; li++) {
            char network[128], spec[512];
            if (!layer_spec(a->layers.items[li], devo_dataset_dim(data), spec, sizeof spec))
                return 2;
            network_name(spec, devo_dataset_dim(data), network, sizeof network);
            static char names[BENCH_MAX_SERIES][192];
            for (size_t ki = 0; ki < s->kind_count && *series_count < BENCH_MAX_SERIES; ki++) {
                char kind[32];
                kind_name(s->kinds[ki], kind, sizeof kind);
                snprintf(names[*series_count], sizeof names[0], "%s/%s/%s/%s", backend->name,
                         s->precisions[pi], network, kind);
                series[*series_count] = names[*series_count];
                (*series_count)++;
            }
            // series by series (each one's rows together, so that its plotted line is whole)
            for (size_t i = 0; i < s->population_count * s->kind_count; i++) {
                devo_precision precision;
                cli_precision(s->precisions[pi], &precision);
                bench_row_config c = row_config(a, s, i, spec, data, y, n);
                c.device = backend;
                c.precision = precision;
                size_t P = c.population, k = c.top_k;
                row_kind kind = s->kinds[i / s->population_count];
                bench_row_result r;
                int code = bench_measure_row(&c, &r);
                if (code == 2) return 2;
                if (code) {
                    worst = 1;
                    continue;
                }
                print_row(stdout, 0, backend->name, s->precisions[pi], network, P, k, n, &r,
                          &top, kind);
                if (csv)
                    print_row(csv, 1, backend->name, s->precisions[pi], network, P, k, n, &r,
                              &top, kind);
            }
        }
    }
    return worst;
}

int cmd_bench(int argc, char **argv)
{
    bench_args a;
    int parsed = parse_bench(argc, argv, &a);
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    sweep s;
    if (!parse_sweep(&a, &s)) {
        sweep_free(&s);
        return 2;
    }
    devo_dataset *data = NULL;
    if (devo_dataset_load_idx_dir(&data, a.data, "train") != DEVO_OK) {
        fprintf(stderr, "devo: %s\n", devo_last_error());
        sweep_free(&s);
        return 1;
    }
    size_t n = a.samples && a.samples < devo_dataset_count(data) ? a.samples
                                                                  : devo_dataset_count(data);
    int checked = check_sweep(&a, &s, data);
    if (checked) {
        devo_dataset_free(data);
        sweep_free(&s);
        return checked;
    }
    // --plot without --csv: the rows the plot is drawn from go to a temporary file, removed
    // after drawing, never into the working directory.
    char temporary[4096] = "";
    if (a.plot && !a.csv) {
        const char *dir = getenv("TMPDIR");
        snprintf(temporary, sizeof temporary, "%s/devo-bench-XXXXXX", dir && *dir ? dir : "/tmp");
        a.csv = temporary;
    }
    FILE *csv = NULL;
    int fd = temporary[0] ? mkstemp(temporary) : -1;
    if (a.csv && !(csv = temporary[0] ? (fd >= 0 ? fdopen(fd, "w") : NULL) : fopen(a.csv, "w"))) {
        fprintf(stderr, "devo: cannot write '%s': %s\n", a.csv, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(temporary);
        }
        devo_dataset_free(data);
        sweep_free(&s);
        return 1;
    }
    if (csv) fputs(csv_header, csv);
    printf("devo bench: %zu samples of %zu features; each timed generation evaluates all P "
           "individuals, ranks and breeds; medians of %zu generations after %zu warm-up; GFLOP/s "
           "counts the FLOPs of every GEMM (2 x in x out per layer, sample and individual; for a "
           "low-rank ES, the full-rank FLOPs its evaluation stands for); fwd_eq: P n samples "
           "per evaluation second over one model's inference rate on the same samples\n",
           n, devo_dataset_dim(data), a.generations, a.warmup);
    int worst = 0;
    const char *series[BENCH_MAX_SERIES];
    size_t series_count = 0;
    for (size_t bi = 0; bi < s.backend_count && worst != 2; bi++) {
        devo_backend kind;
        cli_backend(s.backends[bi], &kind);
        if (!devo_backend_available(kind)) {
            printf("%s: skipped (%s)\n", s.backends[bi],
                   devo_device_cuda() ? "no CUDA device is present" : "built without CUDA");
            continue;
        }
        const devo_device_i *backend = kind == DEVO_BACKEND_CUDA ? devo_device_cuda()
                                                                 : devo_device_cpu();
        int code = bench_backend(&a, &s, backend, data, devo_dataset_y(data), n, csv, series,
                                 &series_count);
        if (code > worst) worst = code;
    }
    if (csv) fclose(csv);
    if (worst == 0 && a.plot && !draw_plot(a.csv, a.plot, series, series_count)) worst = 1;
    if (temporary[0]) unlink(temporary);
    devo_dataset_free(data);
    sweep_free(&s);
    return worst;
}
