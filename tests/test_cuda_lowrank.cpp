// The GPU's low-rank evaluation against the CPU reference (lowrank_cpu.c) on the same factors;
// skipped without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "devo.h"

extern "C" {
#include "cuda_lowrank.h"
}

namespace {

TEST(Cuda, LowRankEvaluationIsEquivalentToRef)
{
    if (devo_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device present";
    devo_model *m = nullptr;
    ASSERT_EQ(devo_model_create(&m, 20), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 16, DEVO_ACT_RELU), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 8, DEVO_ACT_TANH), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 4, DEVO_ACT_SOFTMAX), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    ASSERT_EQ(devo_model_init_weights(m, 9), DEVO_OK);
    size_t D = devo_model_param_count(m), P = 12, rows = 50;
    std::vector<float> x(rows * 20), y(rows), sigma(D, 0.05f);
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.31f * (float)i);
    for (size_t i = 0; i < rows; i++) y[i] = (float)(i % 4);
    std::vector<float> center(D);
    ASSERT_EQ(devo_model_get_weights(m, center.data(), D), DEVO_OK);
    for (size_t rank : {1u, 3u})
        for (int antithetic : {0, 1}) {
            devo_es_noise noise;
            ASSERT_EQ(devo_es_noise_init(&noise, m, antithetic ? P / 2 : P, rank, 1), DEVO_OK);
            ASSERT_EQ(devo_es_noise_draw(&noise, 3, 1), DEVO_OK);
            devo_lowrank_population pop = {&noise, antithetic, center.data(), sigma.data()};
            for (devo_fitness kind : {DEVO_FITNESS_NEG_LOSS, DEVO_FITNESS_ACCURACY}) {
                devo_lowrank_eval *ref = nullptr;
                ASSERT_EQ(devo_lowrank_create(&ref, m, P, rows, 1), DEVO_OK);
                std::vector<double> want(P), got(P);
                ASSERT_EQ(devo_lowrank_evaluate(ref, &pop, x.data(), y.data(), nullptr, rows, kind,
                                                0, P, want.data()),
                          DEVO_OK);
                ASSERT_EQ(devo_cuda_lowrank_evaluate(&pop, P, x.data(), y.data(), rows, kind,
                                                     got.data()),
                          DEVO_OK)
                    << devo_last_error();
                for (size_t p = 0; p < P; p++)
                    EXPECT_NEAR(got[p], want[p], kind == DEVO_FITNESS_ACCURACY ? 1.0 / rows : 1e-4)
                        << "rank " << rank << " antithetic " << antithetic << " p " << p;
                devo_lowrank_free(ref);
            }
            devo_es_noise_release(&noise);
        }
    devo_model_free(m);
}

} // namespace
