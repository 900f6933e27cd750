// The compiled models tests build: `inputs` inputs, then dense layers of (units, activation), a
// loss, Glorot weights drawn from `seed`. Every step is checked with EXPECT_EQ; the model is
// the caller's to free.
#ifndef DEVO_TEST_MODELS_H
#define DEVO_TEST_MODELS_H

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "devo.h"

using test_layers = std::vector<std::pair<size_t, devo_activation>>;

inline devo_model *test_model(size_t inputs, const test_layers &layers, devo_loss loss,
                              uint64_t seed)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, inputs), DEVO_OK);
    for (const auto &layer : layers)
        EXPECT_EQ(devo_model_add_dense(m, layer.first, layer.second), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, loss), DEVO_OK);
    EXPECT_EQ(devo_model_init_weights(m, seed), DEVO_OK);
    return m;
}

#endif /* DEVO_TEST_MODELS_H */
