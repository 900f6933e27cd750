// Evolution end to end on the CPU backend: learning, determinism, elite reuse, custom fitness,
// sample subsets, early stop, NaN handling, ask/tell and the batched forward.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "devo.h"

namespace {

// Two Gaussian clusters in `dim` dimensions: class 0 around -1, class 1 around +1 (std 0.6).
struct Blobs {
    std::vector<float> x, y;
    size_t n, dim;
};

Blobs blobs(size_t n, size_t dim, uint32_t salt = 0)
{
    Blobs b{std::vector<float>(n * dim), std::vector<float>(n), n, dim};
    uint32_t state = 12345 + salt;
    auto uniform = [&state]() {
        state = state * 1664525u + 1013904223u;
        return ((state >> 8) + 0.5) / 16777216.0;
    };
    for (size_t i = 0; i < n; i++) {
        int label = (int)(i % 2);
        b.y[i] = (float)label;
        for (size_t d = 0; d < dim; d++) {
            double g = std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307 * uniform());
            b.x[i * dim + d] = (float)((label ? 1.0 : -1.0) + 0.6 * g);
        }
    }
    return b;
}

devo_model *mlp(size_t inputs, std::vector<size_t> hidden, size_t outputs, devo_loss loss,
                devo_activation out_act = DEVO_ACT_SOFTMAX, uint64_t seed = 0)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, inputs), DEVO_OK);
    for (size_t units : hidden) EXPECT_EQ(devo_model_add_dense(m, units, DEVO_ACT_RELU), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, outputs, out_act), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, loss), DEVO_OK);
    EXPECT_EQ(devo_model_init_weights(m, seed), DEVO_OK);
    return m;
}

std::vector<float> weights(const devo_model *m)
{
    std::vector<float> w(devo_model_param_count(m));
    EXPECT_EQ(devo_model_get_weights(m, w.data(), w.size()), DEVO_OK);
    return w;
}

devo_evolve_options quiet_options()
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.backend = DEVO_BACKEND_CPU;
    return o;
}

TEST(Evolve, OptionsDefaultsAreDeepevolutions)
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    EXPECT_EQ(o.max_generations, 100u);
    EXPECT_EQ(o.population, 16u);
    EXPECT_EQ(o.top_k, 4u);
    EXPECT_DOUBLE_EQ(o.mutation_rate, 0.2);
    EXPECT_DOUBLE_EQ(o.mutation_std, 0.03);
    EXPECT_DOUBLE_EQ(o.init_std, 0.03);
    EXPECT_EQ(o.verbose, 1);
    EXPECT_EQ(o.fitness, DEVO_FITNESS_NEG_LOSS);
    EXPECT_EQ(o.fitness_fn, nullptr);
    EXPECT_EQ(o.batch_size, 1024u);
    EXPECT_EQ(o.fitness_samples, 0u);
    EXPECT_EQ(o.backend, DEVO_BACKEND_AUTO);
    EXPECT_EQ(o.precision, DEVO_PRECISION_FP32);
}

TEST(Evolve, ReachesNinetyFivePercentOnALinearlySeparableProblem)
{
    Blobs data = blobs(2000, 4);
    devo_model *m = mlp(4, {}, 2, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    devo_evolve_options o = quiet_options();
    o.max_generations = 60;
    o.population = 32;
    o.top_k = 6;
    o.mutation_std = 0.1;
    o.init_std = 0.3;
    o.seed = 3;
    ASSERT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, nullptr), DEVO_OK)
        << devo_last_error();
    Blobs test = blobs(2000, 4, 99);
    double accuracy = 0;
    ASSERT_EQ(devo_model_evaluate(m, test.x.data(), test.y.data(), test.n, nullptr, &accuracy),
              DEVO_OK);
    EXPECT_GE(accuracy, 0.95);
    devo_model_free(m);
}

