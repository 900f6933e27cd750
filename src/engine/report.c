/*
 * report.c - the verbose output of a run (see report.h).
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void devo_format_round4(double x, char *buf, size_t size)
{
    if (isnan(x)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, size, x > 0 ? "inf" : "-inf");
        return;
    }
    snprintf(buf, size, "%.4f", x);
    size_t len = strlen(buf);
    while (len > 0 && buf[len - 1] == '0' && buf[len - 2] != '.') buf[--len] = '\0';
}

void devo_format_eta(double seconds, char *buf, size_t size)
{
    if (!isfinite(seconds) || seconds < 0.0) {
        snprintf(buf, size, "--:--");
        return;
    }
    // Compared as a double before any conversion: a cast of a larger value is undefined.
    if (seconds >= 9999.0 * 3600.0 + 3599.0) {
        snprintf(buf, size, ">9999h");
        return;
    }
    long total = (long)seconds, hours = total / 3600, minutes = total / 60 % 60;
    if (hours > 0)
        snprintf(buf, size, "%ld:%02ld:%02ld", hours, minutes, total % 60);
    else
        snprintf(buf, size, "%02ld:%02ld", minutes, total % 60);
}

/* The run being reported on this thread, for the plain lines of a log. */
static _Thread_local struct {
    devo_generation_stats last; /* the latest generation seen */
    double next_line;           /* run seconds at which the next plain line is due */
    int last_printed;           /* whether `last` has its line */
} progress;

/* Prints generation s's progress: "[####....] 3/10 best 0.5  2.00 gen/s  00:03 left". */
static void print_progress(const devo_generation_stats *s, int bar)
{
    enum { WIDTH = 30 };
    size_t total = s->max_generations ? s->max_generations : s->generation;
    size_t filled = total ? s->generation * WIDTH / total : WIDTH;
    char cells[WIDTH + 1];
    for (size_t i = 0; i < WIDTH; i++) cells[i] = i < filled ? '#' : '.';
    cells[WIDTH] = '\0';
    double rate = s->seconds > 0.0 ? (double)s->generation / s->seconds : 0.0;
    double left = rate > 0.0 ? (double)(total - s->generation) / rate : NAN;
    char best[64], eta[32];
    devo_format_round4(s->best, best, sizeof best);
    devo_format_eta(left, eta, sizeof eta);
    fprintf(stderr, "%s[%s] %zu/%zu best %s  %.2f gen/s  %s left%s", bar ? "\r" : "", cells,
            s->generation, total, best, rate, eta, bar ? " " : "\n");
    fflush(stderr);
}

void devo_report_generation(const devo_generation_stats *s, int verbose)
{
    if (verbose == 2) {
        if (isatty(fileno(stderr))) {
            print_progress(s, 1);
            return;
        }
        if (s->generation <= 1) progress.next_line = 0.0;
        progress.last = *s;
        progress.last_printed = s->seconds >= progress.next_line ||
                                s->generation == s->max_generations;
        if (!progress.last_printed) return;
        print_progress(s, 0);
        progress.next_line = s->seconds + DEVO_REPORT_LOG_SECONDS;
        return;
    }
    if (verbose != 1) return;
    char score[64], best[64], std[64];
    devo_format_round4(s->mean, score, sizeof score);
    devo_format_round4(s->best, best, sizeof best);
    devo_format_round4(s->std, std, sizeof std);
    printf("[Generation %zu / %zu] score: %s (best: %s; std: %s)\n", s->generation,
           s->max_generations, score, best, std);
    fflush(stdout);
}

void devo_report_finish(int verbose)
{
    if (verbose != 2) return;
    if (isatty(fileno(stderr))) {
        fputc('\n', stderr);
    } else if (progress.last.generation > 0 && !progress.last_printed) {
        print_progress(&progress.last, 0);
    }
    progress.last.generation = 0; // the next run starts afresh
}
