/*
 * lowrank.c - low-rank population evaluation on the CPU (see lowrank.h).
 * Threads take groups of GROUP individuals (and column tiles of the shared
 * GEMM); OpenBLAS runs single-threaded inside them, as in evaluate.c. In BF16 the shared
 * first-layer GEMM, the bulk of the work, is oneDNN's (gemm_bf16.h) on the samples and
 * [W_0 | A_1 .. A_P] rounded to BF16, single-threaded per column tile; the rest stays FP32.
 */
#include "lowrank.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "evaluate.h"
#include "forward.h"
#include "gemm_bf16.h"
#include "metrics.h"
#include "nn_math.h"
#include "parallel.h"

/* Individuals whose later layers are one GEMM; fixed, so results do not depend on threads. */
#define GROUP 16
/* Columns of the shared first-layer GEMM per work item. */
#define TILE 256
/* Bytes of one group's activations for a row tile: a core's share of L2. */
#define DEVO_LOWRANK_TILE_BYTES ((size_t)1 << 20)

typedef struct lr_worker {
    float *buffers[2]; /* (GROUP, batch, max units) each */
    float *thin;       /* (batch, r): H_i A_i */
    float *bias;       /* (GROUP, max units): the group's perturbed biases of one layer */
    float *gathered_x; /* (batch, inputs) */
    float *gathered_y; /* (batch, target width) */
    devo_bf16_gemm *gemm; /* BF16: the shared GEMM's tiles, else NULL */
    devo_status status;   /* BF16: DEVO_OK, or the first failed GEMM's */
} lr_worker;

struct devo_lowrank_eval {
    const devo_model *arch;
    size_t P, batch, threads, width; /* width: target floats per sample */
    lr_worker *workers;
    float *packed; /* (inputs, units0 + P r): [W_0 | A_1 .. A_P] of layer 0 */
    float *shared; /* (batch, units0 + P r): x [W_0 | A_1 .. A_P] */
    size_t packed_rank;
    /* BF16 (else NULL): packed's operands (packed itself is not made) and a chunk's samples
     * (batch, inputs), rounded */
    devo_bf16 *packed16, *x16;
    double *chunk_loss;    /* (chunks, P) */
    size_t *chunk_correct; /* (chunks, P) */
    size_t chunk_capacity;
    /* the job in progress */
    const devo_lowrank_population *pop;
    const float *x, *y;
    size_t rows, first, count, chunk;
    float *out;
};

void devo_lowrank_free(devo_lowrank_eval *e)
{
    if (!e) return;
    for (size_t t = 0; e->workers && t < e->threads; t++) {
        lr_worker *wk = &e->workers[t];
        free(wk->buffers[0]);
        free(wk->buffers[1]);
        free(wk->thin);
        free(wk->bias);
        free(wk->gathered_x);
        free(wk->gathered_y);
        devo_bf16_gemm_free(wk->gemm);
    }
    free(e->workers);
    free(e->packed);
    free(e->packed16);
    free(e->x16);
    free(e->shared);
    free(e->chunk_loss);
    free(e->chunk_correct);
    free(e);
}

