/*
 * gnuplot.h - drawing PNG plots with gnuplot (Debian's gnuplot-nox). The script is a
 * constant; every string (a title, a file name) reaches gnuplot as an argument, ARG1..ARG9
 * in the script, never as script text, so no string can run a gnuplot command.
 */
#ifndef DEVO_CLI_GNUPLOT_H
#define DEVO_CLI_GNUPLOT_H

#include <stddef.h>

/* A file name as gnuplot should get it: gnuplot reads "<cmd" and "|cmd" as commands to run,
 * "-" as inline data and "" as the last file, so a relative name gets "./" in front.
 * The caller frees the result; NULL when out of memory. */
char *cli_gnuplot_file_name(const char *path);

/* Runs "gnuplot -c SCRIPT args[0..count)" (count <= 9; args are ARG1..ARGn in the script)
 * with the script on gnuplot's stdin, and checks that gnuplot exits 0 and that `output`
 * (removed first) then exists and is not empty. Returns 1 on success; prints a clear
 * message and returns 0 when gnuplot is missing or fails. */
int cli_gnuplot_run(const char *script, const char *const *args, size_t count, const char *output);

#endif /* DEVO_CLI_GNUPLOT_H */
