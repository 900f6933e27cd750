/*
 * blas.c - OpenBLAS kernels chosen by the processor's features, and its thread count
 * (see blas.h).
 * A DYNAMIC_ARCH OpenBLAS picks its core when it is loaded, before any constructor of
 * libdevo runs, and reads OPENBLAS_CORETYPE only then; gotoblas_dynamic_quit() and
 * gotoblas_dynamic_init() (exported by such builds, weak here so any OpenBLAS links)
 * let devo run that choice again with the core type it wants.
 */
#include "blas.h"
#include "gemm_bf16.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *openblas_get_corename(void);
char *openblas_get_config(void);
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

/* The ISA of OpenBLAS 0.3's x86-64 core types, as openblas_get_corename() spells them. */
static const struct {
    const char *name;
    devo_cpu_isa isa;
} cores[] = {
    {"Katmai", DEVO_ISA_GENERIC},       {"Coppermine", DEVO_ISA_GENERIC},
    {"Northwood", DEVO_ISA_GENERIC},    {"Prescott", DEVO_ISA_GENERIC},
    {"Banias", DEVO_ISA_GENERIC},       {"Atom", DEVO_ISA_GENERIC},
    {"Core2", DEVO_ISA_GENERIC},        {"Penryn", DEVO_ISA_GENERIC},
    {"Dunnington", DEVO_ISA_GENERIC},   {"Nehalem", DEVO_ISA_GENERIC},
    {"Athlon", DEVO_ISA_GENERIC},       {"Opteron", DEVO_ISA_GENERIC},
    {"Opteron_SSE3", DEVO_ISA_GENERIC}, {"Barcelona", DEVO_ISA_GENERIC},
    {"Nano", DEVO_ISA_GENERIC},         {"Bobcat", DEVO_ISA_GENERIC},
    {"Sandybridge", DEVO_ISA_AVX},      {"Bulldozer", DEVO_ISA_AVX},
    {"Piledriver", DEVO_ISA_AVX},       {"Steamroller", DEVO_ISA_AVX},
    {"Excavator", DEVO_ISA_AVX},        {"Haswell", DEVO_ISA_AVX2},
    {"Zen", DEVO_ISA_AVX2},             {"SkylakeX", DEVO_ISA_AVX512},
    {"Cooperlake", DEVO_ISA_AVX512},    {"SapphireRapids", DEVO_ISA_AVX512},
};

/* The core devo forces for each ISA (NULL: nothing wider than the generic kernels). */
static const char *const core_for_isa[] = {NULL, "Sandybridge", "Haswell", "SkylakeX"};

const char *devo_blas_pick_core(const char *reported, devo_cpu_isa isa)
{
    if (!reported) return NULL;
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (strcmp(cores[i].name, reported) == 0)
            return cores[i].isa < isa ? core_for_isa[isa] : NULL;
    return NULL;
}

static pthread_once_t selected = PTHREAD_ONCE_INIT;
static char kernels[96];

static void select_once(void)
{
    const char *forced = NULL;
    if (!getenv("OPENBLAS_CORETYPE") && gotoblas_dynamic_init && gotoblas_dynamic_quit) {
        gotoblas_dynamic_init(); // a no-op once OpenBLAS's own constructor ran
        forced = devo_blas_pick_core(openblas_get_corename(), devo_cpu_isa_detect());
        if (forced && setenv("OPENBLAS_CORETYPE", forced, 1) != 0) forced = NULL;
        if (forced) {
            gotoblas_dynamic_quit();
            gotoblas_dynamic_init();
            unsetenv("OPENBLAS_CORETYPE");
        }
    }
    const char *config = openblas_get_config(); // "OpenBLAS 0.3.21 NO_LAPACKE ..."
    int length = 0;
    sscanf(config, "OpenBLAS %*s%n", &length);
    snprintf(kernels, sizeof kernels, "%.*s %s%s", length ? length : 8,
             length ? config : "OpenBLAS", openblas_get_corename(),
             forced ? " (chosen by CPU features)" : "");
}

__attribute__((constructor)) void devo_blas_select(void)
{
    pthread_once(&selected, select_once);
}

int devo_blas_threads(int threads)
{
    int previous = openblas_get_num_threads();
    openblas_set_num_threads(threads);
    return previous;
}

const char *devo_blas_kernels(void)
{
    devo_blas_select();
    return kernels;
}

const char *devo_cpu_gemm_kernels(devo_precision precision)
{
    return precision == DEVO_PRECISION_BF16 ? devo_bf16_kernels() : devo_blas_kernels();
}
