/*
 * normals.c - runs of normals on rng.h's layout (see normals.h), in tiles of 128:
 * 32 blocks drawn at once by philox_lanes.h and their Box-Muller by devo_normal_lanes, one
 * kernel each for AVX-512, AVX2 and plain x86-64, chosen by the CPU's features.
 */
#include "normals.h"

#include "philox_lanes.h"

#define TILE (4 * DEVO_PHILOX_LANES) /* normals per kernel call */

/* One tile: out (n <= TILE) = normals [tile * TILE, tile * TILE + n) of the run. */
typedef void (*normals_kernel)(float *out, unsigned n, uint64_t seed, devo_rng_stream stream,
                               uint32_t generation, uint32_t individual, uint32_t tile);

#define DEVO_NORMALS_KERNEL(name, isa_attribute, lanes)                                        \
    static isa_attribute void name(float *out, unsigned n, uint64_t seed,                      \
                                   devo_rng_stream stream, uint32_t generation,                \
                                   uint32_t individual, uint32_t tile)                         \
    {                                                                                          \
        uint32_t words[4][DEVO_PHILOX_LANES];                                                  \
        float normal[4][DEVO_PHILOX_LANES];                                                    \
        lanes(seed, stream, generation, individual, tile * DEVO_PHILOX_LANES, words);          \
        devo_normal_lanes(words, normal);                                                      \
        for (unsigned e = 0; e < n; e++) out[e] = normal[e % 4][e / 4];                        \
    }

DEVO_NORMALS_KERNEL(normals_generic, , devo_philox_lanes)
#if defined(__x86_64__)
DEVO_NORMALS_KERNEL(normals_avx2, __attribute__((target("avx2,fma"))), devo_philox_lanes_avx2)
DEVO_NORMALS_KERNEL(normals_avx512,
                    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))),
                    devo_philox_lanes_avx512)
#endif

void devo_cpu_normals_isa(devo_cpu_isa isa, float *out, size_t n, uint64_t seed,
                          devo_rng_stream stream, uint32_t generation, uint32_t individual)
{
    normals_kernel kernel = normals_generic;
#if defined(__x86_64__)
    isa = devo_cpu_isa_cap(isa);
    if (isa >= DEVO_ISA_AVX512) kernel = normals_avx512;
    else if (isa >= DEVO_ISA_AVX2) kernel = normals_avx2;
#endif
    for (size_t base = 0; base < n; base += TILE)
        kernel(out + base, n - base < TILE ? (unsigned)(n - base) : TILE, seed, stream,
               generation, individual, (uint32_t)(base / TILE));
}

void devo_cpu_normals(float *out, size_t n, uint64_t seed, devo_rng_stream stream,
                      uint32_t generation, uint32_t individual)
{
    devo_cpu_normals_isa(DEVO_ISA_AVX512, out, n, seed, stream, generation, individual);
}
