/*
 * evaluate_cpu.c - threaded fitness evaluation on the CPU (see evaluate_cpu.h).
 * Threads take contiguous runs of sample chunks, or of individuals when there
 * are fewer chunks than threads; OpenBLAS runs single-threaded inside them.
 */
#include "evaluate_cpu.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "forward_cpu.h"
#include "parallel.h"

/* Upper bound of the activation work space of all threads together. */
#define DEVO_CPU_WORKSPACE_BYTES ((size_t)256 << 20)

typedef struct worker {
    devo_cpu_forward forward;
    float *gathered_x; /* (batch, inputs): a chunk of a sample subset */
    float *gathered_y; /* (batch, target width) */
} worker;

struct devo_cpu_evaluator {
    const devo_model *arch;
    size_t batch, group, threads;
    float *packed;  /* devo_cpu_packed_floats(arch, group) */
    worker *workers; /* (threads) */
    double *chunk_loss;    /* (chunk_capacity, group): loss sums per chunk and individual */
    size_t *chunk_correct; /* (chunk_capacity, group) */
    size_t chunk_capacity;
    /* the job in progress */
    const float *w, *x, *y;
    const size_t *rows;
    size_t members, samples, chunks;
};

int devo_cpu_thread_count(int threads)
{
    if (threads > 0) return threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

void devo_cpu_evaluator_free(devo_cpu_evaluator *e)
{
    if (!e) return;
    for (size_t t = 0; e->workers && t < e->threads; t++) {
        devo_cpu_forward_release(&e->workers[t].forward);
        free(e->workers[t].gathered_x);
        free(e->workers[t].gathered_y);
    }
    free(e->workers);
    free(e->packed);
    free(e->chunk_loss);
    free(e->chunk_correct);
    free(e);
}

/* Individuals per group so that every thread's work space fits the bound. */
static size_t evaluation_group(const devo_model *arch, size_t P, size_t rows, size_t threads)
{
    size_t group = P;
    while (group > 1 &&
           threads * devo_cpu_forward_bytes(arch, rows, group) > DEVO_CPU_WORKSPACE_BYTES)
        group = (group + 1) / 2;
    return group;
}

devo_status devo_cpu_evaluator_create(devo_cpu_evaluator **out, const devo_model *arch,
                                      size_t population, size_t batch_size, int threads)
{
    devo_cpu_evaluator *e = calloc(1, sizeof *e);
    if (!e) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu evaluator: out of memory");
    e->arch = arch;
    e->batch = batch_size;
    e->threads = (size_t)devo_cpu_thread_count(threads);
    e->group = evaluation_group(arch, population, batch_size, e->threads);
    e->packed = malloc(devo_cpu_packed_floats(arch, e->group) * sizeof(float));
    e->workers = calloc(e->threads, sizeof *e->workers);
    devo_status status = e->packed && e->workers ? DEVO_OK : DEVO_ERR_OUT_OF_MEMORY;
    size_t width = devo_model_target_width(arch);
    for (size_t t = 0; status == DEVO_OK && t < e->threads; t++) {
        worker *wk = &e->workers[t];
        status = devo_cpu_forward_init(&wk->forward, arch, batch_size, e->group);
        wk->gathered_x = malloc(batch_size * arch->input_dim * sizeof(float));
        wk->gathered_y = malloc(batch_size * width * sizeof(float));
        if (status == DEVO_OK && (!wk->gathered_x || !wk->gathered_y))
            status = DEVO_ERR_OUT_OF_MEMORY;
    }
    if (status != DEVO_OK) {
        size_t threads_wanted = e->threads, group = e->group;
        devo_cpu_evaluator_free(e);
        if (status == DEVO_ERR_OUT_OF_MEMORY)
            return devo_fail(status, "cpu evaluator: cannot allocate the work space of %zu "
                                     "threads x %zu individuals x %zu samples", threads_wanted,
                             group, batch_size);
        return status;
    }
    *out = e;
    return DEVO_OK;
}

/* Runs sample chunk c for members [m0, m0 + count) of the group, whose first-layer kernels are
 * packed side by side in `packed`, on work space wk; writes their per-chunk sums. */
static void forward_chunk(devo_cpu_evaluator *e, worker *wk, size_t c, size_t m0, size_t count,
                          const float *packed)
{
    const devo_model *arch = e->arch;
    size_t inputs = arch->input_dim, width = devo_model_target_width(arch);
    size_t s0 = c * e->batch, rows = e->samples - s0 < e->batch ? e->samples - s0 : e->batch;
    const float *x = e->x + s0 * inputs, *y = e->y + s0 * width;
    if (e->rows) {
        for (size_t r = 0; r < rows; r++) {
            memcpy(wk->gathered_x + r * inputs, e->x + e->rows[s0 + r] * inputs,
                   inputs * sizeof(float));
            memcpy(wk->gathered_y + r * width, e->y + e->rows[s0 + r] * width,
                   width * sizeof(float));
        }
        x = wk->gathered_x;
        y = wk->gathered_y;
    }
    const float *w = e->w + m0 * arch->param_count;
    devo_logits_view view = devo_cpu_forward_shared(&wk->forward, w, count, packed, x, rows);
    double *loss = e->chunk_loss + c * e->group + m0;
    size_t *correct = e->chunk_correct + c * e->group + m0;
    for (size_t p = 0; p < count; p++) {
        loss[p] = 0.0;
        correct[p] = 0;
        devo_cpu_accumulate_metrics(arch, view, p, rows, y, &loss[p], &correct[p]);
    }
}

/* Many chunks: thread `part` runs chunks [first, end) for the whole group (packed once). */
static void run_chunk_range(void *ctx, size_t part, size_t first, size_t end)
{
    devo_cpu_evaluator *e = ctx;
    for (size_t c = first; c < end; c++)
        forward_chunk(e, &e->workers[part], c, 0, e->members, e->packed);
}

/* Few chunks: thread `part` packs members [m0, m1) into its own slice and runs every chunk. */
static void run_member_range(void *ctx, size_t part, size_t m0, size_t m1)
{
    devo_cpu_evaluator *e = ctx;
    float *slice = e->packed + m0 * e->arch->input_dim * e->arch->layers[0].units;
    devo_cpu_pack_first_layer(e->arch, e->w + m0 * e->arch->param_count, m1 - m0, slice);
    for (size_t c = 0; c < e->chunks; c++)
        forward_chunk(e, &e->workers[part], c, m0, m1 - m0, slice);
}

static devo_status reserve_chunks(devo_cpu_evaluator *e, size_t chunks)
{
    if (chunks <= e->chunk_capacity) return DEVO_OK;
    double *loss = realloc(e->chunk_loss, chunks * e->group * sizeof *loss);
    if (loss) e->chunk_loss = loss;
    size_t *correct = realloc(e->chunk_correct, chunks * e->group * sizeof *correct);
    if (correct) e->chunk_correct = correct;
    if (!loss || !correct)
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu evaluator: cannot hold %zu chunk sums",
                         chunks * e->group);
    e->chunk_capacity = chunks;
    return DEVO_OK;
}

