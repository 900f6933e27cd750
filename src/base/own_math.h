/*
 * own_math.h - devo's own float log and exp, for results that must be the same bits on
 * every CPU instruction set and on CUDA (libm's differ between glibc and CUDA, and between
 * glibc's scalar and vector versions). Every product that meets a sum is an explicit fmaf
 * and every other operation is one that IEEE-754 rounds exactly or an integer operation,
 * so no compiler contraction (gcc -ffp-contract, nvcc -fmad) can change a bit, and scalar C,
 * the CPU's vector kernels and CUDA agree. Used by rng.h (the normals' log) and nn_math.h
 * (the log-sum-exp of the softmax losses). Header-only, C11 and CUDA C.
 */
#ifndef DEVO_OWN_MATH_H
#define DEVO_OWN_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* A function for host and device alike (CUDA C), or a plain static inline one (C). */
#ifdef __CUDACC__
#define DEVO_HD static __host__ __device__ inline
#else
#define DEVO_HD static inline
#endif

DEVO_HD uint32_t devo_float_bits(float f)
{
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

DEVO_HD float devo_bits_float(uint32_t u)
{
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* Natural log of a positive normal float u, within 1 ulp (a finite value for NaN: no select,
 * so that the normals' vector loops stay branch-free): u = 2^k m with m in [2/3, 4/3),
 * log(1 + f) for f = m - 1 a minimax polynomial (N. Juffa's logf). */
DEVO_HD float devo_log_positive(float u)
{
    uint32_t offset = devo_float_bits(u) - 0x3f2aaaabu; // 2/3's bits
    int32_t k = (int32_t)((offset >> 23) ^ 0x100u) - 0x100; // 9-bit exponent, sign-extended
    float f = devo_bits_float((offset & 0x007fffffu) + 0x3f2aaaabu) - 1.0f; // exact
    float s = f * f;
    float r = -0x1.0ae000p-3f, t = 0x1.208000p-3f;
    r = fmaf(r, s, -0x1.f198b2p-4f);
    t = fmaf(t, s, 0x1.1e5740p-3f);
    r = fmaf(r, s, -0x1.55b36cp-3f);
    t = fmaf(t, s, 0x1.99d8b2p-3f);
    r = fmaf(r, s, -0x1.fffe02p-3f);
    r = fmaf(t, f, r);
    r = fmaf(r, f, 0x1.5554fap-2f);
    r = fmaf(r, f, -0.5f);
    r = fmaf(r, s, f);
    return fmaf((float)k, 0x1.62e430p-1f, r); // + k log(2)
}

/* e^x for x <= 0, within 2 ulp; 0 below -87 (and for -inf), NaN for NaN. x = j log(2) + r
 * with j the nearest integer to x / log(2), r by Cody and Waite's two-part log(2), so
 * |r| <= log(2) / 2; e^r by its Taylor polynomial of degree 7 (truncation below 0.1 ulp);
 * 2^j (j in [-126, 0]) from its exponent bits. */
DEVO_HD float devo_exp_nonpositive(float x)
{
    float clamped = x < -87.0f ? -87.0f : x; // NaN compares false and stays NaN
    float shifted = fmaf(clamped, 0x1.715476p+0f, 0x1.8p+23f); // 1.5 * 2^23 + j
    float j = shifted - 0x1.8p+23f; // exact
    float r = fmaf(j, -0x1.62e430p-1f, clamped);
    r = fmaf(j, 0x1.05c610p-29f, r);
    float p = 0x1.a01a02p-13f; // 1/7!
    p = fmaf(p, r, 0x1.6c16c2p-10f);
    p = fmaf(p, r, 0x1.111112p-7f);
    p = fmaf(p, r, 0x1.555556p-5f);
    p = fmaf(p, r, 0x1.555556p-3f);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    // (j + 127) << 23 in unsigned arithmetic: j's bits are shifted's low mantissa bits
    uint32_t scale = (devo_float_bits(shifted) - 0x4b400000u + 127u) << 23;
    float result = p * devo_bits_float(scale);
    return x < -87.0f ? 0.0f : result;
}

#endif /* DEVO_OWN_MATH_H */
