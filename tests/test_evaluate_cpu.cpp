// The CPU backend's fitness evaluation: every individual's fitness is bitwise the same
// whatever the thread count, however the samples fall into chunks beside it, and whichever
// range of the population is evaluated with it (an MPI rank's share).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

extern "C" {
#include "evaluate.h"
#include "model.h"
#include "rng.h"
}

namespace {

// An inputs-30-10 softmax classifier: the seed's network (784 inputs) or a smaller one.
devo_model *classifier(size_t inputs = 50)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, inputs), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 30, DEVO_ACT_RELU), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 10, DEVO_ACT_SOFTMAX), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    return m;
}

// n uniform draws in [-scale, scale) from stream GLOROT of `seed`.
std::vector<float> uniforms(size_t n, uint64_t seed, float scale)
{
    std::vector<float> v(n);
    for (size_t e = 0; e < n; e++) {
        devo_philox_block b = devo_rng_block(seed, DEVO_STREAM_GLOROT, 0, 0, (uint32_t)(e / 4));
        v[e] = scale * (2.0f * devo_u01(b.w[e % 4]) - 1.0f);
    }
    return v;
}

std::vector<double> fitness(const devo_model *m, const std::vector<float> &w, size_t P,
                            const std::vector<float> &x, const std::vector<float> &y,
                            size_t samples, size_t batch, int threads, devo_fitness kind)
{
    devo_cpu_evaluator *e = nullptr;
    EXPECT_EQ(devo_cpu_evaluator_create(&e, m, P, batch, threads, DEVO_PRECISION_FP32), DEVO_OK);
    std::vector<double> f(P);
    EXPECT_EQ(devo_cpu_evaluate(e, w.data(), 0, P, x.data(), y.data(), nullptr, samples, kind,
                                f.data(), nullptr),
              DEVO_OK);
    devo_cpu_evaluator_free(e);
    return f;
}

TEST(EvaluateCpu, FitnessIsBitwiseTheSameForEveryThreadCountAndChunkCount)
{
    const size_t P = 13, samples = 150;
    devo_model *m = classifier();
    size_t D = m->param_count;
    std::vector<float> w = uniforms(P * D, 1, 0.3f), x = uniforms(samples * 50, 2, 1.0f);
    std::vector<float> y(samples);
    for (size_t r = 0; r < samples; r++) y[r] = (float)(r * 7 % 10);
    for (size_t chunks = 1; chunks <= 4; chunks++) {
        size_t batch = (samples + chunks - 1) / chunks;
        for (devo_fitness kind : {DEVO_FITNESS_NEG_LOSS, DEVO_FITNESS_ACCURACY}) {
            std::vector<double> one = fitness(m, w, P, x, y, samples, batch, 1, kind);
            for (int threads = 2; threads <= 4; threads++) {
                std::vector<double> other = fitness(m, w, P, x, y, samples, batch, threads, kind);
                for (size_t p = 0; p < P; p++)
                    EXPECT_EQ(std::memcmp(&one[p], &other[p], sizeof(double)), 0)
                        << "individual " << p << ", " << chunks << " chunks, " << threads
                        << " threads: " << one[p] << " vs " << other[p];
            }
        }
    }
    devo_model_free(m);
}

// Fitness of slots [a, b) of the population w (P, D), evaluated alone.
std::vector<double> range_fitness(devo_cpu_evaluator *e, const devo_model *m,
                                  const std::vector<float> &w, size_t a, size_t b,
                                  const std::vector<float> &x, const std::vector<float> &y,
                                  size_t samples)
{
    std::vector<double> f(b - a);
    EXPECT_EQ(devo_cpu_evaluate(e, w.data() + a * m->param_count, a, b - a, x.data(), y.data(),
                                nullptr, samples, DEVO_FITNESS_NEG_LOSS, f.data(), nullptr),
              DEVO_OK);
    return f;
}

// Every range [a, b) with a and b in ends (and b <= P) against the full evaluation, on
// 1..4 threads in turn.
void ranges_match_the_whole(size_t inputs, size_t P, const std::vector<size_t> &ends)
{
    const size_t samples = 40, batch = 16;
    devo_model *m = classifier(inputs);
    std::vector<float> w = uniforms(P * m->param_count, 3, 0.3f);
    std::vector<float> x = uniforms(samples * inputs, 4, 1.0f), y(samples);
    for (size_t r = 0; r < samples; r++) y[r] = (float)(r * 3 % 10);
    std::vector<double> whole =
        fitness(m, w, P, x, y, samples, batch, 1, DEVO_FITNESS_NEG_LOSS);
    devo_cpu_evaluator *evaluators[4] = {};
    for (int t = 0; t < 4; t++)
        ASSERT_EQ(devo_cpu_evaluator_create(&evaluators[t], m, P, batch, t + 1,
                                            DEVO_PRECISION_FP32), DEVO_OK);
    size_t pair = 0;
    for (size_t a : ends)
        for (size_t b : ends) {
            if (b <= a || b > P) continue;
            std::vector<double> part =
                range_fitness(evaluators[pair++ % 4], m, w, a, b, x, y, samples);
            for (size_t s = a; s < b; s++)
                ASSERT_EQ(std::memcmp(&part[s - a], &whole[s], sizeof(double)), 0)
                    << inputs << "-30-10, P = " << P << ", range [" << a << ", " << b
                    << "), slot " << s << ": " << part[s - a] << " vs " << whole[s];
        }
    for (devo_cpu_evaluator *e : evaluators) devo_cpu_evaluator_free(e);
    devo_model_free(m);
}

std::vector<size_t> every_end(size_t P)
{
    std::vector<size_t> ends;
    for (size_t s = 0; s <= P; s++) ends.push_back(s);
    return ends;
}

TEST(EvaluateCpu, AnyRangeOfSmallNetworksHasTheWholePopulationsFitness)
{
    for (size_t P : {10, 13, 37}) ranges_match_the_whole(50, P, every_end(P));
}

TEST(EvaluateCpu, AnyRangeOfTheSeedsNetworkHasTheWholePopulationsFitness)
{
    // 784-30-10: blocks of 8 slots; every pair of ends around the block edges
    std::vector<size_t> ends = {0, 1, 2, 5, 7, 8, 9, 10, 12, 13, 15, 16, 17, 23, 24, 30, 32, 36, 37};
    for (size_t P : {10, 13, 37}) ranges_match_the_whole(784, P, ends);
}

} // namespace
