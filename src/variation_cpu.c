/*
 * variation_cpu.c - the first population and children on the CPU (see variation_cpu.h).
 */
#include "variation_cpu.h"

#include <string.h>

#include "rng.h"

void devo_cpu_init_population(float *pop, size_t P, size_t D, const float *w0, float init_std,
                              uint64_t seed)
{
    memcpy(pop, w0, D * sizeof(float));
    for (size_t i = 1; i < P; i++) {
        float *row = pop + i * D;
        for (size_t base = 0; base < D; base += 4) {
            float noise[4];
            devo_block_normals(devo_rng_block(seed, DEVO_STREAM_INIT_NOISE, 0, (uint32_t)i,
                                              (uint32_t)(base / 4)),
                               noise);
            for (size_t e = base; e < base + 4 && e < D; e++)
                row[e] = w0[e] + init_std * noise[e - base];
        }
    }
}

void devo_cpu_make_child(float *child, const float *parent_i, const float *parent_j, size_t D,
                         uint64_t seed, uint32_t generation, uint32_t slot, uint64_t threshold,
                         float mutation_std)
{
    devo_philox_block bits = {{0, 0, 0, 0}};
    for (size_t base = 0; base < D; base += 4) {
        if (base % 128 == 0)
            bits = devo_rng_block(seed, DEVO_STREAM_CROSSOVER, generation, slot,
                                  (uint32_t)(base / 128));
        devo_philox_block mask = devo_rng_block(seed, DEVO_STREAM_MUTATE_MASK, generation, slot,
                                                (uint32_t)(base / 4));
        float noise[4] = {0, 0, 0, 0};
        int any_mutated = 0;
        for (int q = 0; q < 4; q++) any_mutated |= (uint64_t)mask.w[q] < threshold;
        if (any_mutated)
            devo_block_normals(devo_rng_block(seed, DEVO_STREAM_MUTATE_NOISE, generation, slot,
                                              (uint32_t)(base / 4)),
                               noise);
        for (size_t e = base; e < base + 4 && e < D; e++) {
            float value = devo_crossover_bit(bits, e % 128) ? parent_i[e] : parent_j[e];
            if ((uint64_t)mask.w[e - base] < threshold) value += mutation_std * noise[e - base];
            child[e] = value;
        }
    }
}
