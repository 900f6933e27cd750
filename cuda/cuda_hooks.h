/*
 * cuda_hooks.h - what the CUDA backend offers its tests beyond the backend
 * table (C linkage, usable from C and C++). Not installed.
 */
#ifndef DEVO_CUDA_HOOKS_H
#define DEVO_CUDA_HOOKS_H

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

#ifdef __cplusplus
}
#endif

#endif /* DEVO_CUDA_HOOKS_H */
