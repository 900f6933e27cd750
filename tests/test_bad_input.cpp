// Bad numbers in: options that overflow float, non-finite weights, inputs and targets, and
// targets that do not fit the loss. Each gets a status and a message naming the culprit.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "devo.h"
#include "test_expect.h"
#include "test_paths.h"

namespace {

devo_model *dense(size_t inputs, size_t outputs, devo_activation act, devo_loss loss)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, inputs), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, outputs, act), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, loss), DEVO_OK);
    return m;
}

devo_evolve_options quiet_options()
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.max_generations = 2;
    o.population = 4;
    o.top_k = 2;
    o.backend = DEVO_BACKEND_CPU;
    return o;
}

TEST(BadInput, OptionsThatOverflowFloatAreRefusedByName)
{
    devo_model *m = dense(3, 2, DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    std::vector<float> x(12, 0.5f), y = {0, 1, 0, 1};
    devo_evolve_options o = quiet_options();
    o.init_std = 1e39; // finite as a double, Inf as the float the backends use
    expect_error(devo_fit_evolve(m, x.data(), y.data(), 4, &o, nullptr),
                 DEVO_ERR_INVALID_ARGUMENT, {"init_std"});
    o = quiet_options();
    o.mutation_std = 1e39;
    devo_evolver *e = nullptr;
    expect_error(devo_evolver_create(&e, m, &o), DEVO_ERR_INVALID_ARGUMENT, {"mutation_std"});
    o.mutation_std = FLT_MAX; // the largest float is fine
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
    devo_evolver_free(e);
    devo_model_free(m);
}

TEST(BadInput, SavingNonFiniteWeightsIsNumericErrorNamingTheTensor)
{
    devo_model *m = nullptr;
    ASSERT_EQ(devo_model_create(&m, 2), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 2, DEVO_ACT_RELU), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 2, DEVO_ACT_SOFTMAX), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_MSE), DEVO_OK);
    std::vector<float> w(devo_model_param_count(m), 0.25f);
    w[6 + 3] = INFINITY; // dense_1/kernel, element 3
    ASSERT_EQ(devo_model_set_weights(m, w.data(), w.size()), DEVO_OK);
    std::string path = test_tmp() + "/nonfinite.safetensors";
    remove(path.c_str());
    expect_error(devo_model_save(m, path.c_str()), DEVO_ERR_NUMERIC, {"dense_1/kernel", "3"});
    struct stat st;
    EXPECT_NE(stat(path.c_str(), &st), 0) << "no file is written";
    devo_model_free(m);
}

TEST(BadInput, NaNOutputsAreNeverACorrectPrediction)
{
    // NaN weights make NaN outputs; class 0 and target 0 must not count as right.
    const float x[4] = {1, 2, 3, 4};
    for (size_t outputs : {2u, 1u}) {
        devo_loss loss = outputs == 2 ? DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY : DEVO_LOSS_MSE;
        devo_activation act = outputs == 2 ? DEVO_ACT_SOFTMAX : DEVO_ACT_SIGMOID;
        devo_model *m = dense(2, outputs, act, loss);
        std::vector<float> w(devo_model_param_count(m), NAN);
        ASSERT_EQ(devo_model_set_weights(m, w.data(), w.size()), DEVO_OK);
        const float t[2] = {0, 0};
        double accuracy = -1;
        ASSERT_EQ(devo_model_evaluate(m, x, t, 2, nullptr, &accuracy), DEVO_OK)
            << devo_last_error();
        EXPECT_EQ(accuracy, 0.0) << outputs << " outputs";
        devo_model_free(m);
    }
}

} // namespace

