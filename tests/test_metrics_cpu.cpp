// The loss arithmetic shared by the CPU and CUDA: own_math.h's exp and log against libm's
// double versions, the CPU's vector softmax tiles bitwise equal to nn_math.h's per-row
// functions on every instruction set this processor runs (NaN, infinities and ties
// included), and the metrics of the usual classifier equal to the per-sample sums.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

extern "C" {
#include "metrics.h"
#include "model.h"
#include "nn_math.h"
#include "own_math.h"
#include "rng.h"
}

namespace {

// |got - want| in units in the last place of want's float binade.
double ulp_error(float got, double want)
{
    double ulp = std::ldexp(1.0, std::ilogb((float)want) - 23);
    return std::fabs((double)got - want) / ulp;
}

// A uniform in [-scale, scale) from stream GLOROT, draw e of `seed`.
float uniform(uint64_t seed, size_t e, float scale)
{
    devo_philox_block b = devo_rng_block(seed, DEVO_STREAM_GLOROT, 0, 0, (uint32_t)(e / 4));
    return scale * (2.0f * devo_u01(b.w[e % 4]) - 1.0f);
}

const float inf = std::numeric_limits<float>::infinity();
const float nan_value = std::numeric_limits<float>::quiet_NaN();

} // namespace

TEST(OwnMath, ExpIsWithinTwoUlpOnItsDomain)
{
    double worst = 0;
    for (float x = -87.0f; x <= 0.0f; x += 0.000731f)
        worst = std::fmax(worst, ulp_error(devo_exp_nonpositive(x), std::exp((double)x)));
    for (float x = -1e-3f; x < -1e-30f; x *= 0.93f)
        worst = std::fmax(worst, ulp_error(devo_exp_nonpositive(x), std::exp((double)x)));
    EXPECT_LE(worst, 2.0);
    EXPECT_EQ(devo_exp_nonpositive(0.0f), 1.0f);
    EXPECT_EQ(devo_exp_nonpositive(-0.0f), 1.0f);
    EXPECT_EQ(devo_exp_nonpositive(-88.0f), 0.0f);
    EXPECT_EQ(devo_exp_nonpositive(-inf), 0.0f);
    EXPECT_TRUE(std::isnan(devo_exp_nonpositive(nan_value)));
}

TEST(OwnMath, LogIsWithinAnUlpOverTheNormalFloats)
{
    double worst = 0;
    for (float u = 1.2e-38f; u < 3e38f; u *= 1.000173f)
        worst = std::fmax(worst, ulp_error(devo_log_positive(u), std::log((double)u)));
    EXPECT_LE(worst, 1.0);
    EXPECT_EQ(devo_log_positive(1.0f), 0.0f);
}

TEST(NnMath, LogSumExpIsCloseToTheDoubleFormulaAndNanForNanOrInfinity)
{
    for (size_t trial = 0; trial < 2000; trial++) {
        float z[10];
        for (size_t j = 0; j < 10; j++) z[j] = uniform(3, trial * 10 + j, 40.0f);
        double top = z[0], sum = 0;
        for (float v : z) top = std::fmax(top, v);
        for (float v : z) sum += std::exp((double)v - top);
        double want = top + std::log(sum), got = devo_log_sum_exp(z, 10);
        ASSERT_NEAR(got, want, 4e-7 * std::fmax(1.0, std::fabs(want))) << trial;
    }
    float with_nan[3] = {1.0f, nan_value, 2.0f}, with_inf[3] = {1.0f, inf, 2.0f};
    float all_minus_inf[2] = {-inf, -inf}, one_minus_inf[2] = {-inf, 3.0f};
    EXPECT_TRUE(std::isnan(devo_log_sum_exp(with_nan, 3)));
    EXPECT_TRUE(std::isnan(devo_log_sum_exp(with_inf, 3)));
    EXPECT_TRUE(std::isnan(devo_log_sum_exp(all_minus_inf, 2)));
    EXPECT_EQ(devo_log_sum_exp(one_minus_inf, 2), 3.0);
}

