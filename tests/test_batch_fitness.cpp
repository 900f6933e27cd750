// devo_evolver_predict (every individual on the same inputs) and the batched custom fitness
// (devo_evolve_options.batch_fitness_fn) on the CPU backend: predictions equal each
// individual's own model, a batched accuracy retraces the built-in accuracy's run bit for bit
// (GA and evolution strategies), and a callback that asks to stop, bad combinations and
// resumed states give their statuses.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "devo.h"
#include "test_models.h"
extern "C" {
#include "gemm_bf16.h"
}

namespace {

// n samples of `inputs` features in [-1, 1) and labels 0..classes-1 from a fixed LCG.
struct Data {
    std::vector<float> x, y;
    size_t n;
};

Data data(size_t n, size_t inputs, size_t classes)
{
    Data d{std::vector<float>(n * inputs), std::vector<float>(n), n};
    uint32_t state = 2024;
    auto next = [&state]() {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    };
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < inputs; j++)
            d.x[i * inputs + j] = (float)next() / 8388608.0f - 1.0f;
        d.y[i] = (float)(next() % classes);
    }
    return d;
}

devo_model *network(size_t inputs, size_t hidden, size_t outputs)
{
    return test_model(inputs, {{hidden, DEVO_ACT_TANH}, {outputs, DEVO_ACT_SOFTMAX}},
                      DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 7);
}

devo_evolve_options options(devo_strategy strategy, size_t rank = 0)
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.backend = DEVO_BACKEND_CPU;
    o.population = 12;
    o.top_k = 3;
    o.max_generations = 6;
    o.seed = 11;
    o.strategy = strategy;
    o.perturbation_rank = rank;
    o.fitness = DEVO_FITNESS_ACCURACY;
    o.batch_size = 16; // several chunks, the last partial
    return o;
}

// The first argmax of each sample's outputs against its class index: devo's accuracy.
struct Calls {
    size_t calls = 0, individuals = 0;
    int stop_at = -1; // the call that asks to stop, or -1
};

int accuracy(const float *outputs, const float *y, size_t population, size_t n, size_t width,
             double *fitness, void *user)
{
    Calls *calls = static_cast<Calls *>(user);
    if ((int)calls->calls++ == calls->stop_at) return 1;
    calls->individuals += population;
    for (size_t p = 0; p < population; p++) {
        size_t correct = 0;
        for (size_t r = 0; r < n; r++) {
            const float *row = outputs + (p * n + r) * width;
            size_t best = 0;
            for (size_t j = 1; j < width; j++)
                if (row[j] > row[best]) best = j;
            correct += (float)best == y[r];
        }
        fitness[p] = (double)correct / (double)n;
    }
    return 0;
}

std::vector<float> weights_of(const devo_model *m)
{
    std::vector<float> w(devo_model_param_count(m));
    EXPECT_EQ(devo_model_get_weights(m, w.data(), w.size()), DEVO_OK);
    return w;
}

// Each individual of a population: predict's outputs equal its own model's.
void expect_predict_matches_models(const devo_evolve_options &o)
{
    const size_t inputs = 9, outputs = 4, n = 37;
    Data d = data(n, inputs, outputs);
    devo_model *m = network(inputs, 6, outputs);
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
    std::vector<double> scores(o.population, 0.0);
    for (size_t i = 0; i < o.population; i++) scores[i] = (double)((i * 7) % 5);
    ASSERT_EQ(devo_evolver_tell(e, scores.data()), DEVO_OK); // a bred population, not the first
    const float *rows = nullptr;
    size_t P = 0, D = 0;
    ASSERT_EQ(devo_evolver_ask(e, &rows, &P, &D), DEVO_OK);
    std::vector<float> y(P * n * outputs, NAN), own(n * outputs);
    ASSERT_EQ(devo_evolver_predict(e, d.x.data(), n, y.data()), DEVO_OK) << devo_last_error();
    for (size_t p = 0; p < P; p++) {
        ASSERT_EQ(devo_model_set_weights(m, rows + p * D, D), DEVO_OK);
        ASSERT_EQ(devo_model_predict(m, d.x.data(), n, own.data()), DEVO_OK);
        for (size_t i = 0; i < n * outputs; i++)
            ASSERT_NEAR(y[p * n * outputs + i], own[i], 2e-6) << "individual " << p << " at " << i;
    }
    devo_evolver_free(e);
    devo_model_free(m);
}

