/*
 * variation.c - the first population and children on the CPU (see variation.h).
 * A child is made in tiles of 128 elements: one CROSSOVER block and 32 MUTATE_MASK and
 * MUTATE_NOISE blocks, drawn 32 at a time by philox_lanes.h (a first-population row: 32
 * INIT_NOISE blocks). Each tile kernel is compiled
 * for AVX-512, AVX2 and plain x86-64 (the crossover select and the mask compare are loops
 * the compiler vectorises for each); the CPU's features pick one. The tile's normals are
 * philox_lanes.h's devo_normal_lanes: children are bitwise those of the block-by-block layout
 * of rng.h whatever the instruction set. A BF16 run's copy of the row is rounded tile by
 * tile as the tiles are made (no second pass over the row).
 */
#include "variation.h"

#include <math.h>
#include <string.h>

#include "philox_lanes.h"
#include "rng.h"

#define TILE (4 * DEVO_PHILOX_LANES) /* elements: one CROSSOVER block of 128 bits */

/* What one tile is made from; element 0 of the tile is element tile * TILE of the child.
 * For the first population: child is the row, parent_i w0, mutation_std init_std. */
typedef struct tile_job {
    float *child;
    devo_bf16 *child16; /* the row rounded to BF16, or NULL */
    const float *parent_i, *parent_j;
    unsigned n; /* elements in this tile, <= TILE */
    uint64_t seed, threshold;
    uint32_t generation, slot, tile;
    float mutation_std;
} tile_job;

/* Writes the crossover of the tile and sets mutated[q] bit b when element 4b + q is to be
 * mutated; returns nonzero when any is. mask is the tile's MUTATE_MASK lanes. */
static inline __attribute__((always_inline)) uint32_t
tile_select(const tile_job *t, const uint32_t mask[4][DEVO_PHILOX_LANES], uint32_t mutated[4])
{
    devo_philox_block bits =
        devo_rng_block(t->seed, DEVO_STREAM_CROSSOVER, t->generation, t->slot, t->tile);
    float *restrict child = t->child;
    const float *restrict parent_i = t->parent_i, *restrict parent_j = t->parent_j;
    for (unsigned w = 0; w < 4 && 32 * w < t->n; w++) { // both loads, then a select
        unsigned count = t->n - 32 * w < 32 ? t->n - 32 * w : 32;
        for (unsigned e = 32 * w; e < 32 * w + count; e++) {
            float from_i = parent_i[e], from_j = parent_j[e];
            child[e] = (bits.w[w] >> (e % 32)) & 1u ? from_i : from_j;
        }
    }
    uint32_t all = t->threshold > UINT32_MAX, below = (uint32_t)t->threshold, any = 0;
    for (unsigned q = 0; q < 4; q++) {
        uint32_t word = 0;
        for (unsigned b = 0; b < DEVO_PHILOX_LANES; b++)
            word |= (uint32_t)(all | (mask[q][b] < below)) << b;
        unsigned blocks = t->n > q ? (t->n - q + 3) / 4 : 0; // blocks whose element q exists
        mutated[q] = blocks < 32 ? word & ((1u << blocks) - 1u) : word;
        any |= mutated[q];
    }
    return any;
}

/* Adds mutation_std * N(0,1) to the mutated elements of the tile. */
static inline __attribute__((always_inline)) void
tile_mutate(const tile_job *t, const uint32_t noise[4][DEVO_PHILOX_LANES], const uint32_t mutated[4])
{
    float normal[4][DEVO_PHILOX_LANES];
    devo_normal_lanes(noise, normal);
    for (unsigned q = 0; q < 4; q++)
        for (uint32_t left = mutated[q]; left; left &= left - 1) {
            unsigned b = (unsigned)__builtin_ctz(left);
            t->child[4 * b + q] += t->mutation_std * normal[q][b];
        }
}

/* The tile kernels for one instruction set, from its Philox lanes function: a child's
 * tile, and a first-population row's (w0 + init_std * N(0,1) from stream INIT_NOISE); each
 * rounds its tile into child16 when there is one, in the same instruction set. */
#define DEVO_TILE_KERNEL(name, isa_attribute, lanes)                                           \
    static isa_attribute void name(const tile_job *t)                                          \
    {                                                                                          \
        uint32_t mask[4][DEVO_PHILOX_LANES], noise[4][DEVO_PHILOX_LANES], mutated[4];          \
        uint32_t first = t->tile * DEVO_PHILOX_LANES;                                          \
        lanes(t->seed, DEVO_STREAM_MUTATE_MASK, t->generation, t->slot, first, mask);          \
        if (tile_select(t, mask, mutated)) {                                                   \
            lanes(t->seed, DEVO_STREAM_MUTATE_NOISE, t->generation, t->slot, first, noise);    \
            tile_mutate(t, noise, mutated);                                                    \
        }                                                                                      \
        if (t->child16) devo_bf16_round_n(t->child, t->child16, t->n);                         \
    }                                                                                          \
    static isa_attribute void name##_init(const tile_job *t)                                   \
    {                                                                                          \
        uint32_t noise[4][DEVO_PHILOX_LANES];                                                  \
        float normal[4][DEVO_PHILOX_LANES];                                                    \
        lanes(t->seed, DEVO_STREAM_INIT_NOISE, 0, t->slot, t->tile * DEVO_PHILOX_LANES, noise); \
        devo_normal_lanes(noise, normal);                                                       \
        for (unsigned e = 0; e < t->n; e++)                                                    \
            t->child[e] = t->parent_i[e] + t->mutation_std * normal[e % 4][e / 4];             \
        if (t->child16) devo_bf16_round_n(t->child, t->child16, t->n);                         \
    }

