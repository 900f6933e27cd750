// Every bad input to the API gets the right status and a message naming the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "devo.h"

extern "C" {
#include "device.h" // devo_device_cuda: NULL when built without CUDA
}

namespace {

devo_model *compiled(devo_loss loss = DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, 3), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 2, DEVO_ACT_SOFTMAX), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, loss), DEVO_OK);
    return m;
}

void expect_error(devo_status got, devo_status want, const char *mentions)
{
    EXPECT_EQ(got, want) << devo_status_string(got);
    EXPECT_NE(std::string(devo_last_error()).find(mentions), std::string::npos)
        << "message '" << devo_last_error() << "' does not mention '" << mentions << "'";
}

TEST(Errors, StatusValuesAndNamesAreStable)
{
    EXPECT_EQ(DEVO_OK, 0);
    EXPECT_EQ(DEVO_ERR_INVALID_ARGUMENT, 1);
    EXPECT_EQ(DEVO_ERR_OUT_OF_MEMORY, 2);
    EXPECT_EQ(DEVO_ERR_IO, 3);
    EXPECT_EQ(DEVO_ERR_FORMAT, 4);
    EXPECT_EQ(DEVO_ERR_UNSUPPORTED, 5);
    EXPECT_EQ(DEVO_ERR_BACKEND, 6);
    EXPECT_EQ(DEVO_ERR_NUMERIC, 7);
    EXPECT_STREQ(devo_status_string(DEVO_ERR_FORMAT), "DEVO_ERR_FORMAT");
    EXPECT_STREQ(devo_status_string((devo_status)999), "DEVO_ERR_UNKNOWN");
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", DEVO_VERSION_MAJOR, DEVO_VERSION_MINOR,
             DEVO_VERSION_PATCH);
    EXPECT_STREQ(devo_version_string(), expected);
}

TEST(Errors, ModelBuildingRejectsBadCalls)
{
    devo_model *m = nullptr;
    expect_error(devo_model_create(nullptr, 3), DEVO_ERR_INVALID_ARGUMENT, "out");
    expect_error(devo_model_create(&m, 0), DEVO_ERR_INVALID_ARGUMENT, "input_dim");
    ASSERT_EQ(devo_model_create(&m, 3), DEVO_OK);
    expect_error(devo_model_add_dense(m, 0, DEVO_ACT_RELU), DEVO_ERR_INVALID_ARGUMENT, "units");
    expect_error(devo_model_add_dense(m, 2, (devo_activation)42), DEVO_ERR_INVALID_ARGUMENT,
                 "activation");
    expect_error(devo_model_compile(m, DEVO_LOSS_MSE), DEVO_ERR_INVALID_ARGUMENT, "no layers");
    ASSERT_EQ(devo_model_add_dense(m, 1, DEVO_ACT_SIGMOID), DEVO_OK);
    expect_error(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY),
                 DEVO_ERR_INVALID_ARGUMENT, "outputs");
    float w[4] = {0, 0, 0, 0};
    expect_error(devo_model_set_weights(m, w, 4), DEVO_ERR_INVALID_ARGUMENT, "not compiled");
    expect_error(devo_model_init_weights(m, 1), DEVO_ERR_INVALID_ARGUMENT, "not compiled");
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_BINARY_CROSSENTROPY), DEVO_OK);
    expect_error(devo_model_add_dense(m, 2, DEVO_ACT_RELU), DEVO_ERR_INVALID_ARGUMENT, "compiled");
    expect_error(devo_model_compile(m, DEVO_LOSS_MSE), DEVO_ERR_INVALID_ARGUMENT, "already");
    expect_error(devo_model_set_weights(m, w, 3), DEVO_ERR_INVALID_ARGUMENT, "4 weights");
    expect_error(devo_model_get_weights(m, nullptr, 4), DEVO_ERR_INVALID_ARGUMENT, "NULL");
    expect_error(devo_model_layer(m, 1, nullptr, nullptr), DEVO_ERR_INVALID_ARGUMENT, "index");
    EXPECT_EQ(devo_model_param_count(nullptr), 0u);
    devo_model_free(m);
    devo_model_free(nullptr);
}

