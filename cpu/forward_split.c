/*
 * forward_split.c - a population's own-sample forward pass over devo's threads (see
 * forward_split.h).
 */
#include "forward_split.h"

#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "evaluate.h"
#include "parallel.h"

void devo_cpu_forward_split_release(devo_cpu_forward_split *s)
{
    for (size_t t = 0; s->parts && t < s->threads; t++) devo_cpu_forward_release(&s->parts[t]);
    free(s->parts);
    memset(s, 0, sizeof *s);
}

/* Work space for `threads` parts of up to ceil(P / threads) individuals on `rows` samples. */
static devo_status reserve(devo_cpu_forward_split *s, const devo_model *arch, size_t P,
                           size_t rows, size_t threads)
{
    size_t members = (P + threads - 1) / threads;
    if (rows <= s->rows && members <= s->members && threads == s->threads) return DEVO_OK;
    devo_cpu_forward_split_release(s);
    if (!(s->parts = calloc(threads, sizeof *s->parts)))
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu forward: out of memory");
    s->threads = threads;
    for (size_t t = 0; t < threads; t++) {
        devo_status status = devo_cpu_forward_init(&s->parts[t], arch, rows, members);
        if (status != DEVO_OK) {
            devo_cpu_forward_split_release(s);
            return status;
        }
    }
    s->rows = rows;
    s->members = members;
    return DEVO_OK;
}

typedef struct split_job {
    devo_cpu_forward_split *s;
    const devo_model *arch;
    const float *w, *x;
    size_t rows;
    float *y;
} split_job;

/* Individuals [begin, end) on part `part`'s work space. */
static void forward_part(void *ctx, size_t part, size_t begin, size_t end)
{
    split_job *job = ctx;
    const devo_model *arch = job->arch;
    size_t rows = job->rows, outputs = devo_model_output_dim(arch);
    devo_logits_view view =
        devo_cpu_forward_own(&job->s->parts[part], job->w + begin * arch->param_count,
                             end - begin, job->x + begin * rows * arch->input_dim, rows);
    for (size_t p = begin; p < end; p++)
        devo_cpu_write_outputs(arch, view, p - begin, rows, job->y + p * rows * outputs);
}

devo_status devo_cpu_forward_split_run(devo_cpu_forward_split *s, const devo_model *arch,
                                       const float *w, size_t P, const float *x, size_t rows,
                                       float *y, int threads)
{
    size_t count = (size_t)devo_cpu_thread_count(threads);
    DEVO_TRY(reserve(s, arch, P, rows, count));
    split_job job = {s, arch, w, x, rows, y};
    int previous = devo_blas_threads(1);
    devo_status status = devo_parallel_for(count, P, forward_part, &job);
    devo_blas_threads(previous);
    return status;
}
