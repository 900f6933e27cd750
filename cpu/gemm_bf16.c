/*
 * gemm_bf16.c - BF16 GEMMs through oneDNN's matmul (see gemm_bf16.h).
 * Debian's oneDNN runs its kernels on OpenMP: a matmul spreads over omp_get_max_threads()
 * threads of the calling thread, both when its primitive is made (which fixes the partition)
 * and when it runs. devo calls oneDNN from its own threads, so each call sets the calling
 * thread's OpenMP thread count to the work space's (1 inside evaluation) and puts it back.
 * Row-major a (m, k; lda), b (k, n; ldb), c (m, n; ldc) are oneDNN memory descriptors of
 * dims {rows, cols} and strides {ld, 1}: no transposes, no copies. Each shape keeps its own
 * scratchpad (oneDNN's user mode): its library mode keeps one per OS thread, and devo's
 * threads are made afresh for every parallel part, so it would be allocated (and its pages
 * faulted in) again on every call.
 */
#include "gemm_bf16.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

/* libgomp's, which oneDNN runs on (declared here: no -fopenmp for the rest of devo). */
int omp_get_max_threads(void);
void omp_set_num_threads(int threads);

/* One GEMM shape: its primitive and memory objects whose data handles each call sets. */
typedef struct shape {
    size_t m, n, k, lda, ldb, ldc;
    dnnl_primitive_t primitive;
    dnnl_memory_t a, b, c, scratchpad; /* scratchpad: NULL when the primitive needs none */
} shape;

struct devo_bf16_gemm {
    int threads;
    dnnl_stream_t stream;
    shape *shapes;
    size_t count, capacity;
};

static dnnl_engine_t engine;
static dnnl_status_t engine_status = dnnl_runtime_error;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void make_engine(void)
{
    engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0);
}

devo_status devo_bf16_available(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16) return DEVO_OK;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bf16"))
        return devo_fail(DEVO_ERR_UNSUPPORTED, "cpu device: BF16 needs oneDNN's AVX512_BF16 "
                                               "kernels, which ONEDNN_MAX_CPU_ISA forbids here");
    return devo_fail(DEVO_ERR_UNSUPPORTED, "cpu device: BF16 needs the AVX512_BF16 (or "
                                           "AMX-BF16) instructions, which this CPU lacks");
}

/* A row-major (rows, cols) matrix of type t with row stride ld. */
static dnnl_status_t describe(dnnl_memory_desc_t *md, size_t rows, size_t cols, size_t ld,
                              dnnl_data_type_t t)
{
    dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)cols}, strides = {(dnnl_dim_t)ld, 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, t, strides);
}

/* The primitive descriptor of s's GEMM, made on the calling thread's OpenMP thread count. */
static dnnl_status_t describe_gemm(const shape *s, dnnl_primitive_desc_t *pd,
                                   dnnl_memory_desc_t md[3])
{
    dnnl_matmul_desc_t matmul;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t st = describe(&md[0], s->m, s->k, s->lda, dnnl_bf16);
    if (st == dnnl_success) st = describe(&md[1], s->k, s->n, s->ldb, dnnl_bf16);
    if (st == dnnl_success) st = describe(&md[2], s->m, s->n, s->ldc, dnnl_f32);
    if (st == dnnl_success) st = dnnl_matmul_desc_init(&matmul, &md[0], &md[1], NULL, &md[2]);
    if (st == dnnl_success) st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &matmul, attr, engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

static char kernels[128];
static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;

/* The implementation oneDNN picks for a first-layer shape of one thread's work. */
static void name_kernels(void)
{
    const dnnl_version_t *v = dnnl_version();
    int previous = omp_get_max_threads();
    omp_set_num_threads(1);
    pthread_once(&engine_once, make_engine);
    shape s = {.m = 1024, .n = 256, .k = 784, .lda = 784, .ldb = 256, .ldc = 256};
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t md[3];
    const char *impl = NULL;
    if (engine_status == dnnl_success && describe_gemm(&s, &pd, md) == dnnl_success)
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(kernels, sizeof kernels, "oneDNN %d.%d.%d %s", v->major, v->minor, v->patch,
             impl ? impl : "(no matmul)");
    dnnl_primitive_desc_destroy(pd);
    omp_set_num_threads(previous);
}

const char *devo_bf16_kernels(void)
{
    pthread_once(&kernels_once, name_kernels);
    return kernels;
}

devo_status devo_bf16_gemm_create(devo_bf16_gemm **out, int threads)
{
    pthread_once(&engine_once, make_engine);
    if (engine_status != dnnl_success)
        return devo_fail(DEVO_ERR_BACKEND, "cpu device: oneDNN has no CPU engine (status %d)",
                         (int)engine_status);
    devo_bf16_gemm *g = calloc(1, sizeof *g);
    if (!g) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu device: out of memory");
    g->threads = threads;
    if (dnnl_stream_create(&g->stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        free(g);
        return devo_fail(DEVO_ERR_BACKEND, "cpu device: oneDNN cannot make a stream");
    }
    *out = g;
    return DEVO_OK;
}

/* Frees what s holds (oneDNN's destroys accept NULL). */
static void release_shape(shape *s)
{
    dnnl_primitive_destroy(s->primitive);
    dnnl_memory_destroy(s->a);
    dnnl_memory_destroy(s->b);
    dnnl_memory_destroy(s->c);
    dnnl_memory_destroy(s->scratchpad);
}

void devo_bf16_gemm_free(devo_bf16_gemm *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->count; i++) release_shape(&g->shapes[i]);
    free(g->shapes);
    dnnl_stream_destroy(g->stream);
    free(g);
}

/* Makes s's primitive and memory objects (no data yet). */
static dnnl_status_t make_shape(shape *s)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t md[3];
    dnnl_status_t st = describe_gemm(s, &pd, md);
    if (st == dnnl_success) st = dnnl_primitive_create(&s->primitive, pd);
    const dnnl_memory_desc_t *scratch =
        st == dnnl_success ? dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0) : NULL;
    if (scratch && dnnl_memory_desc_get_size(scratch) > 0)
        st = dnnl_memory_create(&s->scratchpad, scratch, engine, DNNL_MEMORY_ALLOCATE);
    dnnl_primitive_desc_destroy(pd);
    if (st == dnnl_success) st = dnnl_memory_create(&s->a, &md[0], engine, DNNL_MEMORY_NONE);
    if (st == dnnl_success) st = dnnl_memory_create(&s->b, &md[1], engine, DNNL_MEMORY_NONE);
    if (st == dnnl_success) st = dnnl_memory_create(&s->c, &md[2], engine, DNNL_MEMORY_NONE);
    return st;
}

