/*
 * bf16.h - BF16 numbers on the CPU: the upper 16 bits of an FP32, made from an FP32 by
 * round-to-nearest-even (NaNs stay NaNs, subnormals are kept), exactly as CUDA's
 * __float2bfloat16 rounds, so both devices feed their GEMMs the same operands. Plain C the
 * compiler vectorises; no BF16 instructions needed to make them.
 */
#ifndef DEVO_BF16_CPU_H
#define DEVO_BF16_CPU_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint16_t devo_bf16;

/* x rounded to the nearest BF16, ties to even. */
static inline devo_bf16 devo_bf16_round(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint32_t nan = (bits & 0x7fffffffu) > 0x7f800000u;
    uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    return (devo_bf16)(nan ? (bits >> 16) | 0x40u : rounded); // a quiet NaN, sign kept
}

/* The FP32 value of a BF16. */
static inline float devo_bf16_value(devo_bf16 h)
{
    uint32_t bits = (uint32_t)h << 16;
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* out (n) = in (n) rounded to BF16. */
static inline void devo_bf16_round_n(const float *in, devo_bf16 *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = devo_bf16_round(in[i]);
}

#endif /* DEVO_BF16_CPU_H */
