/*
 * gnuplot.h - drawing PNG plots by piping a script to gnuplot (Debian's gnuplot-nox).
 */
#ifndef DEVO_CLI_GNUPLOT_H
#define DEVO_CLI_GNUPLOT_H

/* Runs gnuplot on `script`. Returns 1 on success; prints a clear message and
 * returns 0 when gnuplot is missing or fails. */
int cli_gnuplot(const char *script);

#endif /* DEVO_CLI_GNUPLOT_H */