/* Runs every chunk of the current job for every member of the group on up to e->threads
 * threads: over chunks when there are enough, else over members. OpenBLAS runs
 * single-threaded inside: its idle threads would otherwise spin on the cores devo uses next.
 * Splitting members does not change a fitness: each output element of a GEMM is the same
 * dot product whatever the number of columns beside it (the suite checks 1 and 2 threads). */
static devo_status run_chunks(devo_cpu_evaluator *e)
{
    int previous = openblas_get_num_threads();
    openblas_set_num_threads(1);
    devo_status status;
    if (e->chunks >= e->threads || e->members < 2) {
        devo_cpu_pack_first_layer(e->arch, e->w, e->members, e->packed);
        status = devo_parallel_for(e->threads, e->chunks, run_chunk_range, e);
    } else {
        status = devo_parallel_for(e->threads, e->members, run_member_range, e);
    }
    openblas_set_num_threads(previous);
    return status;
}

devo_status devo_cpu_evaluate(devo_cpu_evaluator *e, const float *w, size_t count, const float *x,
                              const float *y, const size_t *rows, size_t samples,
                              devo_fitness kind, double *fitness)
{
    size_t D = e->arch->param_count;
    e->x = x;
    e->y = y;
    e->rows = rows;
    e->samples = samples;
    e->chunks = (samples + e->batch - 1) / e->batch;
    DEVO_TRY(reserve_chunks(e, e->chunks));
    for (size_t g0 = 0; g0 < count; g0 += e->group) {
        e->members = count - g0 < e->group ? count - g0 : e->group;
        e->w = w + g0 * D;
        DEVO_TRY(run_chunks(e));
        for (size_t p = 0; p < e->members; p++) {
            double loss = 0.0;
            size_t correct = 0;
            for (size_t c = 0; c < e->chunks; c++) { // chunk order: independent of threads
                loss += e->chunk_loss[c * e->group + p];
                correct += e->chunk_correct[c * e->group + p];
            }
            fitness[g0 + p] = kind == DEVO_FITNESS_ACCURACY ? (double)correct / (double)samples
                                                            : -loss / (double)samples;
        }
    }
    return DEVO_OK;
}