devo_status devo_lowrank_create(devo_lowrank_eval **out, const devo_model *arch,
                                size_t population, size_t batch_size, int threads,
                                devo_precision precision)
{
    int bf16 = precision == DEVO_PRECISION_BF16;
    DEVO_TRY(devo_cpu_precision_available(precision, "low-rank evaluator"));
    devo_lowrank_eval *e = calloc(1, sizeof *e);
    if (!e) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "low-rank evaluator: out of memory");
    e->arch = arch;
    e->P = population;
    e->batch = batch_size;
    e->threads = (size_t)devo_cpu_thread_count(threads);
    e->width = devo_model_target_width(arch);
    e->workers = calloc(e->threads, sizeof *e->workers);
    int ok = e->workers != NULL;
    size_t units = devo_model_max_units(arch), widest = units > arch->input_dim ? units
                                                                               : arch->input_dim;
    for (size_t t = 0; ok && t < e->threads; t++) {
        lr_worker *wk = &e->workers[t];
        wk->buffers[0] = malloc(GROUP * batch_size * widest * sizeof(float));
        wk->buffers[1] = malloc(GROUP * batch_size * widest * sizeof(float));
        wk->gathered_x = malloc(batch_size * arch->input_dim * sizeof(float));
        wk->gathered_y = malloc(batch_size * e->width * sizeof(float));
        wk->bias = malloc(GROUP * units * sizeof(float));
        ok = wk->buffers[0] && wk->buffers[1] && wk->gathered_x && wk->gathered_y && wk->bias;
        if (ok && bf16) ok = devo_bf16_gemm_create(&wk->gemm, 1) == DEVO_OK;
    }
    if (ok && bf16)
        ok = (e->x16 = malloc(batch_size * arch->input_dim * sizeof(devo_bf16))) != NULL;
    if (!ok) {
        devo_lowrank_free(e);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                         "low-rank evaluator: cannot allocate the work space of %d threads",
                         threads);
    }
    *out = e;
    return DEVO_OK;
}

/* Direction and sign of individual i. */
static size_t direction(const devo_lowrank_population *pop, size_t i, float *sign)
{
    *sign = pop->antithetic && i % 2 ? -1.0f : 1.0f;
    return pop->antithetic ? i / 2 : i;
}

/* Columns of x [W_0 | A_1 .. A_dirs] for the population in progress. */
static size_t shared_columns(const devo_lowrank_eval *e)
{
    return e->arch->layers[0].units + e->pop->noise->dirs * e->pop->noise->rank;
}

/* Grows the rank-dependent buffers to rank r and the chunk sums to `chunks`. */
static devo_status reserve(devo_lowrank_eval *e, size_t r, size_t chunks)
{
    const devo_layer *first = &e->arch->layers[0];
    size_t cols = first->units + e->P * r;
    if (r > e->packed_rank) {
        int bf16 = e->x16 != NULL;
        free(e->packed);
        free(e->packed16);
        free(e->shared);
        e->packed = bf16 ? NULL : malloc(first->inputs * cols * sizeof(float));
        e->packed16 = bf16 ? malloc(first->inputs * cols * sizeof(devo_bf16)) : NULL;
        e->shared = malloc(e->batch * cols * sizeof(float));
        int ok = (e->packed || e->packed16) && e->shared;
        for (size_t t = 0; ok && t < e->threads; t++) {
            free(e->workers[t].thin);
            ok = (e->workers[t].thin = malloc(e->batch * r * sizeof(float))) != NULL;
        }
        e->packed_rank = ok ? r : 0;
        if (!ok)
            return devo_fail(DEVO_ERR_OUT_OF_MEMORY,
                             "low-rank evaluator: cannot allocate %zu x %zu first-layer columns",
                             e->batch, cols);
    }
    if (chunks > e->chunk_capacity) {
        double *loss = realloc(e->chunk_loss, chunks * e->P * sizeof *loss);
        if (loss) e->chunk_loss = loss;
        size_t *correct = realloc(e->chunk_correct, chunks * e->P * sizeof *correct);
        if (correct) e->chunk_correct = correct;
        if (!loss || !correct)
            return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "low-rank evaluator: cannot hold %zu chunk "
                                                     "sums", chunks * e->P);
        e->chunk_capacity = chunks;
    }
    return DEVO_OK;
}

/* bias (units) = individual d's perturbed bias of layer l. */
static void perturbed_bias(const devo_lowrank_population *pop, size_t l, size_t d, float sign,
                           float *bias)
{
    const devo_layer *layer = &pop->noise->arch->layers[l];
    const float *center = pop->center + layer->bias_offset, *sigma = pop->sigma + layer->bias_offset;
    const float *eps = devo_es_factor_bias(pop->noise, d, l);
    for (size_t k = 0; k < layer->units; k++) bias[k] = center[k] + sign * sigma[k] * eps[k];
}

