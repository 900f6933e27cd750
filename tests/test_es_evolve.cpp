// The evolution strategies end to end through the public API: each improves a 100-dimensional
// sphere (ask/tell) and a small classification problem (devo_fit_evolve), full and low rank;
// results do not depend on the thread count; antithetic pairs cancel on a constant fitness; the
// centre is what a run returns; bad options are refused naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "devo.h"

namespace {

const devo_strategy kStrategies[] = {DEVO_STRATEGY_OPENAI_ES, DEVO_STRATEGY_PGPE,
                                     DEVO_STRATEGY_SNES};

devo_model *dense(size_t inputs, std::vector<size_t> units, devo_activation out, devo_loss loss)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, inputs), DEVO_OK);
    for (size_t l = 0; l < units.size(); l++)
        EXPECT_EQ(devo_model_add_dense(m, units[l], l + 1 < units.size() ? DEVO_ACT_RELU : out),
                  DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, loss), DEVO_OK);
    return m;
}

devo_evolve_options es_options(devo_strategy strategy, size_t population, size_t rank)
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.strategy = strategy;
    o.population = population;
    o.perturbation_rank = rank;
    o.verbose = 0;
    o.seed = 5;
    o.threads = 1;
    o.backend = DEVO_BACKEND_CPU;
    return o;
}

std::vector<float> weights(const devo_model *m)
{
    std::vector<float> w(devo_model_param_count(m));
    EXPECT_EQ(devo_model_get_weights(m, w.data(), w.size()), DEVO_OK);
    return w;
}

double sphere(const float *w, size_t D)
{
    double sum = 0.0;
    for (size_t j = 0; j < D; j++) sum += (double)w[j] * w[j];
    return sum;
}

TEST(EsEvolve, EveryStrategyShrinksA100DimensionalSphereThroughAskTell)
{
    devo_model *m = dense(9, {10}, DEVO_ACT_LINEAR, DEVO_LOSS_MSE); // D = 100
    std::vector<float> start(100, 1.0f);
    ASSERT_EQ(devo_model_set_weights(m, start.data(), 100), DEVO_OK);
    for (devo_strategy s : kStrategies) {
        devo_evolve_options o = es_options(s, 40, 0);
        o.sigma = 0.1;
        if (s == DEVO_STRATEGY_OPENAI_ES) o.learning_rate = 0.05;
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
        std::vector<double> fitness(40);
        for (int g = 0; g < 150; g++) {
            const float *pop;
            size_t P, D;
            ASSERT_EQ(devo_evolver_ask(e, &pop, &P, &D), DEVO_OK);
            for (size_t i = 0; i < P; i++) fitness[i] = -sphere(pop + i * D, D);
            ASSERT_EQ(devo_evolver_tell(e, fitness.data()), DEVO_OK);
        }
        devo_model *center = nullptr;
        ASSERT_EQ(devo_model_clone(m, &center), DEVO_OK);
        double reported = 0.0;
        ASSERT_EQ(devo_evolver_best(e, center, &reported), DEVO_OK);
        EXPECT_TRUE(std::isnan(reported)); // devo does not score the centre in ask/tell
        double end = sphere(weights(center).data(), 100);
        EXPECT_LT(end, 0.25 * 100.0) << "strategy " << (int)s;
        devo_model_free(center);
        devo_evolver_free(e);
    }
    devo_model_free(m);
}

// Two classes in 6 dimensions: class 1 when x0 + x1 - x2 > 0.
void linear_classes(size_t n, std::vector<float> &x, std::vector<float> &y)
{
    x.resize(n * 6);
    y.resize(n);
    for (size_t i = 0; i < n; i++) {
        for (size_t d = 0; d < 6; d++) x[i * 6 + d] = std::sin(1.3f * (float)(i * 6 + d) + 0.4f);
        y[i] = x[i * 6] + x[i * 6 + 1] - x[i * 6 + 2] > 0.0f ? 1.0f : 0.0f;
    }
}

