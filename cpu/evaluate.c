/*
 * evaluate.c - threaded fitness evaluation on the CPU (see evaluate.h).
 * The population's slots are cut into blocks of a fixed number of slots (set by the
 * architecture alone) counted from slot 0; the work items are (sample chunk, block) pairs,
 * spread over the threads. Each block's first layer is one GEMM of the full block width (the
 * population's last block may be narrower), the slots outside the evaluated range being zero
 * columns, so every GEMM's shape and each
 * individual's column position depend on its slot and the chunk only: never on the thread
 * count nor on which range of the population is evaluated. OpenBLAS (BF16: oneDNN) runs
 * single-threaded inside the items. In BF16 the packed kernels and gathered samples are BF16
 * copies of the rounded rows and samples the caller keeps (devo_cpu_bf16_rows).
 */
#include "evaluate.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"
#include "error.h"
#include "forward.h"
#include "gemm_bf16.h"
#include "metrics.h"
#include "parallel.h"

/* Upper bound of the packed first-layer kernels of one group of individuals. */
#define DEVO_CPU_PACKED_BYTES ((size_t)256 << 20)
/* First-layer GEMM columns per block: wide enough for OpenBLAS's kernels, narrow enough
 * that a generation of 128 small networks is several blocks for the threads to share. */
#define DEVO_CPU_BLOCK_COLUMNS 256

typedef struct worker {
    devo_cpu_forward forward;
    void *gathered_x;  /* (batch, inputs) operands: a chunk of a sample subset */
    float *gathered_y; /* (batch, target width) */
    size_t gathered_chunk; /* the chunk in gathered_x/y, or SIZE_MAX */
} worker;

