/*
 * cmd_plot.c - "devo plot history.csv -o fitness.png": the fitness curves of a
 * run (elite best, elite mean, population mean, best ever, and an ES's centre)
 * drawn by gnuplot; with several histories, or --y test-accuracy, one curve per
 * run (its test accuracy or centre/best fitness) against --x generation|seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "gnuplot.h"

/* The columns 'devo evolve --history' writes, in order; devo 0.1 wrote the first nine. */
#define V01_COLUMNS "generation,max_generations,best,mean,std,population_mean,best_ever," \
                    "evaluations,seconds"
static const char *const history_columns = V01_COLUMNS ",center,test_accuracy";

#define MAX_RUNS 8

/* Checks that path is a history CSV with at least one row; prints why not. Sets *full when it
 * has the center and test_accuracy columns. */
static int check_history(const char *path, int *full)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "devo: cannot read '%s': %s\n", path, strerror(errno));
        return 0;
    }
    char line[512] = "";
    int ok = fgets(line, sizeof line, f) != NULL;
    line[strcspn(line, "\r\n")] = '\0';
    *full = strcmp(line, history_columns) == 0;
    int old = strcmp(line, V01_COLUMNS) == 0;
    if (!ok || (!*full && !old)) {
        fprintf(stderr, "devo: '%s' is not a devo history CSV (its first line should be %s)\n",
                path, history_columns);
        ok = 0;
    } else if (!fgets(line, sizeof line, f)) {
        fprintf(stderr, "devo: '%s' has no generations to plot\n", path);
        ok = 0;
    }
    fclose(f);
    return ok;
}

/* One run's curves: the GA's fitness statistics, and an ES's centre when present. */
static int plot_one(const char *path, int full, const char *png, const char *title)
{
    char script[4096];
    snprintf(script, sizeof script,
             "set terminal pngcairo size 900,560 noenhanced\n"
             "set output '%s'\n"
             "set datafile separator ','\nset datafile missing 'nan'\n"
             "set key bottom right\nset grid\n"
             "set title '%s'\nset xlabel 'generation'\nset ylabel 'fitness'\n"
             "plot '%s' using 1:6 skip 1 with lines lc rgb '#b0b0b0' title 'population mean', "
             "'' using 1:4 skip 1 with lines lw 2 lc rgb '#1b9e77' title 'elite mean', "
             "'' using 1:3 skip 1 with lines lw 1 lc rgb '#7570b3' title 'elite best', "
             "'' using 1:7 skip 1 with lines lw 2 dt 2 lc rgb '#d95f02' title 'best ever'%s\n",
             png, title, path,
             full ? ", '' using 1:10 skip 1 with lines lw 2 lc rgb '#e7298a' title 'centre'" : "");
    return cli_gnuplot(script);
}

/* One curve per run: column `y` (1-based) against generation or seconds. */
static int plot_runs(const char **paths, size_t count, int y, int seconds, const char *png,
                     const char *title)
{
    char script[8192];
    size_t used = (size_t)snprintf(
        script, sizeof script,
        "set terminal pngcairo size 900,560 noenhanced\nset output '%s'\n"
        "set datafile separator ','\nset datafile missing 'nan'\nset key bottom right\n"
        "set grid\nset title '%s'\nset xlabel '%s'\nset ylabel '%s'\nplot ",
        png, title, seconds ? "seconds" : "generation",
        y == 11 ? "test accuracy" : "fitness");
    for (size_t i = 0; i < count && used < sizeof script; i++) {
        const char *name = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
        used += (size_t)snprintf(script + used, sizeof script - used,
                                 "%s'%s' using %d:%d skip 1 with linespoints lw 2 pt 7 ps 0.4 "
                                 "title '%s'", i ? ", " : "", paths[i], seconds ? 9 : 1, y, name);
    }
    if (used + 2 >= sizeof script) {
        fprintf(stderr, "devo: plot: too many or too long history paths\n");
        return 0;
    }
    strcat(script, "\n");
    return cli_gnuplot(script);
}

int cmd_plot(int argc, char **argv)
{
    const char *paths[MAX_RUNS];
    size_t count = 0;
    while (count < (size_t)argc && count < MAX_RUNS && strncmp(argv[count], "-", 1) != 0) {
        paths[count] = argv[count];
        count++;
    }
    const char *png = NULL, *title = NULL, *x = "generation", *y = "fitness";
    const cli_flag flags[] = {
        {"o", CLI_STRING, &png, "the PNG to write, required (also -o)"},
        {"title", CLI_STRING, &title, "the plot's title"},
        {"x", CLI_STRING, &x, "generation (default) | seconds"},
        {"y", CLI_STRING, &y, "fitness (default; several runs: the centre, else the best) | "
                              "test-accuracy (needs evolve --test-every)"},
    };
    // Accept the short "-o FILE" as "--o FILE".
    char *args[64];
    int n = 0;
    for (int i = (int)count; i < argc && n < 64; i++)
        args[n++] = strcmp(argv[i], "-o") == 0 ? "--o" : argv[i];
    int parsed = cli_parse(n, args, flags, sizeof flags / sizeof flags[0],
                           "devo plot HISTORY.csv [HISTORY.csv ...] -o PLOT.png [--x seconds] "
                           "[--y test-accuracy]");
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    int seconds = strcmp(x, "seconds") == 0, accuracy = strcmp(y, "test-accuracy") == 0;
    if (count == 0 || !png || (!seconds && strcmp(x, "generation") != 0) ||
        (!accuracy && strcmp(y, "fitness") != 0)) {
        fprintf(stderr, "devo: plot needs history CSVs and -o FILE.png (--x generation|seconds, "
                        "--y fitness|test-accuracy)\n");
        return 2;
    }
    int full = 1;
    for (size_t i = 0; i < count; i++) {
        int has_all;
        if (!check_history(paths[i], &has_all)) return 1;
        full = full && has_all;
    }
    if (accuracy && !full) {
        fprintf(stderr, "devo: plot --y test-accuracy needs histories with a test_accuracy "
                        "column (devo evolve --test-every)\n");
        return 1;
    }
    int ok = count == 1 && !accuracy && !seconds
                 ? plot_one(paths[0], full, png, title ? title : "devo: fitness per generation")
                 : plot_runs(paths, count, accuracy ? 11 : full ? 10 : 3, seconds, png,
                             title ? title : accuracy ? "devo: test accuracy" : "devo: fitness");
    if (!ok) return 1;
    printf("wrote %s\n", png);
    return 0;
}