TEST(Errors, PredictAndEvaluateRejectBadCalls)
{
    devo_model *m = compiled();
    float x[6] = {0}, y[4] = {0}, t[2] = {0, 1};
    expect_error(devo_model_predict(m, nullptr, 2, y), DEVO_ERR_INVALID_ARGUMENT, "x");
    expect_error(devo_model_predict(m, x, 0, y), DEVO_ERR_INVALID_ARGUMENT, "n must");
    expect_error(devo_model_predict(m, x, 2, nullptr), DEVO_ERR_INVALID_ARGUMENT, "y");
    float bad[2] = {0, 2};
    expect_error(devo_model_evaluate(m, x, bad, 2, nullptr, nullptr), DEVO_ERR_INVALID_ARGUMENT,
                 "class index");
    float half[2] = {0, 0.5f};
    expect_error(devo_model_evaluate(m, x, half, 2, nullptr, nullptr), DEVO_ERR_INVALID_ARGUMENT,
                 "row 1");
    devo_model *none = compiled(DEVO_LOSS_NONE);
    double loss = 0;
    expect_error(devo_model_evaluate(none, x, y, 2, &loss, nullptr), DEVO_ERR_INVALID_ARGUMENT,
                 "DEVO_LOSS_NONE");
    EXPECT_EQ(devo_model_evaluate(m, x, t, 2, &loss, nullptr), DEVO_OK);
    devo_model_free(none);
    devo_model_free(m);
}

struct FitCase {
    const char *what;
    void (*change)(devo_evolve_options &);
    const char *mentions;
};

TEST(Errors, FitEvolveRejectsBadOptions)
{
    devo_model *m = compiled();
    float x[12] = {0}, y[4] = {0, 1, 0, 1};
    const FitCase cases[] = {
        {"top_k > population", [](devo_evolve_options &o) { o.top_k = 17; }, "top_k"},
        {"top_k = 0", [](devo_evolve_options &o) { o.top_k = 0; }, "top_k"},
        {"population < 2", [](devo_evolve_options &o) { o.population = 1; }, "population"},
        {"negative rate", [](devo_evolve_options &o) { o.mutation_rate = -0.1; }, "mutation_rate"},
        {"rate > 1", [](devo_evolve_options &o) { o.mutation_rate = 1.5; }, "mutation_rate"},
        {"NaN rate", [](devo_evolve_options &o) { o.mutation_rate = NAN; }, "mutation_rate"},
        {"negative std", [](devo_evolve_options &o) { o.mutation_std = -1; }, "mutation_std"},
        {"NaN init std", [](devo_evolve_options &o) { o.init_std = NAN; }, "init_std"},
        {"batch 0", [](devo_evolve_options &o) { o.batch_size = 0; }, "batch_size"},
        {"verbose 3", [](devo_evolve_options &o) { o.verbose = 3; }, "verbose"},
        {"threads -1", [](devo_evolve_options &o) { o.threads = -1; }, "threads"},
        {"subset > n", [](devo_evolve_options &o) { o.fitness_samples = 5; }, "fitness_samples"},
        {"bad backend", [](devo_evolve_options &o) { o.backend = (devo_backend)9; }, "backend"},
        {"bad fitness", [](devo_evolve_options &o) { o.fitness = (devo_fitness)9; }, "fitness"},
    };
    for (const FitCase &c : cases) {
        devo_evolve_options o;
        devo_evolve_options_init(&o);
        o.verbose = 0;
        c.change(o);
        SCOPED_TRACE(c.what);
        expect_error(devo_fit_evolve(m, x, y, 4, &o, nullptr), DEVO_ERR_INVALID_ARGUMENT,
                     c.mentions);
    }
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    expect_error(devo_fit_evolve(nullptr, x, y, 4, &o, nullptr), DEVO_ERR_INVALID_ARGUMENT,
                 "model");
    expect_error(devo_fit_evolve(m, nullptr, y, 4, &o, nullptr), DEVO_ERR_INVALID_ARGUMENT, "x");
    expect_error(devo_fit_evolve(m, x, nullptr, 4, &o, nullptr), DEVO_ERR_INVALID_ARGUMENT, "y");
    expect_error(devo_fit_evolve(m, x, y, 0, &o, nullptr), DEVO_ERR_INVALID_ARGUMENT, "n must");
    o.precision = DEVO_PRECISION_TF32;
    o.backend = DEVO_BACKEND_CPU;
    expect_error(devo_fit_evolve(m, x, y, 4, &o, nullptr), DEVO_ERR_UNSUPPORTED, "TF32");
    devo_model_free(m);
}

TEST(Errors, FitEvolveNeedsACompiledModelAndALossForNegLoss)
{
    devo_model *raw = nullptr;
    ASSERT_EQ(devo_model_create(&raw, 3), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(raw, 2, DEVO_ACT_SOFTMAX), DEVO_OK);
    float x[12] = {0}, y[8] = {0};
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    expect_error(devo_fit_evolve(raw, x, y, 4, &o, nullptr), DEVO_ERR_INVALID_ARGUMENT,
                 "not compiled");
    devo_model *none = compiled(DEVO_LOSS_NONE);
    expect_error(devo_fit_evolve(none, x, y, 4, &o, nullptr), DEVO_ERR_INVALID_ARGUMENT,
                 "DEVO_LOSS_NONE");
    o.fitness = DEVO_FITNESS_ACCURACY;
    o.max_generations = 2;
    EXPECT_EQ(devo_fit_evolve(none, x, y, 4, &o, nullptr), DEVO_OK) << devo_last_error();
    devo_model_free(none);
    devo_model_free(raw);
}

