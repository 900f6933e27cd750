/*
 * abi_v1.c - the entry points of devo 0.1, kept so that programs built against
 * its header keep working with this library. Their structs ended before the
 * fields marked "since 0.2" in devo.h, so the 0.1 symbols (devo_fit_evolve,
 * devo_evolver_create, devo_evolve_options_init, devo_evolver_stats,
 * devo_history_free) read and write only those prefixes and run the GA; devo.h
 * maps the same names to the newest symbols for programs built against it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"

#undef devo_evolve_options_init
#undef devo_fit_evolve
#undef devo_evolver_create
#undef devo_evolver_stats
#undef devo_history_free

/* How many bytes of each struct devo 0.1 had: everything before the first 0.2 field. */
#define V01_OPTIONS_BYTES offsetof(devo_evolve_options, strategy)
#define V01_STATS_BYTES offsetof(devo_generation_stats, center)
#define V01_HISTORY_BYTES offsetof(devo_history, center)

_Static_assert(offsetof(devo_evolve_options, strategy) ==
                   offsetof(devo_evolve_options, precision) + sizeof(devo_precision),
               "the 0.2 options fields must follow 0.1's last field");
_Static_assert(offsetof(devo_generation_stats, center) ==
                   offsetof(devo_generation_stats, seconds) + sizeof(double),
               "the 0.2 statistics fields must follow 0.1's last field");
_Static_assert(offsetof(devo_history, center) == offsetof(devo_history, seconds) + sizeof(double *),
               "the 0.2 history fields must follow 0.1's last field");

DEVO_API void devo_evolve_options_init(void *o);
DEVO_API devo_status devo_fit_evolve(devo_model *m, const float *x, const float *y, size_t n,
                                     const void *opt, void *hist);
DEVO_API devo_status devo_evolver_create(devo_evolver **out, const devo_model *m,
                                         const void *opt);
DEVO_API devo_status devo_evolver_stats(const devo_evolver *e, void *stats);
DEVO_API void devo_history_free(void *h);

void devo_evolve_options_init(void *o) { devo_abi_options_init(o, V01_OPTIONS_BYTES); }

void devo_history_free(void *h)
{
    if (!h) return;
    devo_history full;
    memset(&full, 0, sizeof full);
    memcpy(&full, h, V01_HISTORY_BYTES);
    devo_history_free_v2(&full);
    memset(h, 0, V01_HISTORY_BYTES);
}

devo_status devo_fit_evolve(devo_model *m, const float *x, const float *y, size_t n,
                            const void *opt, void *hist)
{
    devo_evolve_options full;
    devo_history wide;
    memset(&wide, 0, sizeof wide);
    if (hist) devo_history_free(hist); // the contract: a previous history's arrays are freed
    const devo_evolve_options *o = devo_abi_widen(opt, V01_OPTIONS_BYTES, &full);
    devo_status status = devo_fit_evolve_v3(m, x, y, n, o, hist ? &wide : NULL);
    if (hist) {
        free(wide.center);
        wide.center = NULL;
        memcpy(hist, &wide, V01_HISTORY_BYTES);
    }
    return status;
}

devo_status devo_evolver_create(devo_evolver **out, const devo_model *m, const void *opt)
{
    devo_evolve_options full;
    return devo_evolver_create_v3(out, m, devo_abi_widen(opt, V01_OPTIONS_BYTES, &full));
}

devo_status devo_evolver_stats(const devo_evolver *e, void *stats)
{
    if (!stats) return devo_evolver_stats_v2(e, NULL);
    devo_generation_stats full;
    devo_status status = devo_evolver_stats_v2(e, &full);
    if (status == DEVO_OK) memcpy(stats, &full, V01_STATS_BYTES);
    return status;
}
