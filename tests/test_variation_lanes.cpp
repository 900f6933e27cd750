// The vectorised variation against the block-by-block reference: Philox lanes equal
// devo_rng_block, and children are bitwise those of the reference (one block of four
// elements at a time, as rng.h lays the draws out) for every size, rate and tail.
#include <gtest/gtest.h>

#include <string>
#include <cstring>
#include <vector>

extern "C" {
#include "isa.h"
#include "philox_lanes.h"
#include "rng.h"
#include "variation.h"
}

namespace {

// The reference: the child of devo_cpu_make_child, block by block from rng.h alone.
void reference_child(float *child, const float *parent_i, const float *parent_j, size_t D,
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
        float noise[4];
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

using lanes_fn = void (*)(uint64_t, devo_rng_stream, uint32_t, uint32_t, uint32_t,
                         uint32_t[4][DEVO_PHILOX_LANES]);

void plain_lanes(uint64_t seed, devo_rng_stream stream, uint32_t generation, uint32_t individual,
                 uint32_t first, uint32_t out[4][DEVO_PHILOX_LANES])
{
    devo_philox_lanes(seed, stream, generation, individual, first, out);
}

__attribute__((target("avx2"))) void avx2_lanes(uint64_t seed, devo_rng_stream stream,
                                                uint32_t generation, uint32_t individual,
                                                uint32_t first,
                                                uint32_t out[4][DEVO_PHILOX_LANES])
{
    devo_philox_lanes_avx2(seed, stream, generation, individual, first, out);
}

// g++ 12's avx512fintrin.h initialises its "undefined" vectors from themselves.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
__attribute__((target("avx512f"))) void avx512_lanes(uint64_t seed, devo_rng_stream stream,
                                                     uint32_t generation, uint32_t individual,
                                                     uint32_t first,
                                                     uint32_t out[4][DEVO_PHILOX_LANES])
{
    devo_philox_lanes_avx512(seed, stream, generation, individual, first, out);
}
#pragma GCC diagnostic pop

const devo_cpu_isa isas[] = {DEVO_ISA_GENERIC, DEVO_ISA_AVX2, DEVO_ISA_AVX512};

// One instruction set's lanes per test: an instruction set this CPU lacks is reported as
// skipped (GTEST_SKIP), never as passed.
class PhiloxLanes : public ::testing::TestWithParam<int> {};

TEST_P(PhiloxLanes, AreTheBlocksOfTheLayout)
{
    const lanes_fn fns[] = {plain_lanes, avx2_lanes, avx512_lanes};
    int f = GetParam();
    if (isas[f] > devo_cpu_isa_detect())
        GTEST_SKIP() << "this CPU cannot run instruction set " << (int)isas[f];
    for (uint64_t seed : {0ull, 7ull, 0xFFFFFFFFFFFFFFFFull})
        for (uint32_t first : {0u, 32u, 0xFFFFFFF0u}) { // the last wraps the block index
            uint32_t out[4][DEVO_PHILOX_LANES];
            fns[f](seed, DEVO_STREAM_MUTATE_NOISE, 9, 123, first, out);
            for (uint32_t i = 0; i < DEVO_PHILOX_LANES; i++) {
                devo_philox_block b =
                    devo_rng_block(seed, DEVO_STREAM_MUTATE_NOISE, 9, 123, first + i);
                for (int q = 0; q < 4; q++)
                    ASSERT_EQ(out[q][i], b.w[q]) << "isa " << f << ", lane " << i;
            }
        }
}

std::string isa_name(const ::testing::TestParamInfo<int> &info)
{
    const char *const names[] = {"Generic", "Avx2", "Avx512"};
    return names[info.param];
}

INSTANTIATE_TEST_SUITE_P(VariationLanes, PhiloxLanes, ::testing::Values(0, 1, 2), isa_name);

TEST(VariationLanes, ChildrenAreBitwiseThoseOfTheReferenceOnEveryInstructionSet)
{
    for (devo_cpu_isa isa : isas)
    for (size_t D : {1, 3, 4, 5, 127, 128, 129, 131, 1000, 23860})
        for (double rate : {0.0, 0.001, 0.2, 0.5, 1.0}) {
            std::vector<float> a(D), b(D), fast(D), slow(D);
            for (size_t e = 0; e < D; e++) {
                a[e] = 0.001f * (float)e;
                b[e] = -0.5f + 0.003f * (float)(e % 97);
            }
            uint64_t threshold = devo_mutation_threshold(rate);
            devo_cpu_make_child_isa(isa, fast.data(), a.data(), b.data(), D, 42, 17, 3,
                                    threshold, 0.05f);
            reference_child(slow.data(), a.data(), b.data(), D, 42, 17, 3, threshold, 0.05f);
            ASSERT_EQ(std::memcmp(fast.data(), slow.data(), D * sizeof(float)), 0)
                << "isa " << (int)isa << ", D " << D << ", rate " << rate;
        }
}

TEST(VariationLanes, FirstPopulationIsBitwiseTheReferenceOnEveryInstructionSet)
{
    for (size_t D : {1, 5, 128, 131, 23860}) {
        const size_t P = 3;
        std::vector<float> w0(D), fast(P * D), slow(P * D);
        for (size_t e = 0; e < D; e++) w0[e] = 0.01f * (float)(e % 37) - 0.2f;
        std::memcpy(slow.data(), w0.data(), D * sizeof(float));
        for (size_t i = 1; i < P; i++) // the block-by-block layout of rng.h
            for (size_t e = 0; e < D; e++) {
                float noise[4];
                devo_block_normals(devo_rng_block(77, DEVO_STREAM_INIT_NOISE, 0, (uint32_t)i,
                                                  (uint32_t)(e / 4)),
                                   noise);
                slow[i * D + e] = w0[e] + 0.3f * noise[e % 4];
            }
        for (devo_cpu_isa isa : isas) {
            devo_cpu_init_population_isa(isa, fast.data(), P, D, w0.data(), 0.3f, 77);
            ASSERT_EQ(std::memcmp(fast.data(), slow.data(), P * D * sizeof(float)), 0)
                << "isa " << (int)isa << ", D " << D;
        }
    }
}

TEST(VariationLanes, VectorNormalsAreBitwiseTheScalarHeadersOverMillionsOfDraws)
{
    // rate 1, zero parents, std 1: the child is 0 + 1 * normal, element by element
    const size_t D = (size_t)1 << 20;
    std::vector<float> zero(D, 0.0f), fast(D), slow(D);
    for (uint64_t seed : {3u, 1234567u}) {
        reference_child(slow.data(), zero.data(), zero.data(), D, seed, 9, 5, 4294967296ull, 1.0f);
        for (devo_cpu_isa isa : isas) {
            if (isa > devo_cpu_isa_detect()) continue;
            devo_cpu_make_child_isa(isa, fast.data(), zero.data(), zero.data(), D, seed, 9, 5,
                                    4294967296ull, 1.0f);
            for (size_t e = 0; e < D; e++)
                ASSERT_EQ(std::memcmp(&fast[e], &slow[e], sizeof(float)), 0)
                    << "isa " << (int)isa << ", seed " << seed << ", element " << e << ": "
                    << fast[e] << " vs " << slow[e];
        }
    }
}

} // namespace
