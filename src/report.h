/*
 * report.h - what a run prints when asked to (verbose): the seed's line per
 * generation on stdout, or a progress bar on stderr.
 */
#ifndef DEVO_REPORT_H
#define DEVO_REPORT_H

#include <stddef.h>

#include "devo.h"

/* Writes x as Python's str(round(x, 4)) ("-2.3612", "0.004", "2.0", "nan") into buf. */
void devo_format_round4(double x, char *buf, size_t size);

/* Writes a time left as "MM:SS", or "H:MM:SS" from an hour on; "--:--" when it is unknown
 * (NaN, infinite, negative) and ">9999h" when it is longer than 9999 hours. */
void devo_format_eta(double seconds, char *buf, size_t size);

/* verbose 1: "[Generation 3 / 100] score: -2.36 (best: -2.35; std: 0.004)" on stdout;
 * verbose 2: a progress bar on stderr (generation, best, generations/s, time left). */
void devo_report_generation(const devo_generation_stats *s, int verbose);

/* Ends the progress bar's line (verbose 2). */
void devo_report_finish(int verbose);

#endif /* DEVO_REPORT_H */
