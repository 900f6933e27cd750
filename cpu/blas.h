/*
 * blas.h - which OpenBLAS kernels the CPU backend's GEMMs run. A distribution's
 * OpenBLAS picks its kernels from a table of CPU models; on a model newer than the
 * table it falls back to its generic SSE3 ("Prescott") kernels, about 6x slower than
 * the AVX-512 ones on the same processor. devo picks by the processor's features
 * instead, once, when the library is loaded; a user's OPENBLAS_CORETYPE always wins.
 * Also how many threads OpenBLAS runs: devo's GEMMs run on one, inside devo's own threads.
 */
#ifndef DEVO_BLAS_CPU_H
#define DEVO_BLAS_CPU_H

#include "devo.h"
#include "isa.h"

/* The OpenBLAS core type to force when OpenBLAS reports core `reported` on a processor
 * with ISA `isa`: the core for the widest ISA when the reported core uses a narrower one,
 * else NULL (keep OpenBLAS's choice, also for a core name this table does not know). */
const char *devo_blas_pick_core(const char *reported, devo_cpu_isa isa);

/* Applies devo_blas_pick_core to the running OpenBLAS unless OPENBLAS_CORETYPE is set or
 * this OpenBLAS cannot switch cores (not a DYNAMIC_ARCH build). Runs once per process
 * (at load, and again as a no-op from the CPU backend, which links this file in). */
void devo_blas_select(void);

/* Sets OpenBLAS's thread count for the GEMMs that follow and returns the previous one, for a
 * second call to restore. A backend runs its GEMMs on one OpenBLAS thread, inside devo's own
 * threads: a pthread OpenBLAS's workers busy-wait with sched_yield for a while after every
 * multi-threaded GEMM, on the cores devo's threads need next. Multi-threaded: the hardware
 * ceiling (devo bench), and one model on many samples (devo_model_predict and _evaluate). */
int devo_blas_threads(int threads);

/* The kernels the CPU GEMMs run, e.g. "OpenBLAS 0.3.21 SkylakeX". */
const char *devo_blas_kernels(void);

/* The kernels the CPU device's GEMMs run in `precision`: devo_blas_kernels(), or in BF16
 * gemm_bf16.h's devo_bf16_kernels() (e.g. "oneDNN 2.6.3 brg:avx512_core_bf16"). */
const char *devo_cpu_gemm_kernels(devo_precision precision);

#endif /* DEVO_BLAS_CPU_H */
