/*
 * cmd_plot.c - "devo plot history.csv -o fitness.png": the fitness curves of a
 * run (elite best, elite mean, population mean, best ever, and an ES's centre)
 * drawn by gnuplot; with several histories, --x seconds or --y test-accuracy,
 * one curve per run (its test accuracy, or its centre's / best fitness).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "commands.h"
#include "gnuplot.h"

/* The columns 'devo evolve --history' writes, in order; devo 0.1 wrote the first nine. */
#define V01_COLUMNS "generation,max_generations,best,mean,std,population_mean,best_ever," \
                    "evaluations,seconds"
static const char *const history_columns = V01_COLUMNS ",center,test_accuracy";

/* gnuplot takes ARG1..ARG9: the PNG, the title, then up to seven histories. */
#define MAX_RUNS 7

/* The fitness curves of the history CSV ARG3 under title ARG2, drawn into the PNG ARG1;
 * the centre's curve is added for a history that has one. */
static const char *const plot_script =
    "set terminal pngcairo size 900,560 noenhanced\n"
    "set output ARG1\n"
    "set datafile separator ','\nset datafile missing 'nan'\n"
    "set key bottom right\nset grid\n"
    "set title ARG2\nset xlabel 'generation'\nset ylabel 'fitness'\n"
    "plot ARG3 using 1:6 skip 1 with lines lc rgb '#b0b0b0' title 'population mean', "
    "'' using 1:4 skip 1 with lines lw 2 lc rgb '#1b9e77' title 'elite mean', "
    "'' using 1:3 skip 1 with lines lw 1 lc rgb '#7570b3' title 'elite best', "
    "'' using 1:7 skip 1 with lines lw 2 dt 2 lc rgb '#d95f02' title 'best ever'";
