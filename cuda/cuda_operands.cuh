/*
 * cuda_operands.cuh - what the kernels that write a population share (cuda_vary.cu,
 * cuda_perturb.cu): rng.h's Philox blocks drawn on the device, and the store of one element
 * of a new individual into the FP32 population and the operand copies evaluation reads (the
 * first-layer kernels packed side by side, the later layers in padded rows, and BF16). CUDA
 * C++ only.
 */
#ifndef DEVO_CUDA_OPERANDS_CUH
#define DEVO_CUDA_OPERANDS_CUH

#include <curand_kernel.h>

#include "cuda_check.h"
#include "cuda_device.h"
#include "cuda_layout.h"

/* rng.h's block (seed, stream, generation, individual, block) through cuRAND's Philox: the
 * block curand_init(seed, ((uint64)stream << 32) | generation,
 * 4 * (((uint64)individual << 32) | block), &s) then curand4(&s) returns (for individual <
 * 2^30, see rng.h), computed directly from the counter, so for every individual. */
__device__ __forceinline__ devo_philox_block curand_block(uint64_t seed, devo_rng_stream stream,
                                                         uint32_t generation, uint32_t individual,
                                                         uint32_t block)
{
    uint4 counter = make_uint4(block, individual, generation, (uint32_t)stream);
    uint2 key = make_uint2((uint32_t)seed, (uint32_t)(seed >> 32));
    uint4 r = curand_Philox4x32_10(counter, key);
    devo_philox_block out = {{r.x, r.y, r.z, r.w}};
    return out;
}

/* Where the kernels write the operands evaluation reads besides the FP32 population. */
template <typename T> struct operand_out {
    T *packed;                      /* (inputs, P * units0) first-layer kernels, or NULL */
    T *tail;                        /* (P, devo_tail_stride) the later layers, or NULL */
    size_t tail_offset, tail_size;  /* layer 1's kernel_offset, D - it */
    __nv_bfloat16 *bf16;            /* (P, D) the population as BF16, or NULL */
    size_t kernel_offset, kernel_size, units; /* layer 0's kernel in an individual */
    size_t P;                       /* the population's slots (cuda_device's slots) */
};

/* Element e of slot's new individual is value: the FP32 row, and the operand copies. */
template <typename T>
__device__ __forceinline__ void store(float *row, size_t slot, size_t D, size_t e, float value,
                                      const operand_out<T> &op)
{
    row[e] = value;
    if (op.bf16) op.bf16[slot * D + e] = __float2bfloat16(value);
    size_t k = e - op.kernel_offset; // wraps above the kernel when e < kernel_offset
    if (op.packed && k < op.kernel_size)
        op.packed[devo_packed_index(k, slot, op.units, op.P)] = to_operand<T>(value);
    size_t t = devo_tail_index(e, slot, op.tail_offset, op.tail_size);
    if (op.tail && t != SIZE_MAX) op.tail[t] = to_operand<T>(value);
}

template <typename T> static inline operand_out<T> operands(cuda_device *b)
{
    const devo_layer *first = &b->cfg.arch->layers[0];
    operand_out<T> op = {static_cast<T *>(b->packed), static_cast<T *>(b->tail), b->tail_offset,
                         b->tail_size, b->population_bf16, first->kernel_offset,
                         first->inputs * first->units, first->units, b->slots};
    return op;
}

/* devo_vary_grid's blocks for `rows` (slots or slot groups) over D elements, y at most 65,535. */
static inline dim3 vary_grid(size_t rows, size_t D)
{
    size_t x = 0, y = 0;
    devo_vary_grid(rows, D, 65535, &x, &y);
    return dim3((unsigned)x, (unsigned)y);
}

#endif /* DEVO_CUDA_OPERANDS_CUH */