/* The kept shape (m, n, k, lda, ldb, ldc), made on first use. */
static devo_status find_shape(devo_bf16_gemm *g, const shape *want, shape **found)
{
    for (size_t i = 0; i < g->count; i++) {
        shape *s = &g->shapes[i];
        if (s->m == want->m && s->n == want->n && s->k == want->k && s->lda == want->lda &&
            s->ldb == want->ldb && s->ldc == want->ldc) {
            *found = s;
            return DEVO_OK;
        }
    }
    if (g->count == g->capacity) {
        size_t capacity = g->capacity ? 2 * g->capacity : 8;
        shape *grown = realloc(g->shapes, capacity * sizeof *grown);
        if (!grown) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cpu device: out of memory");
        g->shapes = grown;
        g->capacity = capacity;
    }
    shape *s = &g->shapes[g->count];
    *s = *want;
    s->primitive = NULL;
    s->a = s->b = s->c = s->scratchpad = NULL;
    dnnl_status_t st = make_shape(s);
    if (st != dnnl_success) {
        release_shape(s);
        return devo_fail(DEVO_ERR_BACKEND,
                         "cpu device: oneDNN cannot make a BF16 matmul of %zu x %zu x %zu "
                         "(status %d)", want->m, want->n, want->k, (int)st);
    }
    g->count++;
    *found = s;
    return DEVO_OK;
}

devo_status devo_bf16_gemm_run(devo_bf16_gemm *g, size_t m, size_t n, size_t k,
                               const devo_bf16 *a, size_t lda, const devo_bf16 *b, size_t ldb,
                               float *c, size_t ldc)
{
    int previous = omp_get_max_threads();
    omp_set_num_threads(g->threads);
    shape want = {.m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc}, *s = NULL;
    devo_status status = find_shape(g, &want, &s);
    dnnl_status_t st = dnnl_success;
    if (status == DEVO_OK) {
        // oneDNN reads a and b only; its handles are not const
        st = dnnl_memory_set_data_handle(s->a, (void *)a);
        if (st == dnnl_success) st = dnnl_memory_set_data_handle(s->b, (void *)b);
        if (st == dnnl_success) st = dnnl_memory_set_data_handle(s->c, c);
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, s->a},
                                   {DNNL_ARG_WEIGHTS, s->b},
                                   {DNNL_ARG_DST, s->c},
                                   {DNNL_ARG_SCRATCHPAD, s->scratchpad}};
        int count = s->scratchpad ? 4 : 3;
        if (st == dnnl_success) st = dnnl_primitive_execute(s->primitive, g->stream, count, args);
        if (st == dnnl_success) st = dnnl_stream_wait(g->stream);
        if (st != dnnl_success)
            status = devo_fail(DEVO_ERR_BACKEND, "cpu device: oneDNN's BF16 matmul of %zu x %zu "
                                                 "x %zu failed (status %d)", m, n, k, (int)st);
    }
    omp_set_num_threads(previous);
    return status;
}