/* One row (units) after its bias is added: the activation, except on the last layer. */
static void activate(float *row, const devo_layer *layer, int last)
{
    if (last) return;
    if (layer->act == DEVO_ACT_RELU) // the common case, in a loop the compiler vectorises
        for (size_t k = 0; k < layer->units; k++) row[k] = devo_activate(DEVO_ACT_RELU, row[k]);
    else
        devo_activate_row(layer->act, row, layer->units);
}

/* out (members, rows, units) = layer l of individuals [i0, i0 + members) on their own inputs
 * in (members, rows, inputs): one GEMM with the centre's kernel, then each adds
 * c_i (in_i A_i) B_i^T, its bias, its activation. */
static void own_layer(devo_lowrank_eval *e, lr_worker *wk, size_t l, size_t i0, size_t members,
                      const float *in, size_t rows, float *out)
{
    const devo_lowrank_population *pop = e->pop;
    const devo_layer *layer = &e->arch->layers[l];
    size_t r = pop->noise->rank, ins = layer->inputs, units = layer->units;
    int last = l + 1 == e->arch->layer_count;
    float scale = pop->sigma[layer->kernel_offset] / sqrtf((float)r);
    for (size_t m = 0; m < members; m++) {
        float sign;
        size_t d = direction(pop, i0 + m, &sign);
        const float *in_m = in + m * rows * ins;
        float *out_m = out + m * rows * units;
        // out_m (rows, units) = in_m (rows, inputs) x kernel (inputs, units)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)units, (int)ins,
                    1.0f, in_m, (int)ins, pop->center + layer->kernel_offset, (int)units, 0.0f,
                    out_m, (int)units);
        // thin (rows, r) = in_m (rows, inputs) x A (inputs, r)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)r, (int)ins, 1.0f,
                    in_m, (int)ins, devo_es_factor_a(pop->noise, d, l), (int)r, 0.0f, wk->thin,
                    (int)r);
        // out_m (rows, units) += sign scale thin (rows, r) x B^T (r, units)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)units, (int)r,
                    sign * scale, wk->thin, (int)r, devo_es_factor_bt(pop->noise, d, l),
                    (int)units, 1.0f, out_m, (int)units);
        perturbed_bias(pop, l, d, sign, wk->bias);
        for (size_t row = 0; row < rows; row++) {
            float *o = out_m + row * units;
            for (size_t k = 0; k < units; k++) o[k] += wk->bias[k];
            activate(o, layer, last);
        }
    }
}

/* Layers from..L-1 of members [i0, i0 + members) on wk's buffer `in`; returns the logits'
 * buffer index. */
static int own_layers(devo_lowrank_eval *e, lr_worker *wk, size_t from, size_t i0,
                      size_t members, int in, size_t rows)
{
    for (size_t l = from; l < e->arch->layer_count; l++) {
        own_layer(e, wk, l, i0, members, wk->buffers[in], rows, wk->buffers[1 - in]);
        in = 1 - in;
    }
    return in;
}

/* Layer 0 of members [i0, i0 + members) on the chunk's rows [row0, row0 + rows), from the
 * shared x [W_0 | A_1 .. A_P], into buffers[0] (members, rows, units0), row by row, so that
 * each row of `shared` is read once for the whole group. */
