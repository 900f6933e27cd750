/*
 * philox_lanes.h - Philox4x32-10 on many counters at once: the same blocks as
 * devo_rng_block (rng.h) for DEVO_PHILOX_LANES consecutive block indices of one stream,
 * individual and generation, in structure-of-arrays form. Three versions, all bitwise
 * equal: plain C (any x86-64, and the reference), AVX2 and AVX-512. The vector ones
 * take the high and low halves of the 32 x 32 -> 64-bit products from the even- and
 * odd-lane multiplies (vpmuludq) and blend them; left to itself the compiler uses a full
 * 64-bit multiply (vpmullq, three times slower) or does not vectorise at all. Always
 * inlined: callers are compiled for the matching instruction set (variation.c,
 * normals.c). Also the normals of such lanes, the same way.
 */
#ifndef DEVO_PHILOX_LANES_H
#define DEVO_PHILOX_LANES_H

#include <stdint.h>

#include "rng.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define DEVO_PHILOX_LANES 32
#define DEVO_PHILOX_M0 0xD2511F53u
#define DEVO_PHILOX_M1 0xCD9E8D57u
#define DEVO_PHILOX_W0 0x9E3779B9u
#define DEVO_PHILOX_W1 0xBB67AE85u

/* out[q][i] = word q of devo_rng_block(seed, stream, generation, individual, first + i),
 * for i in [0, DEVO_PHILOX_LANES); plain C. */
static inline __attribute__((always_inline)) void
devo_philox_lanes(uint64_t seed, devo_rng_stream stream, uint32_t generation,
                  uint32_t individual, uint32_t first, uint32_t out[4][DEVO_PHILOX_LANES])
{
    for (uint32_t i = 0; i < DEVO_PHILOX_LANES; i++) {
        uint32_t ctr[4] = {first + i, individual, generation, (uint32_t)stream};
        uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
        devo_philox_block b = devo_philox4x32_10(ctr, key);
        for (int q = 0; q < 4; q++) out[q][i] = b.w[q];
    }
}

#if defined(__x86_64__)

/* The AVX2 and AVX-512 versions: one body over a vector type V of N 32-bit lanes. */
#define DEVO_PHILOX_VECTOR_BODY(V, N, iota, set1, add, mul_even, srli64, slli64, blend_odd, xor3, \
                                store)                                                         \
    for (uint32_t v = 0; v < DEVO_PHILOX_LANES / (N); v++) {                                   \
        V m0 = set1((int)DEVO_PHILOX_M0), m1 = set1((int)DEVO_PHILOX_M1);                      \
        V c0 = add(set1((int)(first + v * (N))), iota), c1 = set1((int)individual),            \
          c2 = set1((int)generation),                                                          \
          c3 = set1((int)stream);                                                              \
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);                             \
        for (int round = 0; round < 10; round++) {                                             \
            /* even lanes' products in place, odd lanes' products shifted down by a lane */    \
            V e0 = mul_even(c0, m0), o0 = mul_even(srli64(c0, 32), m0);                        \
            V e1 = mul_even(c2, m1), o1 = mul_even(srli64(c2, 32), m1);                        \
            V hi0 = blend_odd(srli64(e0, 32), o0), lo0 = blend_odd(e0, slli64(o0, 32));        \
            V hi1 = blend_odd(srli64(e1, 32), o1), lo1 = blend_odd(e1, slli64(o1, 32));        \
            c0 = xor3(hi1, c1, set1((int)k0));                                                 \
            c1 = lo1;                                                                          \
            c2 = xor3(hi0, c3, set1((int)k1));                                                 \
            c3 = lo0;                                                                          \
            k0 += DEVO_PHILOX_W0;                                                              \
            k1 += DEVO_PHILOX_W1;                                                              \
        }                                                                                      \
        store(out[0] + v * (N), c0);                                                           \
        store(out[1] + v * (N), c1);                                                           \
        store(out[2] + v * (N), c2);                                                           \
        store(out[3] + v * (N), c3);                                                           \
    }

#define DEVO_AVX2_BLEND_ODD(a, b) _mm256_blend_epi32((a), (b), 0xAA)
#define DEVO_AVX2_XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256((a), (b)), (c))
#define DEVO_AVX2_STORE(p, x) _mm256_storeu_si256((__m256i *)(p), (x))

/* devo_philox_lanes with AVX2. */
static inline __attribute__((always_inline, target("avx2"))) void
devo_philox_lanes_avx2(uint64_t seed, devo_rng_stream stream, uint32_t generation,
                       uint32_t individual, uint32_t first, uint32_t out[4][DEVO_PHILOX_LANES])
{
    DEVO_PHILOX_VECTOR_BODY(__m256i, 8, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                            _mm256_set1_epi32, _mm256_add_epi32, _mm256_mul_epu32,
                            _mm256_srli_epi64, _mm256_slli_epi64, DEVO_AVX2_BLEND_ODD,
                            DEVO_AVX2_XOR3, DEVO_AVX2_STORE)
}

#define DEVO_AVX512_BLEND_ODD(a, b) _mm512_mask_blend_epi32((__mmask16)0xAAAA, (a), (b))
#define DEVO_AVX512_XOR3(a, b, c) _mm512_ternarylogic_epi32((a), (b), (c), 0x96)
#define DEVO_AVX512_STORE(p, x) _mm512_storeu_si512((void *)(p), (x))

/* devo_philox_lanes with AVX-512. */
static inline __attribute__((always_inline, target("avx512f"))) void
devo_philox_lanes_avx512(uint64_t seed, devo_rng_stream stream, uint32_t generation,
                         uint32_t individual, uint32_t first,
                         uint32_t out[4][DEVO_PHILOX_LANES])
{
    DEVO_PHILOX_VECTOR_BODY(__m512i, 16,
                            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32, _mm512_add_epi32, _mm512_mul_epu32,
                            _mm512_srli_epi64, _mm512_slli_epi64, DEVO_AVX512_BLEND_ODD,
                            DEVO_AVX512_XOR3, DEVO_AVX512_STORE)
}

#endif /* __x86_64__ */

/* normal[q][b] = normal q of devo_block_normals of lane b of words (rng.h's own log and
 * sincos: integer operations, fmaf and exactly rounded float operations), for all lanes in
 * loops that the compiler vectorises for the calling kernel's instruction set, bitwise the
 * scalar header's. The caller's file needs -fno-math-errno for sqrtf to vectorise. */
static inline __attribute__((always_inline)) void
devo_normal_lanes(const uint32_t words[4][DEVO_PHILOX_LANES], float normal[4][DEVO_PHILOX_LANES])
{
    for (unsigned pair = 0; pair < 2; pair++)
        for (unsigned b = 0; b < DEVO_PHILOX_LANES; b++)
            devo_normal_pair(words[2 * pair][b], words[2 * pair + 1][b], &normal[2 * pair][b],
                             &normal[2 * pair + 1][b]);
}

#endif /* DEVO_PHILOX_LANES_H */