TEST(MetricsCpu, SoftmaxTilesAreBitwiseThePerRowFunctionsOnEveryInstructionSet)
{
    const size_t max_rows = DEVO_METRICS_TILE_ROWS;
    for (int isa = DEVO_ISA_GENERIC; isa <= (int)devo_cpu_isa_detect(); isa++)
        for (size_t outputs : {2, 3, 10, 17, 64})
            for (size_t rows = 1; rows <= max_rows; rows += 5) {
                size_t stride = outputs + 3;
                std::vector<float> z(rows * stride);
                for (size_t e = 0; e < z.size(); e++)
                    z[e] = uniform(outputs * 100 + rows, e, 30.0f);
                // ties, NaN, infinities and far-apart logits in some rows
                z[0] = z[1];
                if (rows > 1) z[stride + outputs - 1] = nan_value;
                if (rows > 2) z[2 * stride] = inf;
                if (rows > 3) z[3 * stride + 1] = -inf;
                if (rows > 4) z[4 * stride] = nan_value;
                if (rows > 5) z[5 * stride] = -200.0f;
                double lse[DEVO_METRICS_TILE_ROWS];
                size_t predicted[DEVO_METRICS_TILE_ROWS];
                devo_cpu_softmax_tile_isa((devo_cpu_isa)isa, z.data(), stride, outputs, rows,
                                          lse, predicted);
                for (size_t r = 0; r < rows; r++) {
                    const float *row = z.data() + r * stride;
                    double want = devo_log_sum_exp(row, outputs);
                    SCOPED_TRACE(testing::Message() << "isa " << isa << " outputs " << outputs
                                                    << " row " << r);
                    if (std::isnan(want))
                        EXPECT_TRUE(std::isnan(lse[r]));
                    else
                        EXPECT_EQ(lse[r], want);
                    EXPECT_EQ(predicted[r], devo_predicted_class(DEVO_ACT_SOFTMAX, row, outputs));
                }
            }
}

TEST(MetricsCpu, ClassifierMetricsAreThePerSampleSums)
{
    for (devo_loss loss : {DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                           DEVO_LOSS_CATEGORICAL_CROSSENTROPY, DEVO_LOSS_NONE}) {
        devo_model *m = nullptr;
        ASSERT_EQ(devo_model_create(&m, 4), DEVO_OK);
        ASSERT_EQ(devo_model_add_dense(m, 10, DEVO_ACT_SOFTMAX), DEVO_OK);
        ASSERT_EQ(devo_model_compile(m, loss), DEVO_OK);
        const size_t rows = 37, width = devo_model_target_width(m);
        std::vector<float> logits(rows * 10), targets(rows * width, 0.0f);
        for (size_t e = 0; e < logits.size(); e++) logits[e] = uniform(9, e, 5.0f);
        logits[7 * 10 + 2] = nan_value; // a NaN row: its loss is NaN, never a hit
        for (size_t r = 0; r < rows; r++) {
            size_t label = r * 7 % 10;
            if (width == 1)
                targets[r] = (float)label;
            else
                targets[r * width + label] = 1.0f;
        }
        devo_logits_view view = {logits.data(), rows * 10, 10};
        double loss_sum = 0;
        size_t correct = 0;
        devo_cpu_accumulate_metrics(m, view, 0, rows, targets.data(), &loss_sum, &correct);
        double want_loss = 0;
        size_t want_correct = 0;
        for (size_t r = 0; r < rows; r++) {
            const float *z = logits.data() + r * 10, *t = targets.data() + r * width;
            if (loss != DEVO_LOSS_NONE)
                want_loss += devo_sample_loss(DEVO_ACT_SOFTMAX, loss, z, 10, t);
            want_correct += (size_t)devo_sample_correct(DEVO_ACT_SOFTMAX, loss, z, 10, t);
        }
        if (loss == DEVO_LOSS_NONE)
            EXPECT_EQ(loss_sum, 0.0);
        else
            EXPECT_TRUE(std::isnan(loss_sum) && std::isnan(want_loss));
        EXPECT_EQ(correct, want_correct);
        EXPECT_GT(correct, 0u);
        // without the NaN row the sums are bitwise the per-sample ones
        logits[7 * 10 + 2] = 0.5f;
        loss_sum = 0;
        correct = 0;
        devo_cpu_accumulate_metrics(m, view, 0, rows, targets.data(), &loss_sum, &correct);
        want_loss = 0;
        for (size_t r = 0; r < rows; r++)
            if (loss != DEVO_LOSS_NONE)
                want_loss += devo_sample_loss(DEVO_ACT_SOFTMAX, loss, logits.data() + r * 10, 10,
                                              targets.data() + r * width);
        EXPECT_EQ(loss_sum, want_loss);
        devo_model_free(m);
    }
}
