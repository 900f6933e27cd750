// Variation on the CPU: first population, crossover and mutation statistics on a large D,
// the select-not-multiply merge, and determinism of the draws.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

extern "C" {
#include "rng.h"
#include "variation.h"
}

namespace {

const size_t D = 1000003; // not a multiple of 4 or 128: the tails are exercised too

std::vector<float> child_of(const std::vector<float> &a, const std::vector<float> &b,
                            double rate, float std, uint64_t seed = 11, uint32_t slot = 5)
{
    std::vector<float> c(a.size());
    devo_cpu_make_child(c.data(), a.data(), b.data(), a.size(), seed, 3, slot,
                        devo_mutation_threshold(rate), std);
    return c;
}

TEST(Variation, FirstPopulationKeepsIndividualZeroAndAddsUnitNoiseToTheRest)
{
    const size_t P = 3, d = 200001;
    std::vector<float> w0(d), pop(P * d);
    for (size_t e = 0; e < d; e++) w0[e] = (float)(e % 17) * 0.1f;
    devo_cpu_init_population(pop.data(), P, d, w0.data(), 0.03f, 42);
    for (size_t e = 0; e < d; e++) ASSERT_EQ(pop[e], w0[e]);
    for (size_t i = 1; i < P; i++) {
        double sum = 0, squares = 0;
        for (size_t e = 0; e < d; e++) {
            double z = ((double)pop[i * d + e] - w0[e]) / 0.03;
            sum += z;
            squares += z * z;
        }
        double mean = sum / d, var = squares / d - mean * mean;
        // 2e5 draws: standard errors 0.0022 (mean) and 0.0032 (variance); about 5 sigma.
        EXPECT_NEAR(mean, 0.0, 0.012);
        EXPECT_NEAR(var, 1.0, 0.02); // float rounding of w0 + noise adds a little
    }
    // Rows 1 and 2 draw independent noise.
    EXPECT_NE(pop[d + 10], pop[2 * d + 10]);
}

TEST(Variation, CrossoverTakesEachParentHalfTheTime)
{
    std::vector<float> a(D, 0.0f), b(D, 1.0f);
    std::vector<float> c = child_of(a, b, 0.0, 0.03f);
    size_t from_b = 0;
    for (float v : c) {
        ASSERT_TRUE(v == 0.0f || v == 1.0f); // selected, never blended
        from_b += v == 1.0f;
    }
    // Binomial(1e6, 0.5): sd of the fraction 0.0005; 5 sigma.
    EXPECT_NEAR((double)from_b / D, 0.5, 0.0025);
}

TEST(Variation, MutationHitsTheRateWithTheRequestedStd)
{
    std::vector<float> a(D, 0.0f);
    std::vector<float> c = child_of(a, a, 0.2, 0.03f);
    size_t mutated = 0;
    double squares = 0;
    for (float v : c)
        if (v != 0.0f) {
            mutated++;
            squares += (double)v * v;
        }
    // Binomial(1e6, 0.2): sd of the fraction 0.0004; 5 sigma.
    EXPECT_NEAR((double)mutated / D, 0.2, 0.002);
    // 2e5 normals: sd of the sample variance is about 0.32% of it; the std within 1%.
    EXPECT_NEAR(std::sqrt(squares / mutated), 0.03, 0.0003);
}

TEST(Variation, RateZeroCopiesAndRateOneMutatesEverything)
{
    std::vector<float> a(4099, 2.0f);
    std::vector<float> none = child_of(a, a, 0.0, 0.5f);
    for (float v : none) ASSERT_EQ(v, 2.0f);
    std::vector<float> all = child_of(a, a, 1.0, 0.5f);
    size_t changed = 0;
    for (float v : all) changed += v != 2.0f;
    EXPECT_EQ(changed, a.size());
}

TEST(Variation, MergeNeverTurnsTheUnchosenParentsInfIntoNan)
{
    std::vector<float> a(10007, INFINITY), b(10007, 1.0f);
    std::vector<float> c = child_of(a, b, 0.0, 0.03f);
    size_t infinite = 0;
    for (float v : c) {
        ASSERT_FALSE(std::isnan(v));
        infinite += std::isinf(v);
    }
    EXPECT_GT(infinite, 0u);
    EXPECT_LT(infinite, c.size());
}

TEST(Variation, DrawsDependOnSeedAndSlotOnly)
{
    std::vector<float> a(5000, 0.0f), b(5000, 1.0f);
    EXPECT_EQ(child_of(a, b, 0.2, 0.03f), child_of(a, b, 0.2, 0.03f));
    EXPECT_NE(child_of(a, b, 0.2, 0.03f, 11, 5), child_of(a, b, 0.2, 0.03f, 11, 6));
    EXPECT_NE(child_of(a, b, 0.2, 0.03f, 11, 5), child_of(a, b, 0.2, 0.03f, 12, 5));
}

} // namespace
