/*
 * rng.h - Philox4x32-10 and the one counter layout every random draw of devo
 * uses, so that a run's draws depend on its seed alone: never on thread count,
 * evaluation order or backend. Header-only; compiles as C11 and as CUDA C
 * (the CUDA backend draws the same blocks with cuRAND's Philox device API).
 *
 * Key: the 64-bit seed, key[0] = low 32 bits, key[1] = high 32 bits.
 * Counter (four 32-bit words):
 *   ctr[0]  block index inside the stream (what a block covers depends on the stream)
 *   ctr[1]  individual: the population slot being made (0 where no individual applies)
 *   ctr[2]  generation: 0 for the first population, g for the children made after generation g
 *   ctr[3]  stream tag, one of devo_rng_stream
 * The same block in cuRAND: curand_init(seed, ((uint64)tag << 32) | generation,
 * 4 * (((uint64)individual << 32) | block), &state), then curand4(&state), for individual
 * < 2^30 only: the offset counts 32-bit draws, so 4 * (individual << 32) overflows 64 bits
 * from 2^30 on and loses individual's top two bits. The CUDA backend therefore never calls
 * curand_init: it evaluates curand_Philox4x32_10 on the counter above directly, which holds
 * for every individual the counter word carries (populations below 2^32, as options.c
 * requires; the CUDA backend's own limit, cuBLAS's int dimensions, is lower still).
 *
 * Streams and what one block (four words w0..w3) gives:
 *   INIT_NOISE   block e/4: four N(0,1) for elements 4b..4b+3 (first population)
 *   CROSSOVER    block e/128: 128 bits, bit (e%32) of word (e/32)%4; set = take parent i
 *   MUTATE_MASK  block e/4: word e%4 < threshold(mutation_rate) = mutate element e
 *   MUTATE_NOISE block e/4: four N(0,1) for elements 4b..4b+3
 *   GLOROT       block e/4: word e%4 as a uniform in (0,1) (initial weights, key = init seed)
 *   SUBSET       block i: w0 | w1 << 32, the i-th draw of a generation's sample subset
 *   ES_NOISE     block e/4: four N(0,1) for elements 4b..4b+3 of a full-rank ES direction
 *   LOW_RANK     block e/4: four N(0,1) for elements 4b..4b+3 of a low-rank ES direction's
 *                factor vector (es_noise.h gives its layout)
 * For the ES streams ctr[1] is the direction d (individual i is direction i/2 with
 * antithetic sampling, i otherwise) and ctr[2] the generation the population is
 * made for minus one (0 for the first), so an individual's perturbation is rebuilt
 * from (seed, generation, individual).
 * A normal pair comes from Box-Muller on (w0, w1) -> elements 0, 1 and (w2, w3) -> 2, 3,
 * with devo's own log (own_math.h) and sincos below (not libm's, which differ between glibc
 * and CUDA): every product that meets a sum is an explicit fmaf and every other operation is
 * one that IEEE-754 rounds exactly (a product with a power of two, an integer operation, a
 * sum of a float and a constant 1.5 * 2^23, sqrt), so no compiler contraction
 * (gcc -ffp-contract, nvcc -fmad) can change a bit, and scalar C, the CPU's vector kernels
 * (variation.c) and CUDA give the same normals.
 */
#ifndef DEVO_RNG_H
#define DEVO_RNG_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "own_math.h" /* and DEVO_HD */

typedef enum devo_rng_stream {
    DEVO_STREAM_INIT_NOISE = 1,
    DEVO_STREAM_CROSSOVER = 2,
    DEVO_STREAM_MUTATE_MASK = 3,
    DEVO_STREAM_MUTATE_NOISE = 4,
    DEVO_STREAM_GLOROT = 5,
    DEVO_STREAM_SUBSET = 6,
    DEVO_STREAM_ES_NOISE = 7,
    DEVO_STREAM_LOW_RANK = 8
} devo_rng_stream;

typedef struct devo_philox_block {
    uint32_t w[4];
} devo_philox_block;

DEVO_HD uint32_t devo_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t product = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(product >> 32);
    return (uint32_t)product;
}

