// The model: layout of the weights, initialisation, and the forward pass, every activation
// and every loss against values computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "devo.h"

namespace {

// 2 inputs -> 2 units: kernel [[1, 2], [3, 4]], bias [0.5, -0.5]. For x = [1, -1]:
// z = [1 - 3 + 0.5, 2 - 4 - 0.5] = [-1.5, -2.5].
devo_model *two_by_two(devo_activation act, devo_loss loss)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, 2), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 2, act), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, loss), DEVO_OK);
    const float w[6] = {1, 2, 3, 4, 0.5f, -0.5f};
    EXPECT_EQ(devo_model_set_weights(m, w, 6), DEVO_OK);
    return m;
}

std::vector<float> predict(const devo_model *m, std::vector<float> x)
{
    size_t n = x.size() / devo_model_input_dim(m);
    std::vector<float> y(n * devo_model_output_dim(m));
    EXPECT_EQ(devo_model_predict(m, x.data(), n, y.data()), DEVO_OK);
    return y;
}

TEST(Model, EveryActivationMatchesHandValues)
{
    const float x[2] = {1, -1};
    struct Case {
        devo_activation act;
        float y0, y1;
    } cases[] = {
        {DEVO_ACT_LINEAR, -1.5f, -2.5f},
        {DEVO_ACT_RELU, 0.0f, 0.0f},
        {DEVO_ACT_TANH, -0.9051482536f, -0.9866142982f},
        {DEVO_ACT_SIGMOID, 0.1824255238f, 0.0758581800f},
        {DEVO_ACT_SOFTMAX, 0.7310585786f, 0.2689414214f},
    };
    for (const Case &c : cases) {
        devo_model *m = two_by_two(c.act, DEVO_LOSS_MSE);
        std::vector<float> y = predict(m, {x[0], x[1]});
        EXPECT_NEAR(y[0], c.y0, 1e-6) << "activation " << c.act;
        EXPECT_NEAR(y[1], c.y1, 1e-6) << "activation " << c.act;
        devo_model_free(m);
    }
}

TEST(Model, TwoLayersComposeInKerasOrder)
{
    // 2 -> 2 relu -> 1 linear. Hidden: [1, -1] x [[1, 2], [3, 4]] + [0.5, -0.5] -> relu.
    // For x = [2, 1]: hidden z = [2 + 3 + 0.5, 4 + 4 - 0.5] = [5.5, 7.5];
    // output = 5.5 * 1 + 7.5 * (-2) + 0.25 = -9.25.
    devo_model *m = nullptr;
    ASSERT_EQ(devo_model_create(&m, 2), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 2, DEVO_ACT_RELU), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 1, DEVO_ACT_LINEAR), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_MSE), DEVO_OK);
    ASSERT_EQ(devo_model_param_count(m), 9u);
    const float w[9] = {1, 2, 3, 4, 0.5f, -0.5f, 1, -2, 0.25f};
    ASSERT_EQ(devo_model_set_weights(m, w, 9), DEVO_OK);
    std::vector<float> y = predict(m, {2, 1, -10, -10});
    EXPECT_FLOAT_EQ(y[0], -9.25f);
    EXPECT_FLOAT_EQ(y[1], 0.25f); // hidden all negative -> relu 0 -> bias only
    devo_model_free(m);
}

TEST(Model, PredictAcrossManyChunksMatchesRowByRow)
{
    devo_model *m = two_by_two(DEVO_ACT_TANH, DEVO_LOSS_MSE);
    const size_t n = 2500; // more than one chunk of 1024 rows
    std::vector<float> x(2 * n);
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.37f * (float)i);
    std::vector<float> y = predict(m, x);
    for (size_t i = 0; i < n; i++) {
        float z0 = x[2 * i] * 1 + x[2 * i + 1] * 3 + 0.5f;
        float z1 = x[2 * i] * 2 + x[2 * i + 1] * 4 - 0.5f;
        ASSERT_NEAR(y[2 * i], std::tanh(z0), 1e-6);
        ASSERT_NEAR(y[2 * i + 1], std::tanh(z1), 1e-6);
    }
    devo_model_free(m);
}