TEST(Evolve, ImprovesTheFitnessAndKeepsConsistentHistory)
{
    Blobs data = blobs(1500, 6);
    devo_model *m = mlp(6, {8}, 2, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    devo_evolve_options o = quiet_options();
    o.max_generations = 25;
    devo_history h{};
    ASSERT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, &h), DEVO_OK);
    ASSERT_EQ(h.generations, 25u);
    EXPECT_GT(h.best[24], h.best[0]);
    for (size_t g = 0; g < h.generations; g++) {
        EXPECT_LE(h.mean[g], h.best[g] + 1e-12);
        EXPECT_GE(h.std[g], 0.0);
        EXPECT_GE(h.best_ever[g], h.best[g]);
        if (g == 0) continue;
        EXPECT_GE(h.best_ever[g], h.best_ever[g - 1]);
        EXPECT_GE(h.seconds[g], h.seconds[g - 1]);
        // Elites survive unchanged and keep their (deterministic) fitness: best never drops.
        EXPECT_GE(h.best[g], h.best[g - 1]);
    }
    // Deterministic fitness: elites are not re-evaluated. P + (G - 1) (P - k) evaluations.
    EXPECT_EQ(h.evaluations[24], 16u + 24u * 12u);
    // The model holds the best individual of the last generation.
    double loss = 0;
    ASSERT_EQ(devo_model_evaluate(m, data.x.data(), data.y.data(), data.n, &loss, nullptr),
              DEVO_OK);
    EXPECT_NEAR(-loss, h.best[24], 1e-6);
    devo_history_free(&h);
    devo_history_free(&h); // zeroed: a second free is harmless
    devo_model_free(m);
}

std::vector<float> run_weights(uint64_t seed, int threads, size_t fitness_samples = 0)
{
    Blobs data = blobs(3000, 64);
    devo_model *m = mlp(64, {32}, 2, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    devo_evolve_options o = quiet_options();
    o.max_generations = 6;
    o.seed = seed;
    o.threads = threads;
    o.fitness_samples = fitness_samples;
    EXPECT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, nullptr), DEVO_OK);
    std::vector<float> w = weights(m);
    devo_model_free(m);
    return w;
}

TEST(Evolve, SameSeedGivesBitwiseTheSameRunWhateverTheThreadCount)
{
    std::vector<float> one = run_weights(5, 1), two = run_weights(5, 2);
    EXPECT_EQ(one, two);
    EXPECT_EQ(run_weights(5, 1, 700), run_weights(5, 2, 700));
}

TEST(Evolve, AnotherSeedGivesAnotherRun)
{
    EXPECT_NE(run_weights(5, 1), run_weights(6, 1));
}

struct CustomState {
    size_t calls = 0;
    size_t n_seen = 0;
};

// A fitness no gradient follows: minus the number of weights with |w| > 0.05, then minus the
// distance of the first weight to 1 as a tie-break.
double sparse_fitness(const devo_model *candidate, const float *, const float *, size_t n,
                      void *user)
{
    auto *s = static_cast<CustomState *>(user);
    s->calls++;
    s->n_seen = n;
    std::vector<float> w(devo_model_param_count(candidate));
    devo_model_get_weights(candidate, w.data(), w.size());
    double large = 0;
    for (float v : w) large += std::fabs(v) > 0.05f;
    return -large - std::fabs(w[0] - 1.0);
}

TEST(Evolve, CustomFitnessIsCalledForEveryIndividualEveryGeneration)
{
    Blobs data = blobs(200, 3);
    devo_model *m = mlp(3, {}, 2, DEVO_LOSS_NONE);
    devo_evolve_options o = quiet_options();
    o.max_generations = 30;
    o.mutation_rate = 0.5;
    o.mutation_std = 0.05;
    CustomState state;
    o.fitness_fn = sparse_fitness;
    o.fitness_user = &state;
    devo_history h{};
    ASSERT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, &h), DEVO_OK)
        << devo_last_error();
    EXPECT_EQ(state.calls, 30u * 16u); // custom fitness: elites are re-evaluated
    EXPECT_EQ(state.n_seen, 200u);
    EXPECT_EQ(h.evaluations[29], 30u * 16u);
    EXPECT_GT(h.best[29], h.best[0]);
    EXPECT_DOUBLE_EQ(sparse_fitness(m, nullptr, nullptr, 0, &state), h.best[29]);
    devo_history_free(&h);
    devo_model_free(m);
}

TEST(Evolve, FitnessSamplesDrawsASubsetAndReevaluatesElites)
{
    Blobs data = blobs(1000, 3);
    devo_model *m = mlp(3, {}, 2, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    devo_evolve_options o = quiet_options();
    o.max_generations = 5;
    o.fitness_samples = 64;
    CustomState state;
    o.fitness_fn = sparse_fitness;
    o.fitness_user = &state;
    devo_history h{};
    ASSERT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, &h), DEVO_OK);
    EXPECT_EQ(state.n_seen, 64u);
    o.fitness_fn = nullptr;
    ASSERT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, &h), DEVO_OK);
    EXPECT_EQ(h.evaluations[4], 5u * 16u);
    devo_history_free(&h);
    devo_model_free(m);
}

