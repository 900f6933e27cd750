/*
 * parallel.h - the CPU backend's one threading primitive: split a range of
 * independent work items over threads. Results must not depend on the split:
 * callers write per-item outputs and combine them in item order.
 */
#ifndef DEVO_PARALLEL_H
#define DEVO_PARALLEL_H

#include <stddef.h>

#include "devo.h"

/* The work of one thread: items [begin, end); `part` (0..threads-1) tells threads apart,
 * for per-thread work space. */
typedef void (*devo_part_fn)(void *ctx, size_t part, size_t begin, size_t end);

/* Calls fn on contiguous parts of [0, count) from up to `threads` threads (the caller's
 * included) and waits for all of them. DEVO_ERR_BACKEND if a thread cannot be started
 * (the parts already started still finish first). */
devo_status devo_parallel_for(size_t threads, size_t count, devo_part_fn fn, void *ctx);

#endif /* DEVO_PARALLEL_H */
