// The evolution strategies' parts against known answers: fitness shaping, each strategy's first
// update computed by hand (D = 3, P = 4), ClipUp's speed limit, the update sums, and low-rank
// evaluation against the materialised population through the full-rank reference.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

extern "C" {
#include "es_noise.h"
#include "evaluate.h"
#include "forward.h"
#include "lowrank.h"
#include "shaping.h"
#include "strategy.h"
}

namespace {

TEST(Shaping, CenteredRanksKnownAnswerWithNaNLast)
{
    std::vector<double> f = {3.0, 1.0, NAN, 2.0};
    devo_shaped s;
    ASSERT_EQ(devo_shaped_init(&s, 4, "test"), DEVO_OK);
    devo_centered_ranks(f.data(), &s);
    std::vector<double> u(s.u, s.u + 4);
    devo_shaped_release(&s);
    EXPECT_DOUBLE_EQ(u[0], 0.5);
    EXPECT_DOUBLE_EQ(u[3], 1.0 / 6.0);
    EXPECT_DOUBLE_EQ(u[1], -1.0 / 6.0);
    EXPECT_DOUBLE_EQ(u[2], -0.5);
}

TEST(Shaping, TiesShareTheirMeanSoAConstantFitnessShapesToZero)
{
    std::vector<double> f = {1.0, 2.0, 1.0, 2.0};
    devo_shaped s;
    ASSERT_EQ(devo_shaped_init(&s, 4, "test"), DEVO_OK);
    devo_centered_ranks(f.data(), &s);
    EXPECT_DOUBLE_EQ(s.u[1], 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(s.u[3], 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(s.u[0], -1.0 / 3.0);
    devo_shaped_release(&s);
    std::vector<double> flat(6, 0.25);
    ASSERT_EQ(devo_shaped_init(&s, 6, "test"), DEVO_OK);
    devo_centered_ranks(flat.data(), &s);
    for (size_t i = 0; i < 6; i++) EXPECT_DOUBLE_EQ(s.u[i], 0.0);
    devo_nes_utilities(flat.data(), &s);
    for (size_t i = 0; i < 6; i++) EXPECT_NEAR(s.u[i], 0.0, 1e-15);
    devo_shaped_release(&s);
}

TEST(Shaping, NesUtilitiesKnownAnswer)
{
    // P = 4: raw max(0, ln 3 - ln k) for k = 1..4 = ln 3, ln 1.5, 0, 0.
    std::vector<double> f = {0.0, 5.0, -1.0, 2.0};
    devo_shaped s;
    ASSERT_EQ(devo_shaped_init(&s, 4, "test"), DEVO_OK);
    devo_nes_utilities(f.data(), &s);
    std::vector<double> u(s.u, s.u + 4);
    devo_shaped_release(&s);
    double norm = std::log(3.0) + std::log(1.5);
    EXPECT_NEAR(u[1], std::log(3.0) / norm - 0.25, 1e-12);
    EXPECT_NEAR(u[3], std::log(1.5) / norm - 0.25, 1e-12);
    EXPECT_NEAR(u[0], -0.25, 1e-12);
    EXPECT_NEAR(u[2], -0.25, 1e-12);
}

// The tiny problem of the hand computations: D = 3, P = 4, fitness ranks the individuals
// 2 > 3 > 0 > 1, so the centred ranks are u = (-1/6, -1/2, 1/2, 1/6).
const double kFitness[4] = {1.0, 0.0, 3.0, 2.0};
const float kCenter[3] = {0.5f, -1.0f, 2.0f};
const float kS1[3] = {0.3f, -0.6f, 0.0f}, kS2[3] = {0.2f, -0.1f, 0.05f};

struct Stepped {
    std::vector<float> w, v, center, sigma;
};

// One update's inputs: the sums and the schedule's factor.
struct Sums {
    const float *s1, *s2;
    double scale;
};

// The strategy's updates from kCenter and sigma0 (D = 3), one per entry of steps, after
// weighing kFitness.
Stepped steps(const devo_strategy_i *s, double lr, double decay, std::vector<float> sigma0,
              const std::vector<Sums> &updates)
{
    devo_strategy_config cfg = {3, 4, lr, decay};
    void *state = nullptr;
    EXPECT_EQ(s->create(&state, &cfg), DEVO_OK);
    size_t dirs = s->antithetic ? 2 : 4;
    Stepped r{std::vector<float>(dirs), std::vector<float>(dirs),
              std::vector<float>(kCenter, kCenter + 3), sigma0};
    s->weigh(state, kFitness, r.w.data(), r.v.data());
    for (const Sums &u : updates)
        s->update(state, r.center.data(), r.sigma.data(), u.s1, u.s2, u.scale);
    s->destroy(state);
    return r;
}

Stepped first_step(const devo_strategy_i *s, double lr, double decay, double sigma0)
{
    return steps(s, lr, decay, std::vector<float>(3, (float)sigma0), {{kS1, kS2, 1.0}});
}

TEST(Strategy, OpenAiEsFirstUpdateByHand)
{
    Stepped r = first_step(devo_strategy_openai_es(), 0.1, 0.5, 0.2);
    // w_d = u_2d - u_2d+1: (-1/6 + 1/2, 1/2 - 1/6) = (1/3, 1/3).
    EXPECT_NEAR(r.w[0], 1.0 / 3.0, 1e-7);
    EXPECT_NEAR(r.w[1], 1.0 / 3.0, 1e-7);
    for (int j = 0; j < 3; j++) {
        // loss gradient -s1 / (P sigma) + decay * centre; Adam's first step is
        // lr sqrt(1 - b2) / (1 - b1) * (1 - b1) g / (sqrt(1 - b2) |g| + eps) ~ lr sign(g).
        double g = -kS1[j] / (4 * 0.2) + 0.5 * kCenter[j];
        double m = 0.1 * g, v = 0.001 * g * g;
        double step = 0.1 * std::sqrt(0.001) / 0.1;
        EXPECT_NEAR(r.center[j], kCenter[j] - step * m / (std::sqrt(v) + 1e-8), 1e-6) << j;
        EXPECT_FLOAT_EQ(r.sigma[j], 0.2f);
    }
}

// Adam's first step is about lr sign(g) whatever g's size: two steps of different sums with
// sigma differing per parameter, the second at half the schedule, pin the magnitudes
// (g = -s1 / (P sigma) + decay centre) and the schedule (sigma = sigma0 x scale, the step
// lr x scale).
TEST(Strategy, OpenAiEsTwoUpdatesByHandFollowAdamAndTheSchedule)
{
    const float s1b[3] = {0.9f, 0.1f, -0.4f};
    const std::vector<float> sigma0 = {0.2f, 0.05f, 1.0f};
    Stepped r = steps(devo_strategy_openai_es(), 0.1, 0.5, sigma0,
                      {{kS1, kS2, 1.0}, {s1b, kS2, 0.5}});
    const float *sums[2] = {kS1, s1b};
    const double scales[2] = {1.0, 0.5};
    for (int j = 0; j < 3; j++) {
        float center = kCenter[j], m = 0.0f, v = 0.0f, sigma = sigma0[j];
        for (int t = 1; t <= 2; t++) {
            double g = -(double)sums[t - 1][j] / (4 * (double)sigma) + 0.5 * center;
            m = (float)(0.9 * m + 0.1 * g);
            v = (float)(0.999 * v + 0.001 * g * g);
            double step = 0.1 * scales[t - 1] * std::sqrt(1 - std::pow(0.999, t)) /
                          (1 - std::pow(0.9, t));
            center -= (float)(step * m / (std::sqrt((double)v) + 1e-8));
            sigma = (float)(sigma0[j] * scales[t - 1]);
        }
        EXPECT_NEAR(r.center[j], center, 1e-6) << j;
        EXPECT_FLOAT_EQ(r.sigma[j], sigma0[j] * 0.5f) << "sigma0 x the schedule's 0.5: " << j;
    }
}

// With sigma differing per parameter, grad_mu = sigma o s1 (not s1, nor s1 / sigma) sets the
// direction, and sigma's change is clamped to 20% both ways.
TEST(Strategy, PgpeUpdateWithPerParameterSigmaAndTheClampByHand)
{
    const float s2b[3] = {0.2f, 5.0f, -5.0f};
    const std::vector<float> sigma0 = {0.5f, 0.1f, 2.0f};
    Stepped r = steps(devo_strategy_pgpe(), 0.3, 0.0, sigma0, {{kS1, s2b, 1.0}});
    double g[3] = {0.5 * 0.3, 0.1 * -0.6, 0.0};
    double norm = std::sqrt(g[0] * g[0] + g[1] * g[1]);
    for (int j = 0; j < 3; j++) EXPECT_NEAR(r.center[j], kCenter[j] + 0.3 * g[j] / norm, 1e-6);
    EXPECT_NEAR(r.sigma[0], 0.5 + 0.1 * 0.5 * 0.2, 1e-7);
    EXPECT_NEAR(r.sigma[1], 0.1 * 1.2, 1e-7) << "clamped at +20%";
    EXPECT_NEAR(r.sigma[2], 2.0 * 0.8, 1e-6) << "clamped at -20%";
}

TEST(Strategy, PgpeFirstUpdateByHand)
{
    Stepped r = first_step(devo_strategy_pgpe(), 0.3, 0.0, 0.5);
    // N = 2 pairs: w_d = (u+ - u-) / 2 / N, v_d = (u+ + u-) / 2 / N.
    EXPECT_NEAR(r.w[0], (1.0 / 3.0) / 4, 1e-7);
    EXPECT_NEAR(r.v[0], (-2.0 / 3.0) / 4, 1e-7);
    EXPECT_NEAR(r.v[1], (2.0 / 3.0) / 4, 1e-7);
    // grad_mu = sigma s1 = (0.15, -0.3, 0); ClipUp from rest: velocity = 0.3 g / |g|.
    double norm = std::sqrt(0.15 * 0.15 + 0.3 * 0.3);
    EXPECT_NEAR(r.center[0], 0.5 + 0.3 * 0.15 / norm, 1e-6);
    EXPECT_NEAR(r.center[1], -1.0 - 0.3 * 0.3 / norm, 1e-6);
    EXPECT_NEAR(r.center[2], 2.0, 1e-6);
    // sigma += 0.1 sigma s2, within 20%.
    for (int j = 0; j < 3; j++) EXPECT_NEAR(r.sigma[j], 0.5 + 0.1 * 0.5 * kS2[j], 1e-7) << j;
}

TEST(Strategy, PgpeWeightDecayIsDecoupledFromClipUpsNormalisedStep)
{
    // The step along grad_mu is ClipUp's, as without decay; then the centre shrinks by
    // step * decay. (Inside the normalised gradient, decay took over the whole step wherever
    // the adapted sigma made sigma s1 small, and runs diverged.)
    Stepped r = first_step(devo_strategy_pgpe(), 0.3, 0.5, 0.5);
    double norm = std::sqrt(0.15 * 0.15 + 0.3 * 0.3);
    const double moved[3] = {0.5 + 0.3 * 0.15 / norm, -1.0 - 0.3 * 0.3 / norm, 2.0};
    for (int j = 0; j < 3; j++) EXPECT_NEAR(r.center[j], moved[j] * (1 - 0.3 * 0.5), 1e-6) << j;
}

TEST(Strategy, SnesFirstUpdateByHand)
{
    Stepped r = first_step(devo_strategy_snes(), 1.0, 0.0, 0.1);
    double norm = std::log(3.0) + std::log(1.5);
    EXPECT_NEAR(r.w[2], std::log(3.0) / norm - 0.25, 1e-7); // the best
    EXPECT_NEAR(r.w[1], -0.25, 1e-7);
    double eta_sigma = (3 + std::log(3.0)) / (5 * std::sqrt(3.0));
    for (int j = 0; j < 3; j++) {
        EXPECT_NEAR(r.center[j], kCenter[j] + 0.1 * kS1[j], 1e-6) << j;
        EXPECT_NEAR(r.sigma[j], 0.1 * std::exp(eta_sigma / 2 * kS2[j]), 1e-7) << j;
    }
}

TEST(Strategy, ClipUpFirstStepHasTheStepSizeAndSpeedIsClippedAtTwice)
{
    std::vector<float> center(4, 0.0f), velocity(4, 0.0f), grad = {30.0f, -40.0f, 0.0f, 0.0f};
    devo_clipup_step(center.data(), velocity.data(), grad.data(), 4, 0.5);
    EXPECT_NEAR(velocity[0], 0.5 * 0.6, 1e-7);
    EXPECT_NEAR(velocity[1], -0.5 * 0.8, 1e-7);
    for (int t = 0; t < 50; t++) devo_clipup_step(center.data(), velocity.data(), grad.data(), 4, 0.5);
    double speed = std::hypot(velocity[0], velocity[1]);
    EXPECT_NEAR(speed, 1.0, 1e-6); // without the clip it would near 0.5 / (1 - 0.9) = 5
    std::vector<float> zero(4, 0.0f), still(4, 0.0f), c2(4, 1.0f);
    devo_clipup_step(c2.data(), still.data(), zero.data(), 4, 0.5);
    for (float x : c2) EXPECT_EQ(x, 1.0f);
}

devo_model *network(size_t inputs, std::vector<size_t> units, devo_loss loss)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, inputs), DEVO_OK);
    for (size_t l = 0; l < units.size(); l++)
        EXPECT_EQ(devo_model_add_dense(m, units[l], l + 1 < units.size() ? DEVO_ACT_TANH
                                                                       : DEVO_ACT_SOFTMAX),
                  DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, loss), DEVO_OK);
    EXPECT_EQ(devo_model_init_weights(m, 3), DEVO_OK);
    return m;
}

