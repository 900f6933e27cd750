/*
 * parallel.c - devo_parallel_for on POSIX threads (see parallel.h).
 */
#include "parallel.h"

#include <pthread.h>
#include <stdlib.h>

#include "error.h"

typedef struct part {
    devo_part_fn fn;
    void *ctx;
    size_t index, begin, end;
} part;

static void *run_part(void *arg)
{
    part *p = arg;
    p->fn(p->ctx, p->index, p->begin, p->end);
    return NULL;
}

devo_status devo_parallel_for(size_t threads, size_t count, devo_part_fn fn, void *ctx)
{
    if (threads > count) threads = count;
    if (threads <= 1) {
        if (count) fn(ctx, 0, 0, count);
        return DEVO_OK;
    }
    part *parts = malloc(threads * sizeof *parts);
    pthread_t *handles = malloc(threads * sizeof *handles);
    if (!parts || !handles) {
        free(parts);
        free(handles);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "parallel: out of memory for %zu threads",
                         threads);
    }
    for (size_t t = 0; t < threads; t++)
        parts[t] = (part){fn, ctx, t, count * t / threads, count * (t + 1) / threads};
    size_t started = 1;
    devo_status status = DEVO_OK;
    for (; started < threads; started++)
        if (pthread_create(&handles[started], NULL, run_part, &parts[started]) != 0) {
            status = devo_fail(DEVO_ERR_BACKEND, "parallel: cannot start thread %zu of %zu",
                               started + 1, threads);
            break;
        }
    if (status == DEVO_OK) run_part(&parts[0]);
    for (size_t t = 1; t < started; t++) pthread_join(handles[t], NULL);
    free(parts);
    free(handles);
    return status;
}
