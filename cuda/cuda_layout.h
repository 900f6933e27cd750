/*
 * cuda_layout.h - the index math of the CUDA kernels that the CPU can check: which crossover
 * bit an element takes, where an element of a first-layer kernel lands in the packed operand,
 * how many slots share one crossover draw, which slots a partial breed makes, the GPU's
 * sample chunk, the grid of bias and activation, and the padded rows of the later layers'
 * operand. Header-only, C++ and CUDA (host and device), so tests/test_cuda.cpp emulates it
 * without a GPU.
 */
#ifndef DEVO_CUDA_LAYOUT_H
#define DEVO_CUDA_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "devo.h"
#include "rng.h"

/* A fitness from its sums over `samples` samples: the accuracy, or minus the mean loss. One
 * formula for the host's reading of the sums and the device's ranking made ahead, which must
 * agree bit for bit (cuda_select.cu). */
DEVO_HD double devo_cuda_fitness(devo_fitness kind, double loss_sum, unsigned long long correct,
                                 size_t samples)
{
    return kind == DEVO_FITNESS_ACCURACY ? (double)correct / (double)samples
                                         : -loss_sum / (double)samples;
}

/* Threads per block of the variation kernels: a thread owns 4 consecutive elements, so a warp
 * owns 128 = one crossover block, and a block of 256 never splits a warp's block. */
#define DEVO_VARY_THREADS 256
/* Slots per crossover draw: lane l of a warp draws the crossover block of slot group + l, and
 * the warp's lanes read it by shuffle (one draw per warp and slot instead of 32). */
#define DEVO_VARY_GROUP 32

/* The word of crossover block b that holds elements base .. base + 3 (base % 4 == 0): word
 * (base % 128) / 32, chosen without indexing the block, so it stays in registers. */
DEVO_HD uint32_t devo_vary_crossover_word(devo_philox_block b, uint64_t base)
{
    unsigned word = (unsigned)((base % 128) / 32);
    return word == 0 ? b.w[0] : word == 1 ? b.w[1] : word == 2 ? b.w[2] : b.w[3];
}

/* The variation kernel's walk (cuda_vary.cu), shared with the host test that runs it: thread
 * `thread` of block (bx, by) owns elements devo_vary_base .. + 3 of every slot it visits; the
 * y blocks take groups of DEVO_VARY_GROUP slots from `first`, devo_vary_group_step apart, each
 * group ending at devo_vary_group_end; slot s of a group takes the crossover block lane
 * s - group drew. The grid: DEVO_VARY_THREADS-thread blocks over D / 4 in x, `rows` (slots or
 * slot groups) in y, at most `most_y` of them (the device's 65,535; the loop strides over the
 * rest). */
DEVO_HD size_t devo_vary_base(size_t bx, size_t thread) { return (bx * DEVO_VARY_THREADS + thread) * 4; }
DEVO_HD size_t devo_vary_first_group(size_t first, size_t by) { return first + by * DEVO_VARY_GROUP; }
DEVO_HD size_t devo_vary_group_step(size_t grid_y) { return grid_y * DEVO_VARY_GROUP; }
DEVO_HD size_t devo_vary_group_end(size_t group, size_t end)
{
    return group + DEVO_VARY_GROUP < end ? group + DEVO_VARY_GROUP : end;
}

static inline void devo_vary_grid(size_t rows, size_t D, size_t most_y, size_t *grid_x,
                                  size_t *grid_y)
{
    *grid_x = ((D + 3) / 4 + DEVO_VARY_THREADS - 1) / DEVO_VARY_THREADS;
    *grid_y = rows < most_y ? rows : most_y;
}

/* Nonzero when element base + q (q in 0..3) takes parent i: devo_crossover_bit's bit. */
DEVO_HD int devo_vary_takes_first(uint32_t word, uint64_t base, unsigned q)
{
    return (int)((word >> ((unsigned)(base % 32) + q)) & 1u);
}

/* The packed first-layer operand (inputs, P * units) holds weight e of slot's kernel (e in
 * [0, inputs * units), row-major (inputs, units)) at this index: column slot * units + e % units
 * of row e / units. devo_cpu_pack_first_layer's layout with all P individuals side by side. */
DEVO_HD size_t devo_packed_index(size_t e, size_t slot, size_t units, size_t P)
{
    return (e / units) * (P * units) + slot * units + e % units;
}

/* The later layers' operand (slots, stride): of each individual, its weights from layer 1's
 * kernel on (tail_size = D - layer 1's kernel_offset of them), in a row padded to a multiple of
 * 8 elements (16 bytes in BF16, 32 in FP32), so every individual's layer-1 kernel starts
 * aligned for the strided-batched GEMMs; D itself (203,530 for 784-256-10) is not a multiple
 * of 4. Element e of slot's individual lands at devo_tail_index, or nowhere (SIZE_MAX) when e
 * lies before the tail. */
