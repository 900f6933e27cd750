/*
 * cuda_hooks.h - what the CUDA backend offers its tests beyond the backend
 * table (C linkage, usable from C and C++). Not installed.
 */
#ifndef DEVO_CUDA_HOOKS_H
#define DEVO_CUDA_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "devo.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks 0..count-1 of one stream drawn on the device twice: through cuRAND's
 * curand_init + curand4 with rng.h's documented mapping (via_init) and through
 * the backend's own draw (direct). Each output is a host array of 4 * count words. */
devo_status devo_cuda_philox_blocks(uint64_t seed, devo_rng_stream stream, uint32_t generation,
                                    uint32_t individual, uint32_t count, uint32_t *via_init,
                                    uint32_t *direct);

/* Tests only: contexts created from now on (full-rank and low-rank) evaluate at most `samples`
 * samples per GPU chunk (whole batches, at least one: devo_cuda_capped_chunk), so tests on a
 * few thousand samples cover sums over several chunks and a partial last one. 0, the default,
 * removes the cap. Set it between runs, not while another thread creates a context. */
void devo_cuda_set_chunk_cap(size_t samples);

/* Tests only: what the epilogue probe (cuda_epilogue.cu) let the last full-rank context made
 * fuse into its GEMMs, in one line (empty before any). */
void devo_cuda_epilogue_verdict(char *out, size_t size);

/* Tests only: how many GEMMs ran with a fused cuBLASLt epilogue since the process began. */
uint64_t devo_cuda_fused_gemms(void);

/* Tests only: how many times the CUDA device's calls have blocked the host until the GPU's
 * work was done, since the process began (every context; a GA generation blocks once). */
uint64_t devo_cuda_waits(void);

#ifdef __cplusplus
}
#endif

#endif /* DEVO_CUDA_HOOKS_H */