struct FitResult {
    std::vector<float> w;
    std::vector<double> center, best;
    double accuracy;
};

FitResult fit(devo_strategy s, size_t rank, int threads, size_t generations = 60)
{
    std::vector<float> x, y;
    linear_classes(200, x, y);
    devo_model *m = dense(6, {8, 2}, DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    EXPECT_EQ(devo_model_init_weights(m, 1), DEVO_OK);
    devo_evolve_options o = es_options(s, 32, rank);
    o.max_generations = generations;
    o.threads = threads;
    o.fitness_samples = 100;
    o.batch_size = 32; // several chunks
    devo_history h = {};
    EXPECT_EQ(devo_fit_evolve(m, x.data(), y.data(), 200, &o, &h), DEVO_OK) << devo_last_error();
    FitResult r{weights(m), std::vector<double>(h.center, h.center + h.generations),
          std::vector<double>(h.best, h.best + h.generations), 0.0};
    EXPECT_EQ(devo_model_evaluate(m, x.data(), y.data(), 200, nullptr, &r.accuracy), DEVO_OK);
    devo_history_free(&h);
    devo_model_free(m);
    return r;
}

TEST(EsEvolve, EveryStrategyLearnsASmallClassificationFullAndLowRank)
{
    for (devo_strategy s : kStrategies)
        for (size_t rank : {0u, 1u}) {
            FitResult r = fit(s, rank, 1);
            EXPECT_GE(r.accuracy, 0.85) << "strategy " << (int)s << " rank " << rank;
            for (double c : r.center) EXPECT_TRUE(std::isfinite(c));
            EXPECT_GT(r.center.back(), r.center.front()) << "strategy " << (int)s;
        }
}

TEST(EsEvolve, ResultsDoNotDependOnTheThreadCount)
{
    for (devo_strategy s : kStrategies)
        for (size_t rank : {0u, 2u}) {
            FitResult one = fit(s, rank, 1, 8), two = fit(s, rank, 2, 8);
            EXPECT_EQ(one.w, two.w) << "strategy " << (int)s << " rank " << rank;
            EXPECT_EQ(one.center, two.center);
            EXPECT_EQ(one.best, two.best);
        }
}

TEST(EsEvolve, AntitheticPairsCancelOnAConstantFitness)
{
    devo_model *m = dense(4, {3, 2}, DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    ASSERT_EQ(devo_model_init_weights(m, 2), DEVO_OK);
    std::vector<float> start = weights(m);
    for (devo_strategy s : {DEVO_STRATEGY_OPENAI_ES, DEVO_STRATEGY_PGPE})
        for (size_t rank : {0u, 1u}) {
            devo_evolve_options o = es_options(s, 8, rank);
            devo_evolver *e = nullptr;
            ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
            std::vector<double> flat(8, -0.5);
            for (int g = 0; g < 3; g++) ASSERT_EQ(devo_evolver_tell(e, flat.data()), DEVO_OK);
            devo_model *center = nullptr;
            ASSERT_EQ(devo_model_clone(m, &center), DEVO_OK);
            ASSERT_EQ(devo_evolver_best(e, center, nullptr), DEVO_OK);
            EXPECT_EQ(weights(center), start) << "strategy " << (int)s << " rank " << rank;
            // The population is the centre plus and minus each direction.
            const float *pop;
            size_t P, D;
            ASSERT_EQ(devo_evolver_ask(e, &pop, &P, &D), DEVO_OK);
            for (size_t j = 0; j < D; j++)
                EXPECT_NEAR(pop[j] + pop[D + j], 2 * start[j], 1e-6);
            devo_model_free(center);
            devo_evolver_free(e);
        }
    devo_model_free(m);
}

TEST(EsEvolve, ForwardRunsEachAskedIndividualOnItsOwnInputs)
{
    devo_model *m = dense(5, {6, 3}, DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    ASSERT_EQ(devo_model_init_weights(m, 4), DEVO_OK);
    for (size_t rank : {0u, 2u}) {
        devo_evolve_options o = es_options(DEVO_STRATEGY_PGPE, 6, rank);
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
        std::vector<double> fitness = {0.1, 0.5, -0.2, 0.3, 0.0, 0.7};
        ASSERT_EQ(devo_evolver_tell(e, fitness.data()), DEVO_OK); // a moved centre and sigma
        size_t rows = 4, P = 6;
        std::vector<float> x(P * rows * 5), y(P * rows * 3), want(rows * 3);
        for (size_t i = 0; i < x.size(); i++) x[i] = std::cos(0.37f * (float)i);
        for (int call = 0; call < 2; call++) // the work space is kept between calls
            ASSERT_EQ(devo_evolver_forward(e, x.data(), rows, y.data()), DEVO_OK);
        const float *pop;
        ASSERT_EQ(devo_evolver_ask(e, &pop, nullptr, nullptr), DEVO_OK);
        size_t D = devo_model_param_count(m);
        for (size_t p = 0; p < P; p++) {
            ASSERT_EQ(devo_model_set_weights(m, pop + p * D, D), DEVO_OK);
            ASSERT_EQ(devo_model_predict(m, x.data() + p * rows * 5, rows, want.data()), DEVO_OK);
            for (size_t j = 0; j < want.size(); j++)
                EXPECT_NEAR(y[p * rows * 3 + j], want[j], 1e-5) << "rank " << rank << " p " << p;
        }
        devo_evolver_free(e);
    }
    devo_model_free(m);
}

TEST(EsEvolve, TheGaReportsNoCentre)
{
    devo_model *m = dense(4, {2}, DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    std::vector<float> x = {0, 1, 0, 1, 1, 0, 1, 0}, y = {0, 1};
    devo_evolve_options o = es_options(DEVO_STRATEGY_GA, 8, 0);
    o.max_generations = 2;
    devo_history h = {};
    ASSERT_EQ(devo_fit_evolve(m, x.data(), y.data(), 2, &o, &h), DEVO_OK);
    EXPECT_TRUE(std::isnan(h.center[0]));
    EXPECT_TRUE(std::isnan(h.center[1]));
    devo_history_free(&h);
    devo_model_free(m);
}

void expect_refused(const devo_evolve_options &o, const devo_model *m, const std::string &field)
{
    devo_evolver *e = nullptr;
    EXPECT_EQ(devo_evolver_create(&e, m, &o), DEVO_ERR_INVALID_ARGUMENT) << field;
    EXPECT_NE(std::string(devo_last_error()).find(field), std::string::npos) << devo_last_error();
    EXPECT_EQ(e, nullptr);
}

TEST(EsEvolve, BadOptionsAreRefusedNamingTheField)
{
    devo_model *m = dense(4, {3, 2}, DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    devo_evolve_options o = es_options(DEVO_STRATEGY_PGPE, 8, 0);
    o.sigma = -0.1;
    expect_refused(o, m, "sigma");
    o = es_options(DEVO_STRATEGY_OPENAI_ES, 8, 0);
    o.learning_rate = NAN;
    expect_refused(o, m, "learning_rate");
    o = es_options(DEVO_STRATEGY_SNES, 8, 3); // layer 1 is 3 -> 2
    expect_refused(o, m, "perturbation_rank");
    o = es_options(DEVO_STRATEGY_PGPE, 7, 0);
    expect_refused(o, m, "population must be even");
    o = es_options(DEVO_STRATEGY_SNES, 8, 0);
    o.weight_decay = -1;
    expect_refused(o, m, "weight_decay");
    o.weight_decay = 0;
    o.sigma_final = INFINITY;
    expect_refused(o, m, "sigma_final");
    o = es_options((devo_strategy)9, 8, 0);
    expect_refused(o, m, "strategy");
    o = es_options(DEVO_STRATEGY_SNES, 7, 2); // SNES is not antithetic: odd is fine
    devo_evolver *e = nullptr;
    EXPECT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    devo_evolver_free(e);
    devo_model_free(m);
}

} // namespace