DEVO_HD size_t devo_tail_stride(size_t tail_size) { return (tail_size + 7) / 8 * 8; }

DEVO_HD size_t devo_tail_index(size_t e, size_t slot, size_t tail_offset, size_t tail_size)
{
    size_t t = e - tail_offset; // wraps (past tail_size) when e < tail_offset
    return t < tail_size ? slot * devo_tail_stride(tail_size) + t : SIZE_MAX;
}

/* The slot ranges [begin[i], end[i]) the variation kernel makes for breed_range(first, count):
 * the elites [0, k) always, and the children of slots [max(first, k), first + count); one range
 * when they touch. Sorted, disjoint, none empty; returns how many (0 to 2). */
static inline int devo_vary_ranges(size_t k, size_t first, size_t count, size_t begin[2],
                                   size_t end[2])
{
    size_t lo = first > k ? first : k, hi = first + count;
    int n = 0;
    if (k > 0 && (hi <= lo || lo > k)) { // the elites alone
        begin[n] = 0;
        end[n++] = k;
    }
    if (hi > lo) {
        begin[n] = lo == k ? 0 : lo; // touching the elites: one range from slot 0
        end[n++] = hi;
    }
    return n;
}

/* Samples per GPU evaluation chunk: the largest multiple of batch_size up to 16,384 whose
 * activations (two FP32 buffers of P x chunk x max_units, plus BF16 copies) stay within
 * 1 GiB; never below batch_size. A larger chunk means fewer, wider GEMMs and launches. */
static inline size_t devo_cuda_chunk(size_t batch_size, size_t P, size_t max_units, int bf16)
{
    const size_t most_samples = 16384, budget = (size_t)1 << 30;
    size_t bytes_per_sample = P * max_units * (bf16 ? 12 : 8);
    size_t chunk = batch_size;
    while (chunk + batch_size <= most_samples &&
           (chunk + batch_size) * bytes_per_sample <= budget)
        chunk += batch_size;
    return chunk;
}

/* Bias and activation (cuda_evaluate.cu) run on blocks of DEVO_BIAS_X units x DEVO_BIAS_Y rows of
 * one individual: the grid's x covers a layer's units, y its rows and z the individuals, y and
 * z at most 65,535 blocks that loop (grid-stride) over the rest; no division per element. */
#define DEVO_BIAS_X 32
#define DEVO_BIAS_Y 8

typedef struct {
    unsigned x, y, z;
} devo_grid3;

static inline devo_grid3 devo_bias_grid(size_t count, size_t rows, size_t units)
{
    size_t y = (rows + DEVO_BIAS_Y - 1) / DEVO_BIAS_Y, most = 65535;
    devo_grid3 g = {(unsigned)((units + DEVO_BIAS_X - 1) / DEVO_BIAS_X),
                    (unsigned)(y < most ? (y ? y : 1) : most),
                    (unsigned)(count < most ? (count ? count : 1) : most)};
    return g;
}

/* The biases of the individuals an evaluation runs, gathered from the population for the fused
 * GEMM epilogues (cuda_epilogue.cu): layer l's of individual first + i at
 * region_l + i * devo_bias_stride(units_l, packed). A row starts 16-byte aligned
 * (units rounded up to 4 floats), as cuBLASLt's epilogue reads it, except layer 0's of the
 * shared-input GEMM (packed): one matrix whose bias vector is every individual's side by side.
 * Regions hold `slots` rows of the padded stride and start at multiples of 64 floats: region_0
 * at 0, region_(l+1) at devo_bias_region_after(region_l, units_l, slots). */
DEVO_HD size_t devo_bias_stride(size_t units, int packed)
{
    return packed ? units : (units + 3) / 4 * 4;
}

/* Where the region after one of `units` units starting at `at` starts (after the last layer's:
 * the floats all regions take). */
static inline size_t devo_bias_region_after(size_t at, size_t units, size_t slots)
{
    return (at + slots * devo_bias_stride(units, 0) + 63) / 64 * 64;
}

/* A chunk under a test's cap (devo_cuda_set_chunk_cap): at most cap samples in whole batches,
 * never below one batch; the chunk as it is when cap is 0 or does not bind. */
static inline size_t devo_cuda_capped_chunk(size_t chunk, size_t batch_size, size_t cap)
{
    if (cap == 0 || chunk <= cap) return chunk;
    size_t capped = cap / batch_size * batch_size;
    return capped < batch_size ? batch_size : capped;
}

#endif /* DEVO_CUDA_LAYOUT_H */