int stop_at_three(const devo_generation_stats *s, void *user)
{
    *static_cast<size_t *>(user) = s->generation;
    return s->generation == 3;
}

TEST(Evolve, OnGenerationStopsTheRunCleanly)
{
    Blobs data = blobs(300, 3);
    devo_model *m = mlp(3, {}, 2, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    devo_evolve_options o = quiet_options();
    size_t last = 0;
    o.on_generation = stop_at_three;
    o.on_generation_user = &last;
    devo_history h{};
    ASSERT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, &h), DEVO_OK);
    EXPECT_EQ(last, 3u);
    EXPECT_EQ(h.generations, 3u);
    double loss = 0;
    devo_model_evaluate(m, data.x.data(), data.y.data(), data.n, &loss, nullptr);
    EXPECT_NEAR(-loss, h.best[2], 1e-6);
    devo_history_free(&h);
    devo_model_free(m);
}

struct NanState {
    std::map<std::vector<float>, double> scores;
};

// NaN for every individual whose first weight is above the median-ish value 0; else -|w0|.
double sometimes_nan(const devo_model *candidate, const float *, const float *, size_t, void *user)
{
    auto *s = static_cast<NanState *>(user);
    std::vector<float> w = weights(candidate);
    double f = w[0] > 0.0f ? NAN : -std::fabs(w[1]);
    s->scores[w] = f;
    return f;
}

double always_nan(const devo_model *, const float *, const float *, size_t, void *) { return NAN; }

TEST(Evolve, NanFitnessNeverBecomesTheModel)
{
    Blobs data = blobs(50, 3);
    devo_model *m = mlp(3, {}, 2, DEVO_LOSS_NONE);
    devo_evolve_options o = quiet_options();
    o.max_generations = 8;
    o.init_std = 1.0;
    NanState state;
    o.fitness_fn = sometimes_nan;
    o.fitness_user = &state;
    ASSERT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, nullptr), DEVO_OK);
    auto found = state.scores.find(weights(m));
    ASSERT_NE(found, state.scores.end());
    EXPECT_FALSE(std::isnan(found->second));

    std::vector<float> before = weights(m);
    o.fitness_fn = always_nan;
    EXPECT_EQ(devo_fit_evolve(m, data.x.data(), data.y.data(), data.n, &o, nullptr),
              DEVO_ERR_NUMERIC);
    EXPECT_NE(std::string(devo_last_error()).find("NaN"), std::string::npos);
    EXPECT_EQ(weights(m), before);
    devo_model_free(m);
}