DEVO_TILE_KERNEL(tile_generic, , devo_philox_lanes)
#if defined(__x86_64__)
DEVO_TILE_KERNEL(tile_avx2, __attribute__((target("avx2,fma"))), devo_philox_lanes_avx2)
DEVO_TILE_KERNEL(tile_avx512,
                 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))),
                 devo_philox_lanes_avx512)
#endif

typedef void (*tile_kernel)(const tile_job *);

/* The child (init = 0) or first-population (init = 1) tile kernel of at most `isa`. */
static tile_kernel choose_kernel(devo_cpu_isa isa, int init)
{
    isa = devo_cpu_isa_cap(isa);
#if defined(__x86_64__)
    if (isa >= DEVO_ISA_AVX512) return init ? tile_avx512_init : tile_avx512;
    if (isa >= DEVO_ISA_AVX2) return init ? tile_avx2_init : tile_avx2;
#endif
    return init ? tile_generic_init : tile_generic;
}

/* Runs kernel on every tile of the row t->child (D) made from t->parent_i/j. */
static void run_tiles(tile_kernel kernel, tile_job t, size_t D)
{
    float *child = t.child;
    devo_bf16 *child16 = t.child16;
    const float *parent_i = t.parent_i, *parent_j = t.parent_j;
    for (size_t base = 0; base < D; base += TILE) {
        t.child = child + base;
        t.parent_i = parent_i + base;
        t.parent_j = parent_j ? parent_j + base : NULL;
        t.child16 = child16 ? child16 + base : NULL;
        t.n = D - base < TILE ? (unsigned)(D - base) : TILE;
        t.tile = (uint32_t)(base / TILE);
        kernel(&t);
    }
}

/* rows (count, D) = slots [first, first + count) of the first population; rows16 (count, D)
 * the same rounded to BF16, unless NULL. */
static void init_slots(devo_cpu_isa isa, float *rows, devo_bf16 *rows16, size_t first,
                       size_t count, size_t D, const float *w0, float init_std, uint64_t seed)
{
    tile_kernel kernel = choose_kernel(isa, 1);
    for (size_t i = 0; i < count; i++) {
        size_t slot = first + i;
        devo_bf16 *row16 = rows16 ? rows16 + i * D : NULL;
        if (slot == 0) {
            memcpy(rows, w0, D * sizeof(float));
            if (row16) devo_bf16_round_n(w0, row16, D);
            continue;
        }
        tile_job t = {.child = rows + i * D, .child16 = row16, .parent_i = w0, .seed = seed,
                      .slot = (uint32_t)slot, .mutation_std = init_std};
        run_tiles(kernel, t, D);
    }
}

void devo_cpu_init_population_isa(devo_cpu_isa isa, float *pop, size_t P, size_t D,
                                  const float *w0, float init_std, uint64_t seed)
{
    init_slots(isa, pop, NULL, 0, P, D, w0, init_std, seed);
}

void devo_cpu_init_slots(float *rows, devo_bf16 *rows16, size_t first, size_t count, size_t D,
                         const float *w0, float init_std, uint64_t seed)
{
    init_slots(DEVO_ISA_AVX512, rows, rows16, first, count, D, w0, init_std, seed);
}

void devo_cpu_init_population(float *pop, size_t P, size_t D, const float *w0, float init_std,
                              uint64_t seed)
{
    devo_cpu_init_population_isa(DEVO_ISA_AVX512, pop, P, D, w0, init_std, seed);
}

/* The child of parent_i and parent_j (and its BF16 copy unless child16 is NULL). */
static void make_child(devo_cpu_isa isa, float *child, devo_bf16 *child16, const float *parent_i,
                       const float *parent_j, size_t D, uint64_t seed, uint32_t generation,
                       uint32_t slot, uint64_t threshold, float mutation_std)
{
    tile_job t = {.child = child, .child16 = child16, .parent_i = parent_i,
                  .parent_j = parent_j, .seed = seed, .threshold = threshold,
                  .generation = generation, .slot = slot, .mutation_std = mutation_std};
    run_tiles(choose_kernel(isa, 0), t, D);
}

void devo_cpu_make_child_isa(devo_cpu_isa isa, float *child, const float *parent_i,
                             const float *parent_j, size_t D, uint64_t seed, uint32_t generation,
                             uint32_t slot, uint64_t threshold, float mutation_std)
{
    make_child(isa, child, NULL, parent_i, parent_j, D, seed, generation, slot, threshold,
               mutation_std);
}

void devo_cpu_make_child(float *child, const float *parent_i, const float *parent_j, size_t D,
                         uint64_t seed, uint32_t generation, uint32_t slot, uint64_t threshold,
                         float mutation_std)
{
    make_child(DEVO_ISA_AVX512, child, NULL, parent_i, parent_j, D, seed, generation, slot,
               threshold, mutation_std);
}

void devo_cpu_make_child_bf16(float *child, devo_bf16 *child16, const float *parent_i,
                              const float *parent_j, size_t D, uint64_t seed,
                              uint32_t generation, uint32_t slot, uint64_t threshold,
                              float mutation_std)
{
    make_child(DEVO_ISA_AVX512, child, child16, parent_i, parent_j, D, seed, generation, slot,
               threshold, mutation_std);
}
