// Ranking (ties by index, NaN last), the parent-pair table and elite statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

extern "C" {
#include "selection.h"
}

namespace {

std::vector<size_t> rank(const std::vector<double> &f)
{
    std::vector<size_t> order(f.size()), scratch(f.size());
    devo_rank(f.data(), f.size(), order.data(), scratch.data());
    return order;
}

TEST(Selection, RanksBestFirstWithTiesByIndexAndNanLast)
{
    const double nan = NAN;
    std::vector<double> f = {0.5, nan, 2.0, 0.5, -INFINITY, 2.0, nan, INFINITY, 0.5};
    std::vector<size_t> expected = {7, 2, 5, 0, 3, 8, 4, 1, 6};
    EXPECT_EQ(rank(f), expected);
}

TEST(Selection, RankIsAPermutationForManySizes)
{
    for (size_t P : {1, 2, 3, 7, 64, 1000}) {
        std::vector<double> f(P);
        for (size_t i = 0; i < P; i++) f[i] = (double)((i * 7919) % 13) - (i % 5 == 0 ? NAN : 0);
        std::vector<size_t> order = rank(f);
        std::vector<int> seen(P, 0);
        for (size_t r = 0; r < P; r++) seen[order[r]]++;
        for (size_t i = 0; i < P; i++) EXPECT_EQ(seen[i], 1);
        for (size_t r = 1; r < P; r++)
            EXPECT_TRUE(devo_ranks_before(f[order[r - 1]], order[r - 1], f[order[r]], order[r]))
                << "P=" << P << " r=" << r;
    }
}

std::vector<std::pair<uint32_t, uint32_t>> pairs(size_t k, size_t children)
{
    std::vector<uint32_t> flat(2 * children);
    devo_parent_pairs(k, children, flat.data());
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (size_t c = 0; c < children; c++) out.push_back({flat[2 * c], flat[2 * c + 1]});
    return out;
}

TEST(Selection, PairsFollowTheSeedOrderForTopFour)
{
    std::vector<std::pair<uint32_t, uint32_t>> expected = {
        {0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 1}, {1, 2}, {1, 3}, {2, 2}, {2, 3}, {3, 3}};
    EXPECT_EQ(pairs(4, 10), expected);
}

TEST(Selection, PairsCycleWhenMoreChildrenAreNeeded)
{
    // Default population 16, top_k 4: 12 children, the list of 10 then (0,0), (0,1).
    auto p = pairs(4, 12);
    EXPECT_EQ(p[10], std::make_pair(0u, 0u));
    EXPECT_EQ(p[11], std::make_pair(0u, 1u));
    // k = 3: six pairs, cycled three times over for 17 children.
    auto q = pairs(3, 17);
    for (size_t c = 0; c < 17; c++) EXPECT_EQ(q[c], q[c % 6]);
    EXPECT_EQ(q[5], std::make_pair(2u, 2u));
}

TEST(Selection, PairsForFewerChildrenThanPairsTakeThePrefix)
{
    // P < k(k+1)/2 + k: population 6, top_k 4 gives 2 children.
    auto p = pairs(4, 2);
    EXPECT_EQ(p[0], std::make_pair(0u, 0u));
    EXPECT_EQ(p[1], std::make_pair(0u, 1u));
    auto single = pairs(1, 5);
    for (auto &pr : single) EXPECT_EQ(pr, std::make_pair(0u, 0u));
}

TEST(Selection, EliteStatsAreMeanAndSampleStd)
{
    std::vector<double> f = {1.0, 4.0, NAN, 3.0, 2.0};
    std::vector<size_t> order = rank(f);
    devo_generation_stats s{};
    devo_elite_stats(f.data(), order.data(), f.size(), 3, &s);
    EXPECT_DOUBLE_EQ(s.best, 4.0);
    EXPECT_DOUBLE_EQ(s.mean, 3.0);
    EXPECT_DOUBLE_EQ(s.std, 1.0); // ddof = 1 over {4, 3, 2}
    EXPECT_DOUBLE_EQ(s.population_mean, 2.5); // NaN left out
    devo_elite_stats(f.data(), order.data(), f.size(), 1, &s);
    EXPECT_DOUBLE_EQ(s.std, 0.0);
}

} // namespace