static void first_layer_shared(devo_lowrank_eval *e, lr_worker *wk, size_t i0, size_t members,
                               size_t row0, size_t rows)
{
    const devo_lowrank_population *pop = e->pop;
    const devo_layer *layer = &e->arch->layers[0];
    size_t r = pop->noise->rank, units = layer->units, cols = shared_columns(e);
    int last = e->arch->layer_count == 1;
    float scale = pop->sigma[layer->kernel_offset] / sqrtf((float)r);
    float coefficient[GROUP];
    size_t thin_column[GROUP]; // member m's x A_d columns in shared
    const float *bt[GROUP];
    for (size_t m = 0; m < members; m++) {
        float sign;
        size_t d = direction(pop, i0 + m, &sign);
        coefficient[m] = sign * scale;
        thin_column[m] = units + d * r;
        bt[m] = devo_es_factor_bt(pop->noise, d, 0);
        perturbed_bias(pop, 0, d, sign, wk->bias + m * units);
    }
    int relu_in_one_pass = r == 1 && !last && layer->act == DEVO_ACT_RELU;
    for (size_t row = 0; row < rows; row++) {
        const float *shared = e->shared + (row0 + row) * cols;
        for (size_t m = 0; m < members; m++) {
            // out row = (x W_0) row + bias + sign scale (x A_d) row B_d^T
            float *o = wk->buffers[0] + (m * rows + row) * units;
            const float *bias = wk->bias + m * units;
            float c0 = coefficient[m] * shared[thin_column[m]]; // the first factor's term
            const float *b0 = bt[m];
            for (size_t k = 0; k < units; k++) {
                float value = (shared[k] + bias[k]) + c0 * b0[k];
                o[k] = relu_in_one_pass ? devo_activate(DEVO_ACT_RELU, value) : value;
            }
            if (relu_in_one_pass) continue; // rank 1 into a ReLU, the usual case: one pass
            for (size_t q = 1; q < r; q++) {
                float c = coefficient[m] * shared[thin_column[m] + q];
                const float *b = bt[m] + q * units;
                for (size_t k = 0; k < units; k++) o[k] += c * b[k];
            }
            activate(o, layer, last);
        }
    }
}

/* The view of buffer `which` holding members' logits, rows x outputs each. */
static devo_logits_view logits(const devo_lowrank_eval *e, const lr_worker *wk, int which,
                               size_t rows)
{
    size_t outputs = devo_model_output_dim(e->arch);
    devo_logits_view view = {wk->buffers[which], rows * outputs, outputs};
    return view;
}

/* Rows of a chunk whose later layers run together: a multiple of the metrics' tile, small
 * enough that a group's activations (GROUP, rows, widest layer) stay in a core's cache
 * (DEVO_LOWRANK_TILE_BYTES), so they are not written to memory and read back. A function of the
 * architecture alone, so results do not depend on threads. */
static size_t row_tile(const devo_model *arch)
{
    size_t per_row = GROUP * devo_model_max_units(arch) * sizeof(float);
    size_t rows = DEVO_LOWRANK_TILE_BYTES / per_row / DEVO_METRICS_TILE_ROWS;
    return (rows ? rows : 1) * DEVO_METRICS_TILE_ROWS;
}

/* Threads' work on groups [g0, g1) of the evaluation's individuals, on chunk e->chunk, in row
 * tiles; each individual's loss and hits add up row by row, in row order. */
static void evaluate_groups(void *ctx, size_t part, size_t g0, size_t g1)
{
    devo_lowrank_eval *e = ctx;
    lr_worker *wk = &e->workers[part];
    size_t tile = row_tile(e->arch);
    for (size_t g = g0; g < g1; g++) {
        size_t i0 = e->first + g * GROUP, end = e->first + e->count;
        size_t members = end - i0 < GROUP ? end - i0 : GROUP;
        double *loss = &e->chunk_loss[e->chunk * e->P + i0];
        size_t *correct = &e->chunk_correct[e->chunk * e->P + i0];
        for (size_t m = 0; m < members; m++) {
            loss[m] = 0.0;
            correct[m] = 0;
        }
        for (size_t row0 = 0; row0 < e->rows; row0 += tile) {
            size_t rows = e->rows - row0 < tile ? e->rows - row0 : tile;
            first_layer_shared(e, wk, i0, members, row0, rows);
            int which = own_layers(e, wk, 1, i0, members, 0, rows);
            devo_logits_view view = logits(e, wk, which, rows);
            for (size_t m = 0; m < members; m++)
                devo_cpu_accumulate_metrics(e->arch, view, m, rows, e->y + row0 * e->width,
                                            &loss[m], &correct[m]);
        }
    }
}

