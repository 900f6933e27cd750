/*
 * cuda_es_eval.cu - an ES population's fitness on a CUDA device (es_eval.h).
 * Full rank: the individuals the host materialised are loaded into a CUDA
 * backend context of P slots (load_population) and evaluated there by the
 * GA's kernels (evaluate); the centre through slot 0 the same way. Low rank:
 * the factors through cuda_lowrank.cu, the centre too. Either keeps its
 * stream, work space and the bound data on the device for the whole run.
 */
#include <cstdlib>

#include "cuda_backend.h"

extern "C" {
#include "cuda_lowrank.h"
#include "error.h"
#include "es_eval.h"
}

struct cuda_es_eval {
    devo_fitness fitness;
    const devo_backend_i *full; /* full rank: the CUDA backend */
    void *full_ctx;
    devo_cuda_lowrank *lowrank; /* low rank */
};

static void es_eval_destroy(void *ctx)
{
    cuda_es_eval *e = static_cast<cuda_es_eval *>(ctx);
    if (!e) return;
    if (e->full) e->full->destroy(e->full_ctx);
    devo_cuda_lowrank_free(e->lowrank);
    free(e);
}

static devo_status es_eval_create(void **ctx, const devo_backend_config *cfg, size_t dirs,
                                  size_t rank)
{
    cuda_es_eval *e = static_cast<cuda_es_eval *>(calloc(1, sizeof(cuda_es_eval)));
    if (!e) return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "cuda es evaluator: out of memory");
    e->fitness = cfg->fitness;
    devo_status status = DEVO_OK;
    if (rank) {
        status = devo_cuda_lowrank_create(&e->lowrank, cfg->arch, cfg->population, dirs, rank,
                                          cfg->batch_size, cfg->device);
    } else {
        devo_backend_config full = *cfg;
        full.options = nullptr;
        status = devo_backend_cuda()->create(&e->full_ctx, &full);
        if (status == DEVO_OK) e->full = devo_backend_cuda();
    }
    if (status != DEVO_OK) {
        es_eval_destroy(e);
        return status;
    }
    *ctx = e;
    return DEVO_OK;
}

static devo_status es_eval_bind_data(void *ctx, const float *x, const float *y, size_t n)
{
    cuda_es_eval *e = static_cast<cuda_es_eval *>(ctx);
    if (e->lowrank) return devo_cuda_lowrank_bind(e->lowrank, x, y, n);
    return e->full->bind_data(e->full_ctx, x, y, n);
}

/* Full rank: w (count, D) into slots [first, first + count), evaluated there. */
static devo_status evaluate_loaded(cuda_es_eval *e, const float *w, const size_t *rows,
                                   size_t samples, size_t first, size_t count, double *fitness)
{
    if (count == 0) return DEVO_OK;
    DEVO_TRY(e->full->load_population(e->full_ctx, w, first, count));
    return e->full->evaluate(e->full_ctx, rows, samples, first, count, fitness);
}

static devo_status es_eval_evaluate(void *ctx, const devo_lowrank_population *pop,
                                    const float *individuals, const size_t *rows, size_t samples,
                                    size_t first, size_t count, double *fitness)
{
    cuda_es_eval *e = static_cast<cuda_es_eval *>(ctx);
    if (e->lowrank)
        return devo_cuda_lowrank_evaluate(e->lowrank, pop, rows, samples, e->fitness, first,
                                          count, fitness);
    return evaluate_loaded(e, individuals, rows, samples, first, count, fitness);
}

static devo_status es_eval_evaluate_center(void *ctx, const devo_lowrank_population *pop,
                                           const size_t *rows, size_t samples, double *fitness)
{
    cuda_es_eval *e = static_cast<cuda_es_eval *>(ctx);
    if (e->lowrank)
        return devo_cuda_lowrank_evaluate_center(e->lowrank, pop->center, rows, samples,
                                                 e->fitness, fitness);
    // Slot 0 is reloaded by the population's next evaluation, which loads its slots first.
    return evaluate_loaded(e, pop->center, rows, samples, 0, 1, fitness);
}

extern "C" const devo_es_eval_i *devo_es_eval_cuda(void)
{
    static const devo_es_eval_i cuda = {
        "cuda",
        es_eval_create,
        es_eval_destroy,
        es_eval_bind_data,
        es_eval_evaluate,
        es_eval_evaluate_center,
    };
    return &cuda;
}