double loss_of(devo_activation act, devo_loss loss, std::vector<float> x, std::vector<float> t,
               double *accuracy = nullptr)
{
    devo_model *m = two_by_two(act, loss);
    double value = NAN;
    EXPECT_EQ(devo_model_evaluate(m, x.data(), t.data(), x.size() / 2, &value, accuracy), DEVO_OK)
        << devo_last_error();
    devo_model_free(m);
    return value;
}

TEST(Model, EveryLossMatchesHandValues)
{
    // z = [-1.5, -2.5] for x = [1, -1]; softmax = [0.7310586, 0.2689414].
    EXPECT_NEAR(loss_of(DEVO_ACT_LINEAR, DEVO_LOSS_MSE, {1, -1}, {0, 1}), 7.25, 1e-6);
    EXPECT_NEAR(loss_of(DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, {1, -1}, {0}),
                0.3132616875, 1e-7);
    EXPECT_NEAR(loss_of(DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, {1, -1}, {1}),
                1.3132616875, 1e-7);
    EXPECT_NEAR(loss_of(DEVO_ACT_SOFTMAX, DEVO_LOSS_CATEGORICAL_CROSSENTROPY, {1, -1}, {0, 1}),
                1.3132616875, 1e-7);
    // Sigmoid outputs [0.1824255, 0.0758582], targets [1, 0]:
    // (-log 0.1824255 - log(1 - 0.0758582)) / 2 = (1.7014132 + 0.0788897) / 2.
    EXPECT_NEAR(loss_of(DEVO_ACT_SIGMOID, DEVO_LOSS_BINARY_CROSSENTROPY, {1, -1}, {1, 0}),
                0.8901514, 1e-6);
    // Mean over samples: two samples, classes 0 and 1 of the same row.
    EXPECT_NEAR(loss_of(DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                        {1, -1, 1, -1}, {0, 1}),
                (0.3132616875 + 1.3132616875) / 2, 1e-7);
    // A non-softmax output with a categorical cross-entropy is normalised to sum 1, then
    // clipped to [1e-7, 1 - 1e-7], as Keras does: [-1.5, -2.5] / -4 = [0.375, 0.625].
    EXPECT_NEAR(loss_of(DEVO_ACT_LINEAR, DEVO_LOSS_CATEGORICAL_CROSSENTROPY, {1, -1}, {0, 1}),
                -std::log(0.625), 1e-6);
    // The sparse one clips first: [1e-7, 1e-7] normalised gives 0.5 each.
    EXPECT_NEAR(loss_of(DEVO_ACT_LINEAR, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, {1, -1}, {1}),
                std::log(2.0), 1e-6);
}

TEST(Model, SoftmaxCrossEntropyStaysFiniteForHugeLogits)
{
    // x = [100, 0]: z = [100.5, 199.5]; exp would overflow in float without log-sum-exp.
    double l = loss_of(DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, {100, 0}, {0});
    EXPECT_NEAR(l, 99.0, 1e-4);
}

TEST(Model, AccuracyUsesArgmaxOrTheHalfThreshold)
{
    double acc = 0;
    loss_of(DEVO_ACT_SOFTMAX, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, {1, -1, 1, -1, 1, -1},
            {0, 1, 0}, &acc);
    EXPECT_NEAR(acc, 2.0 / 3.0, 1e-12);
    loss_of(DEVO_ACT_SOFTMAX, DEVO_LOSS_CATEGORICAL_CROSSENTROPY, {1, -1, 1, -1}, {1, 0, 0, 1},
            &acc);
    EXPECT_DOUBLE_EQ(acc, 0.5);

    devo_model *m = nullptr; // one sigmoid output: 2 -> 1, kernel [1, 1], bias 0
    ASSERT_EQ(devo_model_create(&m, 2), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 1, DEVO_ACT_SIGMOID), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_BINARY_CROSSENTROPY), DEVO_OK);
    const float w[3] = {1, 1, 0};
    ASSERT_EQ(devo_model_set_weights(m, w, 3), DEVO_OK);
    const float x[6] = {0.5f, 0.5f, -1, -1, 2, 2}, t[3] = {1, 1, 0};
    double loss = 0;
    ASSERT_EQ(devo_model_evaluate(m, x, t, 3, &loss, &acc), DEVO_OK);
    EXPECT_DOUBLE_EQ(acc, 1.0 / 3.0); // outputs 0.73, 0.12, 0.98 against 1, 1, 0
    // -log(sigmoid(1)) - log(sigmoid(-2)) - log(1 - sigmoid(4)), over 3.
    EXPECT_NEAR(loss, (0.3132616875 + 2.1269280110 + 4.0181499279) / 3, 1e-6);
    devo_model_free(m);
}

