/*
 * report.h - what a run prints when asked to (verbose): the seed's line per
 * generation on stdout, or progress on stderr (a redrawn bar on a terminal,
 * a plain line every few seconds in a log).
 */
#ifndef DEVO_REPORT_H
#define DEVO_REPORT_H

#include <stddef.h>

#include "devo.h"

/* Seconds between the plain progress lines written when stderr is not a terminal. */
#define DEVO_REPORT_LOG_SECONDS 5.0

/* Writes x as Python's str(round(x, 4)) ("-2.3612", "0.004", "2.0", "nan") into buf. */
void devo_format_round4(double x, char *buf, size_t size);

/* Writes a time left as "MM:SS", or "H:MM:SS" from an hour on; "--:--" when it is unknown
 * (NaN, infinite, negative) and ">9999h" when it is longer than 9999 hours. */
void devo_format_eta(double seconds, char *buf, size_t size);

/* verbose 1: "[Generation 3 / 100] score: -2.36 (best: -2.35; std: 0.004)" on stdout;
 * verbose 2: progress on stderr (generation, best, generations/s, time left): a bar redrawn
 * with '\r' on a terminal, otherwise a plain line on the first generation, every
 * DEVO_REPORT_LOG_SECONDS of the run, and on the last one. */
void devo_report_generation(const devo_generation_stats *s, int verbose);

/* Ends the progress (verbose 2): the bar's line on a terminal; in a log, the line of the
 * last generation when the run stopped before its last one. */
void devo_report_finish(int verbose);

#endif /* DEVO_REPORT_H */
