/*
 * clock.h - the monotonic wall clock devo times runs and benchmarks with.
 */
#ifndef DEVO_CLOCK_H
#define DEVO_CLOCK_H

/* Monotonic wall clock in seconds (CLOCK_MONOTONIC). */
double devo_now_seconds(void);

#endif /* DEVO_CLOCK_H */