TEST(Errors, AskTellRejectsBadCalls)
{
    devo_model *m = compiled();
    devo_evolver *e = nullptr;
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.top_k = 0;
    expect_error(devo_evolver_create(&e, m, &o), DEVO_ERR_INVALID_ARGUMENT, "top_k");
    expect_error(devo_evolver_create(nullptr, m, nullptr), DEVO_ERR_INVALID_ARGUMENT, "out");
    ASSERT_EQ(devo_evolver_create(&e, m, nullptr), DEVO_OK);
    expect_error(devo_evolver_tell(e, nullptr), DEVO_ERR_INVALID_ARGUMENT, "fitness");
    devo_generation_stats stats;
    expect_error(devo_evolver_stats(e, &stats), DEVO_ERR_INVALID_ARGUMENT, "no generation");
    expect_error(devo_evolver_best(e, m, nullptr), DEVO_ERR_INVALID_ARGUMENT, "no generation");
    float x[3] = {0}, y[2];
    expect_error(devo_evolver_forward(e, x, 0, y), DEVO_ERR_INVALID_ARGUMENT, "rows");
    std::vector<double> f(16, 1.0);
    ASSERT_EQ(devo_evolver_tell(e, f.data()), DEVO_OK);
    devo_model *other = nullptr;
    ASSERT_EQ(devo_model_create(&other, 3), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(other, 3, DEVO_ACT_SOFTMAX), DEVO_OK);
    ASSERT_EQ(devo_model_compile(other, DEVO_LOSS_NONE), DEVO_OK);
    expect_error(devo_evolver_best(e, other, nullptr), DEVO_ERR_INVALID_ARGUMENT, "architecture");
    expect_error(devo_evolver_ask(nullptr, nullptr, nullptr, nullptr), DEVO_ERR_INVALID_ARGUMENT,
                 "NULL");
    devo_model_free(other);
    devo_evolver_free(e);
    devo_evolver_free(nullptr);
    devo_model_free(m);
}

TEST(Errors, BackendsThatCannotRunSayUnsupported)
{
    EXPECT_TRUE(devo_backend_available(DEVO_BACKEND_CPU));
    EXPECT_TRUE(devo_backend_available(DEVO_BACKEND_AUTO));
    if (devo_backend_available(DEVO_BACKEND_CUDA)) GTEST_SKIP() << "a CUDA device is present";
    devo_model *m = compiled();
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.backend = DEVO_BACKEND_CUDA;
    devo_evolver *e = nullptr;
    expect_error(devo_evolver_create(&e, m, &o), DEVO_ERR_UNSUPPORTED, "CUDA");
    EXPECT_EQ(e, nullptr);
    devo_model_free(m);
}

// The evolution strategies evaluate on CUDA where the GA could run there (devo_fit_evolve,
// devo_evolver_create, the CLI's --backend cuda); elsewhere --backend cuda is refused saying
// why, and auto falls back to the CPU.
TEST(Errors, EvolutionStrategiesRunOnCudaWhereItCanRun)
{
    devo_model *m = compiled();
    for (devo_strategy s : {DEVO_STRATEGY_OPENAI_ES, DEVO_STRATEGY_PGPE, DEVO_STRATEGY_SNES})
        for (size_t rank : {0u, 1u}) {
            SCOPED_TRACE("strategy " + std::to_string((int)s) + " rank " + std::to_string(rank));
            devo_evolve_options o;
            devo_evolve_options_init(&o);
            o.verbose = 0;
            o.strategy = s;
            o.perturbation_rank = rank;
            o.population = 8;
            o.backend = DEVO_BACKEND_CUDA;
            devo_evolver *e = nullptr;
            if (devo_backend_available(DEVO_BACKEND_CUDA)) {
                EXPECT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
                devo_evolver_free(e);
                o.precision = DEVO_PRECISION_BF16;
                expect_error(devo_evolver_create(&e, m, &o), DEVO_ERR_UNSUPPORTED, "FP32");
            } else {
                expect_error(devo_evolver_create(&e, m, &o), DEVO_ERR_UNSUPPORTED,
                             devo_device_cuda() ? "no CUDA device is present"
                                                 : "built without CUDA");
                EXPECT_EQ(e, nullptr);
                o.backend = DEVO_BACKEND_AUTO;
                EXPECT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
                devo_evolver_free(e);
            }
        }
    devo_model_free(m);
}

TEST(Errors, HistoryFreeAcceptsNullAndZeroed)
{
    devo_history_free(nullptr);
    devo_history h{};
    devo_history_free(&h);
    EXPECT_EQ(h.generations, 0u);
}

} // namespace
