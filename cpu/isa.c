/*
 * isa.c - devo_cpu_isa_detect and devo_cpu_isa_cap (see isa.h), from the compiler's cpuid
 * support, which also checks that the OS saves the wide registers.
 */
#include "isa.h"

#include <pthread.h>

devo_cpu_isa devo_cpu_isa_detect(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return DEVO_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return DEVO_ISA_AVX2;
    if (__builtin_cpu_supports("avx")) return DEVO_ISA_AVX;
#endif
    return DEVO_ISA_GENERIC;
}

static devo_cpu_isa detected;
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

static void detect(void)
{
    detected = devo_cpu_isa_detect();
}

devo_cpu_isa devo_cpu_isa_cap(devo_cpu_isa isa)
{
    pthread_once(&detect_once, detect);
    return isa > detected ? detected : isa;
}