// Kernel sigmas one per kernel (as the strategies keep them), bias sigmas per weight.
std::vector<float> layered_sigma(const devo_model *m)
{
    std::vector<float> sigma(m->param_count);
    for (size_t l = 0; l < m->layer_count; l++) {
        const devo_layer *layer = &m->layers[l];
        for (size_t j = 0; j < layer->inputs * layer->units; j++)
            sigma[layer->kernel_offset + j] = 0.05f * (float)(l + 1);
        for (size_t k = 0; k < layer->units; k++)
            sigma[layer->bias_offset + k] = 0.01f * (float)(k + 1);
    }
    return sigma;
}

TEST(EsNoise, LowRankSumsEqualSumsOverMaterialisedDirections)
{
    devo_model *m = network(5, {4, 3}, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    size_t D = m->param_count, dirs = 5;
    for (size_t rank : {1u, 2u}) {
        devo_es_noise n;
        ASSERT_EQ(devo_es_noise_init(&n, m, dirs, rank, 2), DEVO_OK);
        ASSERT_EQ(devo_es_noise_draw(&n, 7, 3), DEVO_OK);
        std::vector<float> w = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f}, v = {1, 2, -1, 0.5f, -2};
        std::vector<float> s1(D), s2(D), zero(D, 0.0f), one(D, 1.0f), eps(dirs * D);
        ASSERT_EQ(devo_es_noise_sums(&n, w.data(), v.data(), s1.data(), s2.data()), DEVO_OK);
        for (size_t d = 0; d < dirs; d++)
            devo_es_materialise(&n, zero.data(), one.data(), d, 1.0f, eps.data() + d * D);
        for (size_t l = 0; l < m->layer_count; l++) {
            const devo_layer *layer = &m->layers[l];
            double kernel_s2 = 0.0;
            for (size_t j = layer->kernel_offset; j < layer->bias_offset + layer->units; j++) {
                double sum1 = 0.0, sum2 = 0.0;
                for (size_t d = 0; d < dirs; d++) {
                    sum1 += w[d] * eps[d * D + j];
                    sum2 += v[d] * ((double)eps[d * D + j] * eps[d * D + j] - 1.0);
                }
                EXPECT_NEAR(s1[j], sum1, 1e-4) << "rank " << rank << " weight " << j;
                if (j < layer->bias_offset) kernel_s2 += sum2 / (layer->inputs * layer->units);
                else EXPECT_NEAR(s2[j], sum2, 1e-4) << j;
            }
            EXPECT_NEAR(s2[layer->kernel_offset], kernel_s2, 1e-4) << "rank " << rank;
        }
        devo_es_noise_release(&n);
    }
    devo_model_free(m);
}