/* Column tiles [t0, t1) of shared (rows, cols) = x (rows, inputs) x packed (inputs, cols). */
static void shared_tiles(void *ctx, size_t part, size_t t0, size_t t1)
{
    (void)part;
    devo_lowrank_eval *e = ctx;
    const devo_layer *layer = &e->arch->layers[0];
    size_t cols = shared_columns(e);
    lr_worker *wk = &e->workers[part];
    for (size_t t = t0; t < t1; t++) {
        size_t c0 = t * TILE, width = cols - c0 < TILE ? cols - c0 : TILE;
        if (wk->gemm) {
            devo_status status =
                devo_bf16_gemm_run(wk->gemm, e->rows, width, layer->inputs, e->x16,
                                   layer->inputs, e->packed16 + c0, cols, e->shared + c0, cols);
            if (wk->status == DEVO_OK) wk->status = status;
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)e->rows, (int)width,
                    (int)layer->inputs, 1.0f, e->x, (int)layer->inputs, e->packed + c0, (int)cols,
                    0.0f, e->shared + c0, (int)cols);
    }
}

/* packed (inputs, units0 + dirs r) = [W_0 | A_1 .. A_dirs], every direction of the population
 * (BF16: packed16, the same rounded). */
static void pack_first_layer(devo_lowrank_eval *e)
{
    const devo_lowrank_population *pop = e->pop;
    const devo_layer *layer = &e->arch->layers[0];
    size_t r = pop->noise->rank, units = layer->units, cols = shared_columns(e);
    for (size_t i = 0; i < layer->inputs; i++) {
        const float *kernel = pop->center + layer->kernel_offset + i * units;
        if (e->packed16) {
            devo_bf16 *row = e->packed16 + i * cols;
            devo_bf16_round_n(kernel, row, units);
            for (size_t d = 0; d < pop->noise->dirs; d++)
                devo_bf16_round_n(devo_es_factor_a(pop->noise, d, 0) + i * r, row + units + d * r,
                                  r);
            continue;
        }
        float *row = e->packed + i * cols;
        memcpy(row, kernel, units * sizeof(float));
        for (size_t d = 0; d < pop->noise->dirs; d++)
            memcpy(row + units + d * r, devo_es_factor_a(pop->noise, d, 0) + i * r,
                   r * sizeof(float));
    }
}

/* Gathers chunk c's samples into worker 0's buffers when a subset is listed (BF16: rounds
 * them into x16). */
static void chunk_samples(devo_lowrank_eval *e, const float *x, const float *y,
                          const size_t *rows, size_t c)
{
    size_t inputs = e->arch->input_dim, s0 = c * e->batch;
    e->x = x + s0 * inputs;
    e->y = y + s0 * e->width;
    if (rows) {
        lr_worker *wk = &e->workers[0];
        for (size_t r = 0; r < e->rows; r++) {
            memcpy(wk->gathered_x + r * inputs, x + rows[s0 + r] * inputs,
                   inputs * sizeof(float));
            memcpy(wk->gathered_y + r * e->width, y + rows[s0 + r] * e->width,
                   e->width * sizeof(float));
        }
        e->x = wk->gathered_x;
        e->y = wk->gathered_y;
    }
    if (e->x16) devo_bf16_round_n(e->x, e->x16, e->rows * inputs);
}