TEST(Model, GlorotUniformKernelsZeroBiasesReproducibleBySeed)
{
    devo_model *m = nullptr;
    ASSERT_EQ(devo_model_create(&m, 784), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 30, DEVO_ACT_RELU), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 10, DEVO_ACT_SOFTMAX), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    ASSERT_EQ(devo_model_param_count(m), 23860u); // the seed's network
    std::vector<float> w0(23860), w1(23860), w2(23860);
    ASSERT_EQ(devo_model_get_weights(m, w0.data(), w0.size()), DEVO_OK);
    const double limit1 = std::sqrt(6.0 / (784 + 30)), limit2 = std::sqrt(6.0 / (30 + 10));
    double squares = 0;
    for (size_t e = 0; e < 784 * 30; e++) {
        ASSERT_LE(std::fabs(w0[e]), limit1);
        squares += (double)w0[e] * w0[e];
    }
    // Uniform(-a, a) has variance a^2 / 3.
    EXPECT_NEAR(squares / (784 * 30), limit1 * limit1 / 3, 0.03 * limit1 * limit1 / 3);
    for (size_t e = 784 * 30; e < 784 * 30 + 30; e++) ASSERT_EQ(w0[e], 0.0f);
    for (size_t e = 784 * 30 + 30; e < 23850; e++) ASSERT_LE(std::fabs(w0[e]), limit2);
    for (size_t e = 23850; e < 23860; e++) ASSERT_EQ(w0[e], 0.0f);
    ASSERT_EQ(devo_model_init_weights(m, 0), DEVO_OK);
    ASSERT_EQ(devo_model_get_weights(m, w1.data(), w1.size()), DEVO_OK);
    EXPECT_EQ(w0, w1);
    ASSERT_EQ(devo_model_init_weights(m, 1), DEVO_OK);
    ASSERT_EQ(devo_model_get_weights(m, w2.data(), w2.size()), DEVO_OK);
    EXPECT_NE(w0, w2);
    devo_model_free(m);
}

TEST(Model, ShapeQueriesAndCloneDescribeTheArchitecture)
{
    devo_model *m = two_by_two(DEVO_ACT_SOFTMAX, DEVO_LOSS_CATEGORICAL_CROSSENTROPY), *c = nullptr;
    EXPECT_EQ(devo_model_input_dim(m), 2u);
    EXPECT_EQ(devo_model_output_dim(m), 2u);
    EXPECT_EQ(devo_model_layer_count(m), 1u);
    size_t units = 0;
    devo_activation act = DEVO_ACT_LINEAR;
    EXPECT_EQ(devo_model_layer(m, 0, &units, &act), DEVO_OK);
    EXPECT_EQ(units, 2u);
    EXPECT_EQ(act, DEVO_ACT_SOFTMAX);
    EXPECT_EQ(devo_model_loss(m), DEVO_LOSS_CATEGORICAL_CROSSENTROPY);
    ASSERT_EQ(devo_model_clone(m, &c), DEVO_OK);
    std::vector<float> a(6), b(6);
    devo_model_get_weights(m, a.data(), 6);
    devo_model_get_weights(c, b.data(), 6);
    EXPECT_EQ(a, b);
    devo_model_free(m);
    EXPECT_NEAR(predict(c, {1, -1})[0], 0.7310585786f, 1e-6);
    devo_model_free(c);
}

} // namespace
