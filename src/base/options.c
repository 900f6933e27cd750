/*
 * options.c - the defaults of devo_evolve_options (deepevolution's), their
 * validation, and whether CUDA can run them.
 */
#include "options.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "error.h"

void devo_evolve_options_init(devo_evolve_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->max_generations = 100;
    o->population = 16;
    o->top_k = 4;
    o->mutation_rate = 0.2;
    o->mutation_std = 0.03;
    o->init_std = 0.03;
    o->verbose = 1;
    o->fitness = DEVO_FITNESS_NEG_LOSS;
    o->batch_size = 1024;
    o->fitness_samples = 0;
    o->seed = 0;
    o->backend = DEVO_BACKEND_AUTO;
    o->threads = 0;
    o->precision = DEVO_PRECISION_FP32;
}

/* A standard deviation the backends use as a float: finite in float precision, >= 0. */
static devo_status check_std(double value, const char *name, const char *fn)
{
    if (!isfinite(value) || value < 0.0 || value > FLT_MAX)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: %s must be >= 0 and finite as a float (<= %g; got %g)", fn, name,
                         (double)FLT_MAX, value);
    return DEVO_OK;
}

devo_status devo_options_check(const devo_evolve_options *o, const char *fn)
{
    if (o->population < 2 || o->population > UINT32_MAX)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: population must be in [2, 2^32) (got %zu)", fn, o->population);
    if (o->top_k == 0 || o->top_k > o->population)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: top_k must be in [1, population = %zu] (got %zu)", fn,
                         o->population, o->top_k);
    if (o->max_generations >= UINT32_MAX)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: max_generations must be < 2^32 - 1", fn);
    if (!isfinite(o->mutation_rate) || o->mutation_rate < 0.0 || o->mutation_rate > 1.0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: mutation_rate must be in [0, 1] (got %g)",
                         fn, o->mutation_rate);
    DEVO_TRY(check_std(o->mutation_std, "mutation_std", fn));
    DEVO_TRY(check_std(o->init_std, "init_std", fn));
    if (o->verbose < 0 || o->verbose > 2)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: verbose must be 0, 1 or 2 (got %d)", fn,
                         o->verbose);
    if ((unsigned)o->fitness > DEVO_FITNESS_ACCURACY)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: unknown fitness %d", fn, (int)o->fitness);
    if (o->batch_size == 0 || o->batch_size > (1u << 24))
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: batch_size must be in [1, 2^24] (got %zu)",
                         fn, o->batch_size);
    if ((unsigned)o->backend > DEVO_BACKEND_CUDA)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: unknown backend %d", fn, (int)o->backend);
    if (o->threads < 0)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: threads must be >= 0 (got %d)", fn,
                         o->threads);
    if ((unsigned)o->precision > DEVO_PRECISION_BF16)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: unknown precision %d", fn,
                         (int)o->precision);
    if (o->fitness_fn && o->batch_fitness_fn)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: fitness_fn and batch_fitness_fn are both set; give one", fn);
    return DEVO_OK;
}

int devo_options_custom_fitness(const devo_evolve_options *o)
{
    return o->fitness_fn != NULL || o->batch_fitness_fn != NULL;
}

int devo_backend_available(devo_backend backend)
{
    switch (backend) {
    case DEVO_BACKEND_AUTO:
    case DEVO_BACKEND_CPU: return 1;
    case DEVO_BACKEND_CUDA: return devo_device_cuda() != NULL && devo_cuda_device_count() > 0;
    }
    return 0;
}

devo_status devo_options_resolve_backend(const devo_evolve_options *o, devo_backend *out)
{
    if (o->backend == DEVO_BACKEND_CPU ||
        (o->backend == DEVO_BACKEND_AUTO && !devo_backend_available(DEVO_BACKEND_CUDA))) {
        *out = DEVO_BACKEND_CPU;
        return DEVO_OK;
    }
    if (devo_device_cuda() == NULL)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "backend CUDA: devo was built without CUDA");
    if (devo_cuda_device_count() <= 0)
        return devo_fail(DEVO_ERR_UNSUPPORTED, "backend CUDA: no CUDA device is present");
    *out = DEVO_BACKEND_CUDA;
    return DEVO_OK;
}

devo_status devo_options_device_table(const devo_evolve_options *o, const devo_device_i **out)
{
    devo_backend where = DEVO_BACKEND_CPU;
    DEVO_TRY(devo_options_resolve_backend(o, &where));
    *out = where == DEVO_BACKEND_CUDA ? devo_device_cuda() : devo_device_cpu();
    return DEVO_OK;
}

static int cuda_device = 0;

int devo_options_device(void) { return cuda_device; }

void devo_options_set_device(int device) { cuda_device = device; }
