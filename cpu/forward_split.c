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
    free(s->x16);
    memset(s, 0, sizeof *s);
}

/* Work space for `threads` parts of up to ceil(P / threads) individuals on `rows` samples
 * (BF16 GEMMs when bf16, and room for the rounded inputs). */
static devo_status reserve(devo_cpu_forward_split *s, const devo_model *arch, size_t P,
                           size_t rows, size_t threads, int bf16)
{
    size_t members = (P + threads - 1) / threads;
    if (rows <= s->rows && members <= s->members && threads == s->threads && bf16 == s->bf16)
        return DEVO_OK;
    devo_cpu_forward_split_release(s);
    if (!(s->parts = calloc(threads, sizeof *s->parts)))
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu forward: out of memory");
    s->threads = threads;
    s->bf16 = bf16;
    s->x16_count = bf16 ? P * rows * arch->input_dim : 0;
    if (bf16 && !(s->x16 = malloc(s->x16_count * sizeof(devo_bf16)))) {
        devo_cpu_forward_split_release(s);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu forward: out of memory");
    }
    for (size_t t = 0; t < threads; t++) {
        devo_status status = devo_cpu_forward_init(&s->parts[t], arch, rows, members);
        if (status == DEVO_OK && bf16) status = devo_cpu_forward_use_bf16(&s->parts[t]);
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
    const devo_bf16 *w16; /* BF16: w rounded (s->x16: x rounded); else NULL */
    size_t rows;
    float *y;
} split_job;

/* Individuals [begin, end) on part `part`'s work space. */
static void forward_part(void *ctx, size_t part, size_t begin, size_t end)
{
    split_job *job = ctx;
    const devo_model *arch = job->arch;
    size_t rows = job->rows, outputs = devo_model_output_dim(arch), D = arch->param_count;
    size_t in = rows * arch->input_dim;
    devo_cpu_forward *f = &job->s->parts[part];
    devo_logits_view view =
        job->w16 ? devo_cpu_forward_own_bf16(f, job->w + begin * D, job->w16 + begin * D,
                                             end - begin, job->s->x16 + begin * in, rows)
                 : devo_cpu_forward_own(f, job->w + begin * D, end - begin, job->x + begin * in,
                                        rows);
    for (size_t p = begin; p < end; p++)
        devo_cpu_write_outputs(arch, view, p - begin, rows, job->y + p * rows * outputs);
}

devo_status devo_cpu_forward_split_run(devo_cpu_forward_split *s, const devo_model *arch,
                                       const float *w, const devo_bf16 *w16, size_t P,
                                       const float *x, size_t rows, float *y, int threads)
{
    size_t count = (size_t)devo_cpu_thread_count(threads);
    DEVO_TRY(reserve(s, arch, P, rows, count, w16 != NULL));
    if (w16) devo_bf16_round_n(x, s->x16, P * rows * arch->input_dim);
    split_job job = {s, arch, w, x, w16, rows, y};
    int previous = devo_blas_threads(1);
    devo_status status = devo_parallel_for(count, P, forward_part, &job);
    devo_blas_threads(previous);
    for (size_t t = 0; status == DEVO_OK && t < count; t++) // a BF16 GEMM that failed
        status = s->parts[t].status;
    return status;
}