TEST(AskTell, RoundTripKeepsElitesAndImproves)
{
    devo_model *m = mlp(3, {4}, 2, DEVO_LOSS_NONE);
    devo_evolve_options o = quiet_options();
    o.population = 10;
    o.top_k = 3;
    o.seed = 9;
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    const float *pop = nullptr;
    size_t P = 0, D = 0;
    ASSERT_EQ(devo_evolver_ask(e, &pop, &P, &D), DEVO_OK);
    ASSERT_EQ(P, 10u);
    ASSERT_EQ(D, devo_model_param_count(m));
    EXPECT_EQ(std::vector<float>(pop, pop + D), weights(m)); // individual 0 unchanged
    double first_best = 0, best = 0;
    for (int g = 0; g < 40; g++) {
        ASSERT_EQ(devo_evolver_ask(e, &pop, nullptr, nullptr), DEVO_OK);
        std::vector<double> f(P);
        for (size_t i = 0; i < P; i++) {
            double d = 0;
            for (size_t j = 0; j < D; j++) d += std::pow(pop[i * D + j] - 0.5, 2);
            f[i] = -d;
        }
        // The elites of the previous generation come first, unchanged.
        std::vector<size_t> idx(P);
        for (size_t i = 0; i < P; i++) idx[i] = i;
        std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return f[a] > f[b]; });
        std::vector<std::vector<float>> elites;
        for (size_t r = 0; r < 3; r++)
            elites.emplace_back(pop + idx[r] * D, pop + idx[r] * D + D);
        devo_generation_stats s{};
        ASSERT_EQ(devo_evolver_tell(e, f.data()), DEVO_OK);
        ASSERT_EQ(devo_evolver_stats(e, &s), DEVO_OK);
        EXPECT_EQ(s.evaluations, 10u * (g + 1));
        EXPECT_EQ(s.generation, (size_t)g + 1);
        EXPECT_DOUBLE_EQ(s.best, f[idx[0]]);
        if (g == 0) first_best = s.best;
        best = s.best;
        ASSERT_EQ(devo_evolver_ask(e, &pop, nullptr, nullptr), DEVO_OK);
        for (size_t r = 0; r < 3; r++)
            EXPECT_EQ(std::vector<float>(pop + r * D, pop + r * D + D), elites[r]);
    }
    EXPECT_GT(best, first_best);
    EXPECT_EQ(devo_evolver_generation(e), 40u);
    double got = 0;
    devo_model *dst = mlp(3, {4}, 2, DEVO_LOSS_NONE);
    ASSERT_EQ(devo_evolver_best(e, dst, &got), DEVO_OK);
    EXPECT_DOUBLE_EQ(got, best);
    ASSERT_EQ(devo_evolver_ask(e, &pop, nullptr, nullptr), DEVO_OK);
    EXPECT_EQ(weights(dst), std::vector<float>(pop, pop + D)); // best is elite 0
    std::vector<double> nans(P, NAN);
    EXPECT_EQ(devo_evolver_tell(e, nans.data()), DEVO_ERR_NUMERIC);
    EXPECT_EQ(devo_evolver_generation(e), 40u);
    devo_model_free(dst);
    devo_evolver_free(e);
    devo_model_free(m);
}

TEST(AskTell, ForwardRunsEveryIndividualOnItsOwnInputs)
{
    devo_model *m = mlp(5, {7}, 3, DEVO_LOSS_NONE, DEVO_ACT_SOFTMAX);
    devo_evolve_options o = quiet_options();
    o.population = 6;
    o.top_k = 2;
    o.init_std = 0.5;
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    const size_t P = 6, rows = 4, D = devo_model_param_count(m);
    std::vector<float> x(P * rows * 5), y(P * rows * 3);
    for (size_t i = 0; i < x.size(); i++) x[i] = std::cos(0.3f * (float)i);
    ASSERT_EQ(devo_evolver_forward(e, x.data(), rows, y.data()), DEVO_OK);
    const float *pop = nullptr;
    ASSERT_EQ(devo_evolver_ask(e, &pop, nullptr, nullptr), DEVO_OK);
    for (size_t p = 0; p < P; p++) {
        ASSERT_EQ(devo_model_set_weights(m, pop + p * D, D), DEVO_OK);
        std::vector<float> expect(rows * 3);
        ASSERT_EQ(devo_model_predict(m, x.data() + p * rows * 5, rows, expect.data()), DEVO_OK);
        for (size_t j = 0; j < expect.size(); j++)
            EXPECT_NEAR(y[p * rows * 3 + j], expect[j], 1e-6) << "individual " << p;
    }
    devo_evolver_free(e);
    devo_model_free(m);
}

TEST(AskTell, ForwardIsTheSameBitsOnEveryThreadCountAndBatch)
{
    devo_model *m = mlp(5, {7}, 3, DEVO_LOSS_NONE, DEVO_ACT_SOFTMAX);
    const size_t P = 7, rows = 6;
    std::vector<float> x(P * rows * 5), first;
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.7f * (float)i);
    for (int threads : {1, 2, 3}) {
        devo_evolve_options o = quiet_options();
        o.population = P;
        o.top_k = 2;
        o.init_std = 0.5;
        o.threads = threads;
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
        // fewer rows, then more: the kept work space grows
        std::vector<float> few(P * 2 * 3), y(P * rows * 3);
        ASSERT_EQ(devo_evolver_forward(e, x.data(), 2, few.data()), DEVO_OK);
        ASSERT_EQ(devo_evolver_forward(e, x.data(), rows, y.data()), DEVO_OK);
        if (first.empty()) first = y;
        EXPECT_EQ(std::memcmp(y.data(), first.data(), y.size() * sizeof(float)), 0)
            << threads << " threads";
        devo_evolver_free(e);
    }
    devo_model_free(m);
}

} // namespace