namespace {

const std::vector<std::string> row5_col2 = {"x", "row 5", "column 2"};

TEST(BadInput, NonFiniteInputsAreRefusedNamingRowAndColumn)
{
    for (float bad : {NAN, INFINITY, -INFINITY}) {
        devo_model *m = dense(3, 2, DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
        std::vector<float> x(8 * 3, 0.5f), y(8, 1.0f), out(8 * 2);
        x[5 * 3 + 2] = bad;
        devo_evolve_options o = quiet_options();
        expect_error(devo_fit_evolve(m, x.data(), y.data(), 8, &o, nullptr),
                     DEVO_ERR_INVALID_ARGUMENT, row5_col2);
        expect_error(devo_model_evaluate(m, x.data(), y.data(), 8, nullptr, nullptr),
                     DEVO_ERR_INVALID_ARGUMENT, row5_col2);
        expect_error(devo_model_predict(m, x.data(), 8, out.data()), DEVO_ERR_INVALID_ARGUMENT,
                     row5_col2);
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
        std::vector<float> batch(4 * 2 * 3, 0.5f), batch_out(4 * 2 * 2);
        batch[5 * 3 + 2] = bad; // individual 2, its row 1
        expect_error(devo_evolver_forward(e, batch.data(), 2, batch_out.data()),
                     DEVO_ERR_INVALID_ARGUMENT, row5_col2);
        devo_evolver_free(e);
        devo_model_free(m);
    }
}

TEST(BadInput, NonFiniteTargetsAreRefusedNamingRowAndColumn)
{
    devo_model *m = dense(3, 4, DEVO_ACT_LINEAR, DEVO_LOSS_MSE);
    std::vector<float> x(8 * 3, 0.5f), y(8 * 4, 0.25f);
    y[6 * 4 + 3] = NAN;
    devo_evolve_options o = quiet_options();
    const std::vector<std::string> where = {"row 6", "column 3"};
    expect_error(devo_fit_evolve(m, x.data(), y.data(), 8, &o, nullptr),
                 DEVO_ERR_INVALID_ARGUMENT, where);
    expect_error(devo_model_evaluate(m, x.data(), y.data(), 8, nullptr, nullptr),
                 DEVO_ERR_INVALID_ARGUMENT, where);
    devo_model_free(m);
}

TEST(BadInput, NaNPropagatesThroughEveryActivationAndLoss)
{
    // 2 -> 2 with a NaN bias on unit 0: Keras gives NaN there for every activation (softmax:
    // the whole row), and a NaN loss.
    const float x[2] = {1, -1}, w[6] = {1, 2, 3, 4, NAN, -0.5f};
    for (devo_activation act : {DEVO_ACT_LINEAR, DEVO_ACT_RELU, DEVO_ACT_TANH, DEVO_ACT_SIGMOID,
                                DEVO_ACT_SOFTMAX}) {
        SCOPED_TRACE(act);
        for (devo_loss loss : {DEVO_LOSS_MSE, DEVO_LOSS_BINARY_CROSSENTROPY,
                               DEVO_LOSS_CATEGORICAL_CROSSENTROPY,
                               DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY}) {
            devo_model *m = dense(2, 2, act, loss);
            ASSERT_EQ(devo_model_set_weights(m, w, 6), DEVO_OK);
            float y[2] = {0, 0};
            ASSERT_EQ(devo_model_predict(m, x, 1, y), DEVO_OK) << devo_last_error();
            EXPECT_TRUE(std::isnan(y[0])) << "output 0 is " << y[0];
            EXPECT_EQ(std::isnan(y[1]), act == DEVO_ACT_SOFTMAX) << "output 1 is " << y[1];
            const float t[2] = {0, 1}, sparse[1] = {1};
            double value = 0;
            const float *target = loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? sparse : t;
            ASSERT_EQ(devo_model_evaluate(m, x, target, 1, &value, nullptr), DEVO_OK)
                << devo_last_error();
            EXPECT_TRUE(std::isnan(value)) << "loss " << loss << " is " << value;
            devo_model_free(m);
        }
    }
}

} // namespace

namespace {

// Fit and evaluate both refuse targets that do not fit the loss, naming the row and value.
void expect_targets_refused(devo_model *m, const std::vector<float> &y, size_t n,
                            const std::vector<std::string> &mentions)
{
    std::vector<float> x(n * devo_model_input_dim(m), 0.5f);
    devo_evolve_options o = quiet_options();
    expect_error(devo_fit_evolve(m, x.data(), y.data(), n, &o, nullptr),
                 DEVO_ERR_INVALID_ARGUMENT, mentions);
    expect_error(devo_model_evaluate(m, x.data(), y.data(), n, nullptr, nullptr),
                 DEVO_ERR_INVALID_ARGUMENT, mentions);
    o.fitness = DEVO_FITNESS_ACCURACY;
    expect_error(devo_fit_evolve(m, x.data(), y.data(), n, &o, nullptr),
                 DEVO_ERR_INVALID_ARGUMENT, mentions);
}

TEST(BadInput, CategoricalTargetRowsMustBeDistributions)
{
    // 5 outputs, labels 0..9 made one-hot by dropping labels >= 5: row 2 (label 7) is all zero.
    devo_model *m = dense(3, 5, DEVO_ACT_SOFTMAX, DEVO_LOSS_CATEGORICAL_CROSSENTROPY);
    std::vector<float> y(4 * 5, 0.0f);
    y[0 * 5 + 1] = y[1 * 5 + 4] = y[3 * 5 + 0] = 1.0f;
    expect_targets_refused(m, y, 4, {"row 2", "5 outputs"});
    y[2 * 5 + 2] = 1.0f; // now valid; a negative entry is not
    y[1 * 5 + 3] = -0.5f;
    y[1 * 5 + 4] = 1.5f;
    expect_targets_refused(m, y, 4, {"row 1", "-0.5"});
    y[1 * 5 + 3] = 0.25f; // a probability row is fine
    y[1 * 5 + 4] = 0.75f;
    std::vector<float> x(4 * 3, 0.5f);
    EXPECT_EQ(devo_model_evaluate(m, x.data(), y.data(), 4, nullptr, nullptr), DEVO_OK)
        << devo_last_error();
    devo_model_free(m);
}

TEST(BadInput, BinaryTargetsMustLieInZeroOne)
{
    // One sigmoid output fed raw labels 0..9.
    devo_model *m = dense(3, 1, DEVO_ACT_SIGMOID, DEVO_LOSS_BINARY_CROSSENTROPY);
    expect_targets_refused(m, {0, 1, 3, 1}, 4, {"row 2", "3", "[0, 1]"});
    expect_targets_refused(m, {0, -0.25f, 1, 1}, 4, {"row 1", "-0.25"});
    devo_model_free(m);
}

TEST(BadInput, SparseLabelsMustBeClassIndicesOfTheOutputs)
{
    devo_model *m = dense(3, 2, DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    expect_targets_refused(m, {0, 1, 5, 1}, 4, {"row 2", "5", "[0, 2)"});
    expect_targets_refused(m, {0, -1, 1, 1}, 4, {"row 1", "-1"});
    expect_targets_refused(m, {0, 1, 1, 0.5f}, 4, {"row 3", "0.5"});
    devo_model_free(m);
}

} // namespace