TEST(EsNoise, FullRankSumsKnownAnswer)
{
    devo_model *m = network(2, {1}, DEVO_LOSS_MSE); // D = 3
    devo_es_noise n;
    ASSERT_EQ(devo_es_noise_init(&n, m, 2, 0, 1), DEVO_OK);
    ASSERT_EQ(devo_es_noise_draw(&n, 1, 0), DEVO_OK);
    std::vector<float> w = {2.0f, -1.0f}, v = {0.5f, 1.0f}, s1(3), s2(3);
    ASSERT_EQ(devo_es_noise_sums(&n, w.data(), v.data(), s1.data(), s2.data()), DEVO_OK);
    for (size_t j = 0; j < 3; j++) {
        float a = n.eps[j], b = n.eps[3 + j];
        EXPECT_NEAR(s1[j], 2 * a - b, 1e-6);
        EXPECT_NEAR(s2[j], 0.5 * (a * a - 1) + (b * b - 1), 1e-6);
    }
    devo_es_noise_release(&n);
    devo_model_free(m);
}

TEST(LowRank, EvaluationEqualsTheMaterialisedFullEvaluation)
{
    devo_model *m = network(6, {5, 4, 3}, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    size_t D = m->param_count, P = 6, n = 23;
    std::vector<float> x(n * 6), y(n);
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.7f * (float)i);
    for (size_t i = 0; i < n; i++) y[i] = (float)(i % 3);
    std::vector<float> sigma = layered_sigma(m);
    std::vector<size_t> rows = {0, 2, 3, 5, 8, 13, 21, 22};
    for (size_t rank : {1u, 3u}) {
        for (int antithetic : {0, 1}) {
            devo_es_noise noise;
            ASSERT_EQ(devo_es_noise_init(&noise, m, antithetic ? P / 2 : P, rank, 2), DEVO_OK);
            ASSERT_EQ(devo_es_noise_draw(&noise, 11, 2), DEVO_OK);
            devo_lowrank_population pop = {&noise, antithetic, m->weights, sigma.data()};
            std::vector<float> full(P * D);
            for (size_t i = 0; i < P; i++)
                devo_es_materialise(&noise, m->weights, sigma.data(), antithetic ? i / 2 : i,
                                    antithetic && i % 2 ? -1.0f : 1.0f, full.data() + i * D);
            for (devo_fitness kind : {DEVO_FITNESS_NEG_LOSS, DEVO_FITNESS_ACCURACY}) {
                for (const size_t *subset : {(const size_t *)nullptr, (const size_t *)rows.data()}) {
                    size_t samples = subset ? rows.size() : n;
                    devo_lowrank_eval *lr = nullptr;
                    devo_cpu_evaluator *ref = nullptr;
                    ASSERT_EQ(devo_lowrank_create(&lr, m, P, 7, 2, DEVO_PRECISION_FP32), DEVO_OK); // 7: several chunks
                    ASSERT_EQ(devo_cpu_evaluator_create(&ref, m, P, 7, 1, DEVO_PRECISION_FP32), DEVO_OK);
                    std::vector<double> got(P, NAN), want(P);
                    ASSERT_EQ(devo_lowrank_evaluate(lr, &pop, x.data(), y.data(), subset, samples,
                                                    kind, 1, P - 1, got.data()),
                              DEVO_OK);
                    ASSERT_EQ(devo_cpu_evaluate(ref, full.data(), 0, P, x.data(), y.data(), subset,
                                                samples, kind, want.data(), nullptr),
                              DEVO_OK);
                    EXPECT_TRUE(std::isnan(got[0])); // outside [first, first + count)
                    for (size_t i = 1; i < P; i++)
                        EXPECT_NEAR(got[i], want[i], 1e-5) << "rank " << rank << " i " << i;
                    devo_lowrank_free(lr);
                    devo_cpu_evaluator_free(ref);
                }
            }
            // Each individual on its own inputs, against the reference forward pass.
            size_t own_rows = 3, outputs = 3;
            devo_lowrank_eval *lr = nullptr;
            ASSERT_EQ(devo_lowrank_create(&lr, m, P, own_rows, 2, DEVO_PRECISION_FP32), DEVO_OK);
            std::vector<float> got(P * own_rows * outputs), want(got.size());
            ASSERT_EQ(devo_lowrank_forward_own(lr, &pop, P, x.data(), own_rows, got.data()),
                      DEVO_OK);
            devo_cpu_forward f;
            ASSERT_EQ(devo_cpu_forward_init(&f, m, own_rows, P), DEVO_OK);
            devo_logits_view view = devo_cpu_forward_own(&f, full.data(), P, x.data(), own_rows);
            for (size_t p = 0; p < P; p++)
                devo_cpu_write_outputs(m, view, p, own_rows, want.data() + p * own_rows * outputs);
            for (size_t i = 0; i < got.size(); i++) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
            devo_cpu_forward_release(&f);
            devo_lowrank_free(lr);
            devo_es_noise_release(&noise);
        }
    }
    devo_model_free(m);
}

} // namespace