TEST(Predict, EveryIndividualOnTheSameInputsIsItsOwnModelsPrediction)
{
    {
        SCOPED_TRACE("ga");
        expect_predict_matches_models(options(DEVO_STRATEGY_GA));
    }
    {
        SCOPED_TRACE("full-rank es");
        expect_predict_matches_models(options(DEVO_STRATEGY_OPENAI_ES));
    }
    {
        SCOPED_TRACE("low-rank es");
        expect_predict_matches_models(options(DEVO_STRATEGY_SNES, 2));
    }
}

TEST(Predict, RefusesBadArgumentsWithAStatus)
{
    devo_model *m = network(3, 2, 2);
    devo_evolve_options o = options(DEVO_STRATEGY_GA);
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    float x[6] = {0, 1, 2, 3, NAN, 5}, y[12 * 2 * 2];
    EXPECT_EQ(devo_evolver_predict(nullptr, x, 2, y), DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(devo_evolver_predict(e, nullptr, 2, y), DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(devo_evolver_predict(e, x, 0, y), DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(devo_evolver_predict(e, x, 2, y), DEVO_ERR_INVALID_ARGUMENT); // the NaN
    EXPECT_NE(std::string(devo_last_error()).find("row 1"), std::string::npos)
        << devo_last_error();
    devo_evolver_free(e);
    devo_model_free(m);
}

// A batched accuracy and the built-in accuracy make the same run, bit for bit.
void expect_batched_run_is_builtins(devo_evolve_options o)
{
    const size_t inputs = 8, outputs = 3, n = 45;
    Data d = data(n, inputs, outputs);
    devo_model *builtin = network(inputs, 5, outputs), *batched = network(inputs, 5, outputs);
    devo_history h1{}, h2{};
    ASSERT_EQ(devo_fit_evolve(builtin, d.x.data(), d.y.data(), n, &o, &h1), DEVO_OK)
        << devo_last_error();
    Calls calls;
    o.batch_fitness_fn = accuracy;
    o.batch_fitness_user = &calls;
    ASSERT_EQ(devo_fit_evolve(batched, d.x.data(), d.y.data(), n, &o, &h2), DEVO_OK)
        << devo_last_error();
    ASSERT_EQ(h1.generations, o.max_generations);
    ASSERT_EQ(h2.generations, o.max_generations);
    for (size_t g = 0; g < h1.generations; g++) {
        EXPECT_EQ(h1.best[g], h2.best[g]) << "generation " << g + 1;
        EXPECT_EQ(h1.mean[g], h2.mean[g]) << "generation " << g + 1;
        if (!std::isnan(h1.center[g])) {
            EXPECT_EQ(h1.center[g], h2.center[g]) << "generation " << g + 1;
        }
    }
    EXPECT_EQ(weights_of(builtin), weights_of(batched));
    // One call per generation (and one more per generation for an ES's centre).
    int es = o.strategy != DEVO_STRATEGY_GA;
    EXPECT_EQ(calls.calls, o.max_generations * (es ? 2u : 1u));
    EXPECT_EQ(calls.individuals, o.max_generations * (o.population + (es ? 1u : 0u)));
    devo_history_free(&h1);
    devo_history_free(&h2);
    devo_model_free(builtin);
    devo_model_free(batched);
}

TEST(BatchFitness, BatchedAccuracyRetracesTheBuiltInAccuracyBitForBit)
{
    {
        SCOPED_TRACE("ga");
        expect_batched_run_is_builtins(options(DEVO_STRATEGY_GA));
    }
    {
        SCOPED_TRACE("ga on sample subsets");
        devo_evolve_options o = options(DEVO_STRATEGY_GA);
        o.fitness_samples = 20;
        expect_batched_run_is_builtins(o);
    }
    {
        SCOPED_TRACE("openai-es");
        expect_batched_run_is_builtins(options(DEVO_STRATEGY_OPENAI_ES));
    }
    {
        SCOPED_TRACE("low-rank pgpe");
        expect_batched_run_is_builtins(options(DEVO_STRATEGY_PGPE, 1));
    }
}

TEST(BatchFitness, InBf16OnTheCpuTheBatchedAccuracyRetracesTheBuiltInOne)
{
    if (devo_bf16_available() != DEVO_OK) GTEST_SKIP() << devo_last_error();
    devo_evolve_options o = options(DEVO_STRATEGY_GA);
    o.precision = DEVO_PRECISION_BF16; // predict rounds its inputs as the evaluation does
    expect_batched_run_is_builtins(o);
}

TEST(BatchFitness, ACallbackThatAsksToStopEndsTheRunWithItsStatusAndLeavesTheModel)
{
    Data d = data(30, 4, 2);
    devo_model *m = network(4, 3, 2);
    std::vector<float> before = weights_of(m);
    devo_evolve_options o = options(DEVO_STRATEGY_GA);
    Calls calls;
    calls.stop_at = 2;
    o.batch_fitness_fn = accuracy;
    o.batch_fitness_user = &calls;
    EXPECT_EQ(devo_fit_evolve(m, d.x.data(), d.y.data(), d.n, &o, nullptr), DEVO_ERR_CALLBACK);
    EXPECT_NE(std::string(devo_last_error()).find("batch_fitness_fn"), std::string::npos);
    EXPECT_EQ(calls.calls, 3u);
    EXPECT_EQ(weights_of(m), before);
    EXPECT_STREQ(devo_status_string(DEVO_ERR_CALLBACK), "DEVO_ERR_CALLBACK");
    devo_model_free(m);
}

double constant_fitness(const devo_model *, const float *, const float *, size_t, void *)
{
    return 1.0;
}

TEST(BatchFitness, ComesAloneAndNeedsNoLossNorTargetsOfTheLossesLayout)
{
    devo_model *m = nullptr;
    ASSERT_EQ(devo_model_create(&m, 4), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 2, DEVO_ACT_SOFTMAX), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_NONE), DEVO_OK);
    Data d = data(30, 4, 2);
    std::vector<float> y(d.n * 2, 0.5f); // n x outputs, as DEVO_LOSS_NONE lays targets out
    devo_evolve_options o = options(DEVO_STRATEGY_GA);
    Calls calls;
    o.batch_fitness_fn = accuracy;
    o.batch_fitness_user = &calls;
    o.fitness_fn = constant_fitness;
    EXPECT_EQ(devo_fit_evolve(m, d.x.data(), y.data(), d.n, &o, nullptr),
              DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(devo_last_error()).find("both"), std::string::npos) << devo_last_error();
    o.fitness_fn = nullptr;
    o.fitness = DEVO_FITNESS_NEG_LOSS; // no loss: fine with a custom fitness
    EXPECT_EQ(devo_fit_evolve(m, d.x.data(), y.data(), d.n, &o, nullptr), DEVO_OK)
        << devo_last_error();
    devo_model_free(m);
}

TEST(BatchFitness, AStateSavedWithABatchedFitnessResumesOnlyWithACustomFitness)
{
    Data d = data(30, 4, 2);
    devo_model *m = network(4, 3, 2);
    devo_evolve_options o = options(DEVO_STRATEGY_GA);
    Calls calls;
    o.batch_fitness_fn = accuracy;
    o.batch_fitness_user = &calls;
    o.max_generations = 2;
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    ASSERT_EQ(devo_evolver_fit(e, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK)
        << devo_last_error();
    std::string path = testing::TempDir() + "/batch-fitness.ckpt";
    ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK) << devo_last_error();
    devo_evolver_free(e);
    devo_evolver *r = nullptr;
    EXPECT_EQ(devo_evolver_load_state(&r, path.c_str(), nullptr), DEVO_ERR_INVALID_ARGUMENT);
    devo_evolve_options more;
    ASSERT_EQ(devo_state_options(path.c_str(), &more), DEVO_OK);
    more.max_generations = 4;
    EXPECT_EQ(devo_evolver_load_state(&r, path.c_str(), &more), DEVO_ERR_INVALID_ARGUMENT);
    more.batch_fitness_fn = accuracy;
    more.batch_fitness_user = &calls;
    ASSERT_EQ(devo_evolver_load_state(&r, path.c_str(), &more), DEVO_OK) << devo_last_error();
    EXPECT_EQ(devo_evolver_fit(r, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
    EXPECT_EQ(devo_evolver_generation(r), 4u);
    devo_evolver_free(r);
    std::remove(path.c_str());
    devo_model_free(m);
}

} // namespace