struct devo_cpu_evaluator {
    const devo_model *arch;
    size_t population, batch, block, group, threads;
    size_t operand; /* bytes of a GEMM operand: 4 (FP32) or 2 (BF16) */
    void *packed;   /* devo_cpu_packed_floats(arch, group) operands */
    worker *workers; /* (threads) */
    double *chunk_loss;    /* (chunk_capacity, group): loss sums per chunk and slot */
    size_t *chunk_correct; /* (chunk_capacity, group) */
    size_t chunk_capacity;
    /* the job in progress: individuals w (end - first, D) in slots [first, end); the group
     * of `blocks` blocks from slot `base` */
    const float *w, *x, *y;
    const devo_cpu_bf16_rows *bf16; /* BF16: w and x rounded; else NULL */
    const size_t *rows;
    size_t first, end, base, samples, chunks, blocks;
    float *outputs; /* devo_cpu_predict's (end - first, samples, outputs), or NULL: metrics */
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

/* Individuals per block: a function of the architecture only. */
static size_t evaluation_block(const devo_model *arch)
{
    size_t units = arch->layers[0].units;
    return units >= DEVO_CPU_BLOCK_COLUMNS ? 1 : DEVO_CPU_BLOCK_COLUMNS / units;
}

/* Individuals per group, a multiple of the block, so that the packed kernels fit the bound. */
static size_t evaluation_group(const devo_model *arch, size_t P, size_t block)
{
    size_t blocks = (P + block - 1) / block;
    while (blocks > 1 && devo_cpu_packed_floats(arch, blocks * block) * sizeof(float) >
                             DEVO_CPU_PACKED_BYTES)
        blocks = (blocks + 1) / 2;
    return blocks * block;
}

devo_status devo_cpu_evaluator_create(devo_cpu_evaluator **out, const devo_model *arch,
                                      size_t population, size_t batch_size, int threads,
                                      devo_precision precision)
{
    DEVO_TRY(devo_cpu_precision_available(precision, "cpu device"));
    int bf16 = precision == DEVO_PRECISION_BF16;
    devo_cpu_evaluator *e = calloc(1, sizeof *e);
    if (!e) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu evaluator: out of memory");
    e->arch = arch;
    e->population = population;
    e->batch = batch_size;
    e->threads = (size_t)devo_cpu_thread_count(threads);
    e->block = evaluation_block(arch);
    e->group = evaluation_group(arch, population, e->block);
    e->operand = bf16 ? sizeof(devo_bf16) : sizeof(float);
    e->packed = malloc(devo_cpu_packed_floats(arch, e->group) * e->operand);
    e->workers = calloc(e->threads, sizeof *e->workers);
    devo_status status = e->packed && e->workers ? DEVO_OK : DEVO_ERR_OUT_OF_MEMORY;
    size_t width = devo_model_target_width(arch);
    for (size_t t = 0; status == DEVO_OK && t < e->threads; t++) {
        worker *wk = &e->workers[t];
        status = devo_cpu_forward_init(&wk->forward, arch, batch_size, e->block);
        if (status == DEVO_OK && bf16) status = devo_cpu_forward_use_bf16(&wk->forward);
        wk->gathered_x = malloc(batch_size * arch->input_dim * e->operand);
        wk->gathered_y = malloc(batch_size * width * sizeof(float));
        if (status == DEVO_OK && (!wk->gathered_x || !wk->gathered_y))
            status = DEVO_ERR_OUT_OF_MEMORY;
    }
    if (status != DEVO_OK) {
        size_t threads_wanted = e->threads, group = e->group;
        devo_cpu_evaluator_free(e);
        if (status == DEVO_ERR_OUT_OF_MEMORY)
            return devo_fail(status, "cpu evaluator: cannot allocate the work space of %zu "
                                     "threads for %zu individuals x %zu samples", threads_wanted,
                             group, batch_size);
        return status;
    }
    *out = e;
    return DEVO_OK;
}

/* The evaluated slots [*lo, *hi) of the group's block k, which starts at slot *start and
 * returns its width in slots: e->block, or fewer for the population's last slots. */
static size_t block_members(const devo_cpu_evaluator *e, size_t k, size_t *start, size_t *lo,
                            size_t *hi)
{
    size_t b0 = e->base + k * e->block, b1 = b0 + e->block;
    if (b1 > e->population) b1 = e->population;
    *start = b0;
    *lo = b0 > e->first ? b0 : e->first;
    *hi = b1 < e->end ? b1 : e->end;
    return b1 - b0;
}

/* Packs the first-layer kernels of the group's blocks [first, end), each block's side by
 * side in its own slice of e->packed (inputs, block * units0), absent slots zero. */
static void pack_blocks(void *ctx, size_t part, size_t first, size_t end)
{
    (void)part;
    devo_cpu_evaluator *e = ctx;
    size_t slice = devo_cpu_packed_floats(e->arch, e->block) * e->operand;
    const char *w = e->bf16 ? (const char *)e->bf16->w : (const char *)e->w;
    size_t row = e->arch->param_count * e->operand; // bytes of an individual's operands
    for (size_t k = first; k < end; k++) {
        size_t start, lo, hi, slots = block_members(e, k, &start, &lo, &hi);
        devo_cpu_pack_block_of(e->arch, w + (lo - e->first) * row, e->operand, lo - start,
                               hi - lo, slots, (char *)e->packed + k * slice);
    }
}

/* Points x (the GEMM operands) and y at chunk c's samples, gathered into wk's buffers for a
 * subset. */
static size_t chunk_samples(devo_cpu_evaluator *e, worker *wk, size_t c, const void **x,
                            const float **y)
{
    size_t inputs = e->arch->input_dim, width = devo_model_target_width(e->arch);
    size_t s0 = c * e->batch, rows = e->samples - s0 < e->batch ? e->samples - s0 : e->batch;
    size_t row_bytes = inputs * e->operand;
    const char *all = e->bf16 ? (const char *)e->bf16->x : (const char *)e->x;
    *x = all + s0 * row_bytes;
    *y = e->y ? e->y + s0 * width : NULL; // devo_cpu_predict has no targets
    if (!e->rows) return rows;
    if (wk->gathered_chunk != c) {
        for (size_t r = 0; r < rows; r++) {
            memcpy((char *)wk->gathered_x + r * row_bytes, all + e->rows[s0 + r] * row_bytes,
                   row_bytes);
            memcpy(wk->gathered_y + r * width, e->y + e->rows[s0 + r] * width,
                   width * sizeof(float));
        }
        wk->gathered_chunk = c;
    }
    *x = wk->gathered_x;
    *y = wk->gathered_y;
    return rows;
}

/* Work items [first, end): item i is sample chunk i / blocks for block i % blocks; writes the
 * per-chunk sums of the block's individuals. */
static void run_items(void *ctx, size_t part, size_t first, size_t end)
{
    devo_cpu_evaluator *e = ctx;
    worker *wk = &e->workers[part];
    wk->gathered_chunk = SIZE_MAX;
    size_t slice = devo_cpu_packed_floats(e->arch, e->block), D = e->arch->param_count;
    for (size_t i = first; i < end; i++) {
        size_t c = i / e->blocks, k = i % e->blocks, start, lo, hi;
        size_t slots = block_members(e, k, &start, &lo, &hi);
        const void *x;
        const float *y;
        size_t rows = chunk_samples(e, wk, c, &x, &y);
        const float *w = e->w + (lo - e->first) * D;
        devo_logits_view view =
            e->bf16 ? devo_cpu_forward_block_bf16(&wk->forward, w, e->bf16->w + (lo - e->first) * D,
                                                  lo - start, hi - lo, slots,
                                                  (const devo_bf16 *)e->packed + k * slice, x, rows)
                    : devo_cpu_forward_block(&wk->forward, w, lo - start, hi - lo, slots,
                                             (const float *)e->packed + k * slice, x, rows);
        if (e->outputs) {
            size_t outputs = e->arch->layers[e->arch->layer_count - 1].units;
            for (size_t p = 0; p < hi - lo; p++)
                devo_cpu_write_outputs(e->arch, view, p, rows,
                                       e->outputs + ((lo - e->first + p) * e->samples +
                                                     c * e->batch) * outputs);
            continue;
        }
        double *loss = e->chunk_loss + c * e->group + (lo - e->base);
        size_t *correct = e->chunk_correct + c * e->group + (lo - e->base);
        for (size_t p = 0; p < hi - lo; p++) {
            loss[p] = 0.0;
            correct[p] = 0;
            devo_cpu_accumulate_metrics(e->arch, view, p, rows, y, &loss[p], &correct[p]);
        }
    }
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

/* Runs every (chunk, block) item of the group on up to e->threads threads. OpenBLAS runs
 * single-threaded inside: its idle threads would otherwise spin on the cores devo uses next. */
static devo_status run_group(devo_cpu_evaluator *e)
{
    int previous = devo_blas_threads(1);
    devo_status status = devo_parallel_for(e->threads, e->blocks, pack_blocks, e);
    if (status == DEVO_OK)
        status = devo_parallel_for(e->threads, e->chunks * e->blocks, run_items, e);
    devo_blas_threads(previous);
    for (size_t t = 0; status == DEVO_OK && t < e->threads; t++) // a BF16 GEMM that failed
        status = e->workers[t].forward.status;
    return status;
}

/* Runs every group of the job's slots [e->first, e->end); with fitness (count), sums each
 * slot's chunks into it, in chunk order. */
static devo_status run_groups(devo_cpu_evaluator *e, devo_fitness kind, double *fitness)
{
    // groups of whole blocks, aligned to slot 0 like the blocks
    for (size_t g = e->first / e->group * e->group; g < e->end; g += e->group) {
        size_t lo = g > e->first ? g : e->first, hi = g + e->group < e->end ? g + e->group : e->end;
        e->base = lo / e->block * e->block; // the first block with members
        e->blocks = (hi - e->base + e->block - 1) / e->block;
        DEVO_TRY(run_group(e));
        for (size_t s = lo; fitness && s < hi; s++) {
            double loss = 0.0;
            size_t correct = 0;
            for (size_t c = 0; c < e->chunks; c++) { // chunk order: independent of threads
                loss += e->chunk_loss[c * e->group + (s - e->base)];
                correct += e->chunk_correct[c * e->group + (s - e->base)];
            }
            fitness[s - e->first] = kind == DEVO_FITNESS_ACCURACY
                                        ? (double)correct / (double)e->samples
                                        : -loss / (double)e->samples;
        }
    }
    return DEVO_OK;
}

/* Sets up a job: individuals w in slots [first, first + count) on the given samples (bf16:
 * their rounded twins, for a BF16 evaluator). */
static devo_status start_job(devo_cpu_evaluator *e, const float *w, size_t first, size_t count,
                             const float *x, const float *y, const size_t *rows, size_t samples,
                             float *outputs, const devo_cpu_bf16_rows *bf16)
{
    if ((e->operand == sizeof(devo_bf16)) != (bf16 != NULL))
        return devo_fail(DEVO_ERR_INTERNAL, "cpu evaluator: BF16 rows %s",
                         bf16 ? "given to an FP32 evaluator" : "missing");
    e->w = w;
    e->bf16 = bf16;
    e->first = first;
    e->end = first + count;
    e->x = x;
    e->y = y;
    e->rows = rows;
    e->samples = samples;
    e->chunks = (samples + e->batch - 1) / e->batch;
    e->outputs = outputs;
    return DEVO_OK;
}

devo_status devo_cpu_evaluate(devo_cpu_evaluator *e, const float *w, size_t first, size_t count,
                              const float *x, const float *y, const size_t *rows, size_t samples,
                              devo_fitness kind, double *fitness, const devo_cpu_bf16_rows *bf16)
{
    DEVO_TRY(start_job(e, w, first, count, x, y, rows, samples, NULL, bf16));
    DEVO_TRY(reserve_chunks(e, e->chunks));
    return run_groups(e, kind, fitness);
}

devo_status devo_cpu_predict(devo_cpu_evaluator *e, const float *w, size_t count,
                             const float *x, size_t samples, float *outputs,
                             const devo_cpu_bf16_rows *bf16)
{
    DEVO_TRY(start_job(e, w, 0, count, x, NULL, NULL, samples, outputs, bf16));
    return run_groups(e, DEVO_FITNESS_NEG_LOSS, NULL);
}
