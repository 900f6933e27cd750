/*
 * isa.h - the widest x86-64 vector instruction set this processor (and its OS)
 * runs, for the choices made by features rather than by model: OpenBLAS's kernels
 * (blas.c) and the random-draw kernels (variation.c, normals.c).
 */
#ifndef DEVO_CPU_ISA_H
#define DEVO_CPU_ISA_H

typedef enum devo_cpu_isa {
    DEVO_ISA_GENERIC = 0, /* SSE2/SSE3: any x86-64 */
    DEVO_ISA_AVX = 1,
    DEVO_ISA_AVX2 = 2,    /* AVX2 and FMA */
    DEVO_ISA_AVX512 = 3   /* AVX-512 F, BW, DQ, VL */
} devo_cpu_isa;

/* This processor's widest ISA (DEVO_ISA_GENERIC off x86-64). */
devo_cpu_isa devo_cpu_isa_detect(void);

/* isa, capped at devo_cpu_isa_detect() (detected once per process): the widest kernel of at
 * most `isa` that this processor runs. */
devo_cpu_isa devo_cpu_isa_cap(devo_cpu_isa isa);

#endif /* DEVO_CPU_ISA_H */