static const char *const centre_curve =
    ", '' using 1:10 skip 1 with lines lw 2 lc rgb '#e7298a' title 'centre'";

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
    if (!ok || (!*full && strcmp(line, V01_COLUMNS) != 0)) {
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

/* Nonzero when the history CSV at path (a full one) has a centre value other than nan: an ES
 * run's, never a GA's. */
static int has_centre_values(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int found = 0;
    if (f && fgets(line, sizeof line, f)) // the header
        while (!found && fgets(line, sizeof line, f)) {
            const char *field = line;
            for (int c = 1; c < 10 && field; c++) // the centre is the 10th column
                if ((field = strchr(field, ','))) field++;
            found = field && strncmp(field, "nan,", 4) != 0;
        }
    if (f) fclose(f);
    return found;
}

/* The script of one curve per run, ARG3..ARG(2+count): column y[i] against column x. Only
 * numbers are formatted into it; every string is an argument. */
static void runs_script(char *script, size_t size, size_t count, int x, const int *y)
{
    size_t used = (size_t)snprintf(
        script, size,
        "set terminal pngcairo size 900,560 noenhanced\nset output ARG1\n"
        "set datafile separator ','\nset datafile missing 'nan'\nset key bottom right\n"
        "set grid\nset title ARG2\nset xlabel '%s'\nset ylabel '%s'\nplot ",
        x == 9 ? "seconds" : "generation", y[0] == 11 ? "test accuracy" : "fitness");
    for (size_t i = 0; i < count && used < size; i++)
        used += (size_t)snprintf(script + used, size - used,
                                 "%sARG%zu using %d:%d skip 1 with linespoints lw 2 pt 7 ps 0.4 "
                                 "title ARG%zu", i ? ", " : "", i + 3, x, y[i], i + 3);
}

/* Nonzero when the PNG `png` would overwrite one of the histories: the same file (device and
 * inode, whatever the names: a link, "./h.csv"), printing which. */
static int output_is_input(const char *png, const char *const *paths, size_t runs)
{
    struct stat out, in;
    if (stat(png, &out) != 0) return 0; // a new file is none of the inputs
    for (size_t i = 0; i < runs; i++)
        if (stat(paths[i], &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
            fprintf(stderr, "devo: -o '%s' is the history '%s' itself: name another file for "
                            "the PNG\n", png, paths[i]);
            return 1;
        }
    return 0;
}

int cmd_plot(int argc, char **argv)
{
    const char *paths[MAX_RUNS];
    size_t runs = 0;
    while ((int)runs < argc && argv[runs][0] != '-') {
        if (runs == MAX_RUNS) {
            fprintf(stderr, "devo: plot draws at most %d histories\n", MAX_RUNS);
            return 2;
        }
        paths[runs] = argv[runs];
        runs++;
    }
    const char *png = NULL, *title = NULL, *x = "generation", *y = "fitness";
    const cli_flag flags[] = {
        {"o", CLI_STRING, &png, "the PNG to write, required (also -o)"},
        {"title", CLI_STRING, &title, "the plot's title"},
        {"x", CLI_STRING, &x, "generation (default) | seconds"},
        {"y", CLI_STRING, &y, "fitness (default; the centre's, else the best's, with several "
                              "runs) | test-accuracy (evolve --test-every)"},
    };
    // Accept the short "-o FILE" as "--o FILE".
    enum { MAX_ARGS = 16 };
    char *flag_args[MAX_ARGS];
    int count = 0;
    for (int i = (int)runs; i < argc; i++) {
        if (count == MAX_ARGS) {
            fprintf(stderr, "devo: too many arguments for plot (see --help)\n");
            return 2;
        }
        flag_args[count++] = strcmp(argv[i], "-o") == 0 ? "--o" : argv[i];
    }
    int parsed = cli_parse(count, flag_args, flags, sizeof flags / sizeof flags[0],
                           "devo plot HISTORY.csv [HISTORY.csv ...] -o PLOT.png [--x seconds] "
                           "[--y test-accuracy]");
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    int seconds = strcmp(x, "seconds") == 0, accuracy = strcmp(y, "test-accuracy") == 0;
    if (runs == 0 || !png || (!seconds && strcmp(x, "generation") != 0) ||
        (!accuracy && strcmp(y, "fitness") != 0)) {
        fprintf(stderr, "devo: plot needs history CSVs and -o FILE.png (--x generation|seconds, "
                        "--y fitness|test-accuracy)\n");
        return 2;
    }
    if (output_is_input(png, paths, runs)) return 2;
    int full = 1;
    for (size_t i = 0; i < runs; i++) {
        int has_all;
        if (!check_history(paths[i], &has_all)) return 1;
        full = full && has_all;
    }
    if (accuracy && !full) {
        fprintf(stderr, "devo: plot --y test-accuracy needs histories with a test_accuracy "
                        "column (devo evolve --test-every)\n");
        return 1;
    }
    char script[4096];
    if (runs == 1 && !accuracy && !seconds) {
        snprintf(script, sizeof script, "%s%s\n", plot_script, full ? centre_curve : "");
        if (!title) title = "devo: fitness per generation";
    } else {
        // Per run: its test accuracy, else its centre's fitness if it has one (an ES), else
        // its best (a GA's centre column is all nan).
        int y_columns[MAX_RUNS];
        for (size_t i = 0; i < runs; i++)
            y_columns[i] = accuracy ? 11 : has_centre_values(paths[i]) ? 10 : 3;
        runs_script(script, sizeof script, runs, seconds ? 9 : 1, y_columns);
        if (!title) title = accuracy ? "devo: test accuracy" : "devo: fitness";
    }
    // The strings travel as arguments (ARG1 the PNG, ARG2 the title, ARG3.. the CSVs): none is
    // ever part of the script's text.
    char *names[MAX_RUNS + 1] = {NULL};
    const char *args[MAX_RUNS + 2];
    int ok = (names[0] = cli_gnuplot_file_name(png)) != NULL;
    args[0] = names[0];
    args[1] = title;
    for (size_t i = 0; ok && i < runs; i++)
        ok = (args[i + 2] = names[i + 1] = cli_gnuplot_file_name(paths[i])) != NULL;
    if (!ok) fprintf(stderr, "devo: out of memory\n");
    int drawn = ok && cli_gnuplot_run(script, args, runs + 2, png);
    for (size_t i = 0; i <= runs; i++) free(names[i]);
    if (!drawn) return 1;
    printf("wrote %s\n", png);
    return 0;
}
