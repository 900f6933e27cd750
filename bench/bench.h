/*
 * bench.h - the 'devo bench' subcommand: sweeps population sizes, networks,
 * backends and precisions on real data and reports throughput next to the
 * hardware ceiling measured in the same run.
 */
#ifndef DEVO_BENCH_H
#define DEVO_BENCH_H

/* Runs 'devo bench' on its own arguments; returns the exit code (0, 1 or 2). */
int cmd_bench(int argc, char **argv);

#endif /* DEVO_BENCH_H */
