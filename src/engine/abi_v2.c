/*
 * abi_v2.c - the entry points of devo 0.2, kept so that programs built against its header
 * keep working with this library. Its devo_evolve_options ended before the fields marked
 * "since 0.3" in devo.h (the batched fitness), so the 0.2 symbols (devo_evolve_options_init_v2,
 * devo_fit_evolve_v2, devo_evolver_create_v2, and the unsuffixed devo_evolver_load_state,
 * devo_state_options and devo_evolver_options) read and write only that prefix; devo.h maps
 * the same names to the *_v3 symbols for programs built against it. Also the shared pieces
 * of every older ABI (abi.h).
 */
#include <string.h>

#include "abi.h"

#undef devo_evolve_options_init
#undef devo_fit_evolve
#undef devo_evolver_create
#undef devo_evolver_load_state
#undef devo_state_options
#undef devo_evolver_options

/* How many bytes of devo_evolve_options devo 0.2 had: everything before the first 0.3 field. */
#define V02_OPTIONS_BYTES offsetof(devo_evolve_options, batch_fitness_fn)

_Static_assert(offsetof(devo_evolve_options, batch_fitness_fn) ==
                   offsetof(devo_evolve_options, sigma_final) + sizeof(double),
               "the 0.3 options fields must follow 0.2's last field");

void devo_abi_options_init(void *o, size_t bytes)
{
    if (!o) return;
    devo_evolve_options full;
    devo_evolve_options_init_v3(&full);
    memcpy(o, &full, bytes);
}

const devo_evolve_options *devo_abi_widen(const void *opt, size_t bytes,
                                          devo_evolve_options *full)
{
    if (!opt) return NULL;
    devo_evolve_options_init_v3(full);
    memcpy(full, opt, bytes);
    return full;
}

/* An older program's options out of today's: the prefix it knows. */
static devo_status narrow(devo_status status, const devo_evolve_options *full, void *opt)
{
    if (status == DEVO_OK) memcpy(opt, full, V02_OPTIONS_BYTES);
    return status;
}

DEVO_API void devo_evolve_options_init_v2(void *o);
DEVO_API devo_status devo_fit_evolve_v2(devo_model *m, const float *x, const float *y, size_t n,
                                        const void *opt, devo_history *hist);
DEVO_API devo_status devo_evolver_create_v2(devo_evolver **out, const devo_model *m,
                                            const void *opt);
DEVO_API devo_status devo_evolver_load_state(devo_evolver **out, const char *path,
                                             const void *overrides);
DEVO_API devo_status devo_state_options(const char *path, void *opt);
DEVO_API devo_status devo_evolver_options(const devo_evolver *e, void *opt);

void devo_evolve_options_init_v2(void *o) { devo_abi_options_init(o, V02_OPTIONS_BYTES); }

devo_status devo_fit_evolve_v2(devo_model *m, const float *x, const float *y, size_t n,
                               const void *opt, devo_history *hist)
{
    devo_evolve_options full;
    return devo_fit_evolve_v3(m, x, y, n, devo_abi_widen(opt, V02_OPTIONS_BYTES, &full), hist);
}

devo_status devo_evolver_create_v2(devo_evolver **out, const devo_model *m, const void *opt)
{
    devo_evolve_options full;
    return devo_evolver_create_v3(out, m, devo_abi_widen(opt, V02_OPTIONS_BYTES, &full));
}

devo_status devo_evolver_load_state(devo_evolver **out, const char *path, const void *overrides)
{
    devo_evolve_options full;
    return devo_evolver_load_state_v3(out, path,
                                      devo_abi_widen(overrides, V02_OPTIONS_BYTES, &full));
}

devo_status devo_state_options(const char *path, void *opt)
{
    if (!opt) return devo_state_options_v3(path, NULL);
    devo_evolve_options full;
    return narrow(devo_state_options_v3(path, &full), &full, opt);
}

devo_status devo_evolver_options(const devo_evolver *e, void *opt)
{
    if (!opt) return devo_evolver_options_v3(e, NULL);
    devo_evolve_options full;
    return narrow(devo_evolver_options_v3(e, &full), &full, opt);
}
