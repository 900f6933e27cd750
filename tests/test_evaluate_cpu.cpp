// The CPU backend's fitness evaluation: every individual's fitness is bitwise the same
// whatever the thread count and however the samples fall into chunks beside it.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

extern "C" {
#include "evaluate_cpu.h"
#include "model.h"
#include "rng.h"
}

namespace {

// A 50-30-10 softmax classifier, as in the seed's network but smaller.
devo_model *classifier()
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, 50), DEVO_OK);
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
    EXPECT_EQ(devo_cpu_evaluator_create(&e, m, P, batch, threads), DEVO_OK);
    std::vector<double> f(P);
    EXPECT_EQ(devo_cpu_evaluate(e, w.data(), P, x.data(), y.data(), nullptr, samples, kind,
                                f.data()),
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

} // namespace