devo_status devo_lowrank_evaluate(devo_lowrank_eval *e, const devo_lowrank_population *pop,
                                  const float *x, const float *y, const size_t *rows,
                                  size_t samples, devo_fitness kind, size_t first, size_t count,
                                  double *fitness)
{
    size_t chunks = (samples + e->batch - 1) / e->batch;
    DEVO_TRY(reserve(e, pop->noise->rank, chunks));
    e->pop = pop;
    e->first = first;
    e->count = count;
    pack_first_layer(e);
    size_t cols = shared_columns(e);
    int previous = devo_blas_threads(1);
    devo_status status = DEVO_OK;
    for (size_t c = 0; status == DEVO_OK && c < chunks; c++) {
        e->chunk = c;
        e->rows = samples - c * e->batch < e->batch ? samples - c * e->batch : e->batch;
        chunk_samples(e, x, y, rows, c);
        status = devo_parallel_for(e->threads, (cols + TILE - 1) / TILE, shared_tiles, e);
        if (status == DEVO_OK)
            status = devo_parallel_for(e->threads, (count + GROUP - 1) / GROUP, evaluate_groups,
                                       e);
    }
    devo_blas_threads(previous);
    for (size_t t = 0; status == DEVO_OK && t < e->threads; t++) // a BF16 GEMM that failed
        status = e->workers[t].status;
    DEVO_TRY(status);
    for (size_t i = first; i < first + count; i++) {
        double loss = 0.0;
        size_t correct = 0;
        for (size_t c = 0; c < chunks; c++) { // chunk order: independent of threads
            loss += e->chunk_loss[c * e->P + i];
            correct += e->chunk_correct[c * e->P + i];
        }
        fitness[i] = kind == DEVO_FITNESS_ACCURACY ? (double)correct / (double)samples
                                                   : -loss / (double)samples;
    }
    return DEVO_OK;
}

/* Threads' work on groups [g0, g1) for devo_lowrank_forward_own. */
static void forward_groups(void *ctx, size_t part, size_t g0, size_t g1)
{
    devo_lowrank_eval *e = ctx;
    lr_worker *wk = &e->workers[part];
    size_t inputs = e->arch->input_dim, outputs = devo_model_output_dim(e->arch);
    for (size_t g = g0; g < g1; g++) {
        size_t i0 = g * GROUP, members = e->count - i0 < GROUP ? e->count - i0 : GROUP;
        memcpy(wk->buffers[0], e->x + i0 * e->rows * inputs,
               members * e->rows * inputs * sizeof(float));
        int which = own_layers(e, wk, 0, i0, members, 0, e->rows);
        devo_logits_view view = logits(e, wk, which, e->rows);
        for (size_t m = 0; m < members; m++)
            devo_cpu_write_outputs(e->arch, view, m, e->rows,
                                   e->out + (i0 + m) * e->rows * outputs);
    }
}

devo_status devo_lowrank_forward_own(devo_lowrank_eval *e, const devo_lowrank_population *pop,
                                     size_t P, const float *x, size_t rows, float *y)
{
    if (rows > e->batch)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "low-rank forward: %zu rows exceed the batch size %zu", rows, e->batch);
    DEVO_TRY(reserve(e, pop->noise->rank, 1));
    e->pop = pop;
    e->x = x;
    e->rows = rows;
    e->count = P;
    e->out = y;
    int previous = devo_blas_threads(1);
    devo_status status = devo_parallel_for(e->threads, (P + GROUP - 1) / GROUP, forward_groups, e);
    devo_blas_threads(previous);
    return status;
}

devo_status devo_lowrank_forward_kept(devo_lowrank_eval **own, size_t *own_rows,
                                      const devo_model *arch, const devo_lowrank_population *pop,
                                      size_t P, const float *x, size_t rows, float *y,
                                      int threads)
{
    if (rows > *own_rows) {
        devo_lowrank_free(*own);
        *own = NULL;
        *own_rows = 0;
        DEVO_TRY(devo_lowrank_create(own, arch, P, rows, threads, DEVO_PRECISION_FP32));
        *own_rows = rows;
    }
    return devo_lowrank_forward_own(*own, pop, P, x, rows, y);
}

void devo_lowrank_individual(const devo_lowrank_population *pop, size_t i, float *dst)
{
    int antithetic = pop->antithetic;
    devo_es_materialise(pop->noise, pop->center, pop->sigma, antithetic ? i / 2 : i,
                        antithetic && i % 2 ? -1.0f : 1.0f, dst);
}