/* Philox4x32 with 10 rounds (Salmon et al. 2011, Random123's philox4x32_R(10, ...)). */
DEVO_HD devo_philox_block devo_philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2])
{
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = devo_mulhilo32(0xD2511F53u, c0, &hi0);
        uint32_t lo1 = devo_mulhilo32(0xCD9E8D57u, c2, &hi1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    devo_philox_block out = {{c0, c1, c2, c3}};
    return out;
}

/* The block of the layout above. */
DEVO_HD devo_philox_block devo_rng_block(uint64_t seed, devo_rng_stream stream, uint32_t generation,
                                         uint32_t individual, uint32_t block)
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {block, individual, generation, (uint32_t)stream};
    return devo_philox4x32_10(ctr, key);
}

/* A word as a float uniform in (0, 1]: never 0, so its log is finite. */
DEVO_HD float devo_u01(uint32_t word)
{
    return (float)word * 2.3283064365386963e-10f + 1.1641532182693481e-10f;
}

/* sqrtf, correctly rounded on every target. */
DEVO_HD float devo_sqrt(float x)
{
#ifdef __CUDA_ARCH__
    return __fsqrt_rn(x);
#else
    return sqrtf(x);
#endif
}

/* sin(pi a) and cos(pi a) for 0 <= a < 2^21, within 2 ulp: a = q/2 + t with q the nearest
 * integer to 2a and |t| <= 1/4, minimax polynomials in t (N. Juffa's sincospif), then
 * the quarter turns q. */
DEVO_HD void devo_sincospi(float a, float *sin_out, float *cos_out)
{
    float shifted = (a + a) + 0x1.8p23f; // q in the low bits: round to nearest, exactly
    uint32_t q = devo_float_bits(shifted);
    float t = fmaf(-0.5f, shifted - 0x1.8p23f, a); // exact
    float s = t * t;
    float c = 0x1.d9e000p-3f;
    c = fmaf(c, s, -0x1.55c400p+0f);
    c = fmaf(c, s, 0x1.03c1cep+2f);
    c = fmaf(c, s, -0x1.3bd3ccp+2f);
    c = fmaf(c, s, 1.0f);
    float r = -0x1.310000p-1f;
    r = fmaf(r, s, 0x1.46737ep+1f);
    r = fmaf(r, s, -0x1.4abbfep+2f);
    r = (t * s) * r;
    float sn = fmaf(t, 0x1.921fb6p+1f, r);
    if (q & 2u) {
        sn = -sn;
        c = -c;
    }
    *sin_out = q & 1u ? c : sn;
    *cos_out = q & 1u ? -sn : c;
}

/* Box-Muller on the words (radius_word, angle_word): r cos(2 pi u1), r sin(2 pi u1) with
 * r = sqrt(-2 log u0). */
DEVO_HD void devo_normal_pair(uint32_t radius_word, uint32_t angle_word, float *first,
                              float *second)
{
    float radius = devo_sqrt(-2.0f * devo_log_positive(devo_u01(radius_word)));
    float sn, cs;
    devo_sincospi(2.0f * devo_u01(angle_word), &sn, &cs);
    *first = radius * cs;
    *second = radius * sn;
}

/* Four N(0,1) floats from a block, Box-Muller on (w0, w1) and (w2, w3). */
DEVO_HD void devo_block_normals(devo_philox_block b, float out[4])
{
    devo_normal_pair(b.w[0], b.w[1], &out[0], &out[1]);
    devo_normal_pair(b.w[2], b.w[3], &out[2], &out[3]);
}

/* Mutate element iff its word < this threshold; rate in [0,1]; 1 gives 2^32 (always). */
DEVO_HD uint64_t devo_mutation_threshold(double rate)
{
    return (uint64_t)(rate * 4294967296.0);
}

/* Crossover: nonzero when element e (within its block of 128) comes from parent i. */
DEVO_HD int devo_crossover_bit(devo_philox_block b, uint64_t element)
{
    return (int)((b.w[(element / 32) % 4] >> (element % 32)) & 1u);
}

#endif /* DEVO_RNG_H */
