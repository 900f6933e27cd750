// Philox4x32-10 against Random123's published known answers, and the counter layout of rng.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

extern "C" {
#include "rng.h"
}

namespace {

struct Kat {
    uint32_t ctr[4];
    uint32_t key[2];
    uint32_t expected[4];
};

TEST(Philox, MatchesRandom123KnownAnswers)
{
    const Kat kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (const Kat &k : kats) {
        devo_philox_block b = devo_philox4x32_10(k.ctr, k.key);
        for (int i = 0; i < 4; i++) EXPECT_EQ(b.w[i], k.expected[i]) << "word " << i;
    }
}

TEST(Philox, BlockPlacesSeedAndCounterAsDocumented)
{
    const uint64_t seed = 0x299f31d0a4093822ull;
    const uint32_t key[2] = {0xa4093822, 0x299f31d0};
    const uint32_t ctr[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    devo_philox_block direct = devo_philox4x32_10(ctr, key);
    devo_philox_block layout =
        devo_rng_block(seed, (devo_rng_stream)0x03707344, 0x13198a2e, 0x85a308d3, 0x243f6a88);
    for (int i = 0; i < 4; i++) EXPECT_EQ(direct.w[i], layout.w[i]);
}

TEST(Philox, UniformIsInsideTheOpenInterval)
{
    EXPECT_GT(devo_u01(0), 0.0f);
    EXPECT_LE(devo_u01(0xffffffffu), 1.0f);
    EXPECT_NEAR(devo_u01(0x80000000u), 0.5f, 1e-6f);
}

TEST(Philox, NormalsHaveUnitMomentsAndAreFinite)
{
    const int blocks = 50000;
    double sum = 0, squares = 0;
    for (int b = 0; b < blocks; b++) {
        float n[4];
        devo_block_normals(devo_rng_block(7, DEVO_STREAM_MUTATE_NOISE, 1, 2, (uint32_t)b), n);
        for (float v : n) {
            ASSERT_TRUE(std::isfinite(v));
            sum += v;
            squares += (double)v * v;
        }
    }
    const double count = 4.0 * blocks, mean = sum / count, var = squares / count - mean * mean;
    // 200k draws: the standard error of the mean is 0.0022 and of the variance 0.0032; 5 sigma.
    EXPECT_NEAR(mean, 0.0, 0.012);
    EXPECT_NEAR(var, 1.0, 0.016);
}

// Units in the last place of want's float neighbourhood (at least 2^-40) between got and want.
double ulps(float got, double want)
{
    double ulp = std::ldexp(1.0, std::ilogb((float)want) - 23);
    return std::fabs((double)got - want) / std::fmax(ulp, 0x1p-40);
}

TEST(Philox, OwnLogAndSincosAreWithinAnUlp)
{
    // every 4093rd word and both ends (over all 2^32 words, measured once: log 0.85 ulp,
    // sin and cos 0.97 ulp)
    double worst_log = 0, worst_trig = 0;
    for (uint64_t w = 0; w < ((uint64_t)1 << 32); w += w < 64 || w > 0xffffffbfu ? 1 : 4093) {
        float u = devo_u01((uint32_t)w), sn, cs;
        worst_log = std::fmax(worst_log, ulps(devo_log_positive(u), std::log((double)u)));
        devo_sincospi(2.0f * u, &sn, &cs);
        double angle = 6.283185307179586 * (double)u;
        worst_trig = std::fmax(worst_trig, ulps(sn, std::sin(angle)));
        worst_trig = std::fmax(worst_trig, ulps(cs, std::cos(angle)));
    }
    EXPECT_LE(worst_log, 1.0);
    EXPECT_LE(worst_trig, 1.0);
}

TEST(Philox, NormalsPassKolmogorovSmirnovAndHaveGaussianTails)
{
    const size_t blocks = (size_t)1 << 18, n = 4 * blocks;
    std::vector<double> z(n);
    for (size_t b = 0; b < blocks; b++) {
        float v[4];
        devo_block_normals(devo_rng_block(11, DEVO_STREAM_MUTATE_NOISE, 3, 1, (uint32_t)b), v);
        for (int q = 0; q < 4; q++) z[4 * b + (size_t)q] = v[q];
    }
    size_t beyond3 = 0, beyond4 = 0;
    for (double v : z) {
        beyond3 += std::fabs(v) > 3.0;
        beyond4 += std::fabs(v) > 4.0;
    }
    // P(|z| > 3) = 2.700e-3, P(|z| > 4) = 6.334e-5; 5 binomial standard deviations
    double p3 = 2.6998e-3, p4 = 6.3342e-5;
    EXPECT_NEAR((double)beyond3, p3 * n, 5 * std::sqrt(p3 * n));
    EXPECT_NEAR((double)beyond4, p4 * n, 5 * std::sqrt(p4 * n));
    std::sort(z.begin(), z.end());
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double cdf = 0.5 * std::erfc(-z[i] / std::sqrt(2.0));
        d = std::fmax(d, std::fmax(cdf - (double)i / n, (double)(i + 1) / n - cdf));
    }
    // Kolmogorov-Smirnov: the 0.1% critical value is 1.949 / sqrt(n)
    EXPECT_LT(d, 1.949 / std::sqrt((double)n));
}

TEST(Philox, MutationThresholdCoversTheEnds)
{
    EXPECT_EQ(devo_mutation_threshold(0.0), 0u);
    EXPECT_EQ(devo_mutation_threshold(1.0), 4294967296ull);
    EXPECT_EQ(devo_mutation_threshold(0.5), 2147483648ull);
}

} // namespace

#ifdef DEVO_TEST_CURAND_HOST
#include <curand.h>

namespace {

// A second oracle where CUDA is built: cuRAND's host Philox generator (it runs without a GPU).
// With offset 0 its i-th block of four words is Philox4x32-10 of counter (0, 0, i, 0) under the
// seed's key: in rng.h's layout, stream 0, generation i, individual 0, block 0.
TEST(Philox, MatchesCurandsHostGenerator)
{
    const uint64_t seed = 0x123456789abcdefull;
    curandGenerator_t generator;
    ASSERT_EQ(curandCreateGeneratorHost(&generator, CURAND_RNG_PSEUDO_PHILOX4_32_10),
              CURAND_STATUS_SUCCESS);
    ASSERT_EQ(curandSetPseudoRandomGeneratorSeed(generator, seed), CURAND_STATUS_SUCCESS);
    std::vector<unsigned int> words(4 * 4096);
    ASSERT_EQ(curandGenerate(generator, words.data(), words.size()), CURAND_STATUS_SUCCESS);
    curandDestroyGenerator(generator);
    for (uint32_t i = 0; i < 4096; i++) {
        devo_philox_block b = devo_rng_block(seed, (devo_rng_stream)0, i, 0, 0);
        for (int q = 0; q < 4; q++) ASSERT_EQ(b.w[q], words[4 * i + q]) << "block " << i;
    }
}

} // namespace
#endif
