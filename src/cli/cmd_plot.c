/*
 * cmd_plot.c - "devo plot history.csv -o fitness.png": the fitness curves of a
 * run (elite best, elite mean, population mean, best ever) drawn by gnuplot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "gnuplot.h"

/* The columns 'devo evolve --history' writes, in order. */
static const char *const history_columns =
    "generation,max_generations,best,mean,std,population_mean,best_ever,evaluations,seconds";

/* The fitness curves of the history CSV ARG3 under title ARG2, drawn into the PNG ARG1. */
static const char *const plot_script =
    "set terminal pngcairo size 900,560 noenhanced\n"
    "set output ARG1\n"
    "set datafile separator ','\n"
    "set key bottom right\nset grid\n"
    "set title ARG2\nset xlabel 'generation'\nset ylabel 'fitness'\n"
    "plot ARG3 using 1:6 skip 1 with lines lc rgb '#b0b0b0' title 'population mean', "
    "'' using 1:4 skip 1 with lines lw 2 lc rgb '#1b9e77' title 'elite mean', "
    "'' using 1:3 skip 1 with lines lw 1 lc rgb '#7570b3' title 'elite best', "
    "'' using 1:7 skip 1 with lines lw 2 dt 2 lc rgb '#d95f02' title 'best ever'\n";

/* Checks that path is a history CSV with at least one row; prints why not. */
static int check_history(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "devo: cannot read '%s': %s\n", path, strerror(errno));
        return 0;
    }
    char line[512] = "";
    int ok = fgets(line, sizeof line, f) != NULL;
    line[strcspn(line, "\r\n")] = '\0';
    if (!ok || strcmp(line, history_columns) != 0) {
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

int cmd_plot(int argc, char **argv)
{
    const char *path = argc > 0 && strncmp(argv[0], "--", 2) != 0 ? argv[0] : NULL;
    const char *png = NULL, *title = "devo: fitness per generation";
    const cli_flag flags[] = {
        {"o", CLI_STRING, &png, "the PNG to write, required (also -o)"},
        {"title", CLI_STRING, &title, "the plot's title"},
    };
    // Accept the short "-o FILE" as "--o FILE".
    enum { MAX_ARGS = 16 };
    char *flag_args[MAX_ARGS];
    int count = 0;
    for (int i = path != NULL; i < argc; i++) {
        if (count == MAX_ARGS) {
            fprintf(stderr, "devo: too many arguments for plot (see --help)\n");
            return 2;
        }
        flag_args[count++] = strcmp(argv[i], "-o") == 0 ? "--o" : argv[i];
    }
    int parsed = cli_parse(count, flag_args, flags, 2, "devo plot HISTORY.csv -o FITNESS.png");
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    if (!path || !png) {
        fprintf(stderr, "devo: plot needs a history CSV and -o FILE.png\n");
        return 2;
    }
    if (!check_history(path)) return 1;
    // The strings travel as arguments (ARG1 the PNG, ARG2 the title, ARG3 the CSV): none is
    // ever part of the script's text.
    char *png_name = cli_gnuplot_file_name(png), *csv_name = cli_gnuplot_file_name(path);
    const char *args[] = {png_name, title, csv_name};
    int drawn = png_name && csv_name && cli_gnuplot_run(plot_script, args, 3, png);
    if (!png_name || !csv_name) fprintf(stderr, "devo: out of memory\n");
    free(png_name);
    free(csv_name);
    if (!drawn) return 1;
    printf("wrote %s\n", png);
    return 0;
}
