// The device interface (src/base/device.h) as every device offers it: no entry is missing for one
// family of algorithms, a device refuses the operations of the other family's population with
// a status (never a crash), and the CPU device's ES population is the one its directions and
// centre imply.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "devo.h"

extern "C" {
#include "algorithm.h"
#include "device.h"
#include "es_noise.h"
}

namespace {

std::vector<const devo_device_i *> devices()
{
    std::vector<const devo_device_i *> all = {devo_device_cpu()};
    if (devo_device_cuda()) all.push_back(devo_device_cuda()); // built with CUDA: its table too
    return all;
}

TEST(Devices, EveryDeviceImplementsEveryEntry)
{
    for (const devo_device_i *d : devices()) {
        SCOPED_TRACE(d->name);
        void (*const entries[])(void) = {
            (void (*)(void))d->create,         (void (*)(void))d->destroy,
            (void (*)(void))d->bind_data,      (void (*)(void))d->init_population,
            (void (*)(void))d->load_rows,      (void (*)(void))d->copy_row,
            (void (*)(void))d->view,           (void (*)(void))d->evaluate,
            (void (*)(void))d->evaluate_center, (void (*)(void))d->rank,
            (void (*)(void))d->forward,        (void (*)(void))d->predict,
            (void (*)(void))d->vary,
            (void (*)(void))d->perturb,        (void (*)(void))d->update_sums,
            (void (*)(void))d->traffic,        (void (*)(void))d->measure_ceiling,
            (void (*)(void))d->finish,
        };
        for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
            EXPECT_NE(entries[i], nullptr) << "entry " << i;
    }
}

devo_model *small_model()
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, 6), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 5, DEVO_ACT_TANH), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 3, DEVO_ACT_SOFTMAX), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    return m;
}

void *open_cpu(const devo_model *m, devo_strategy strategy, size_t rank, size_t P)
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.population = P;
    o.top_k = 2;
    o.strategy = strategy;
    o.perturbation_rank = rank;
    devo_device_config c;
    devo_algorithm_device_config(&o, m, &c);
    void *ctx = nullptr;
    EXPECT_EQ(devo_device_cpu()->create(&ctx, &c), DEVO_OK) << devo_last_error();
    return ctx;
}

TEST(Devices, APopulationRefusesTheOtherFamilysOperationsWithAStatus)
{
    devo_model *m = small_model();
    const devo_device_i *cpu = devo_device_cpu();
    size_t D = devo_model_param_count(m);
    std::vector<float> w(D, 0.1f), s(D, 0.02f), row(D);
    std::vector<size_t> order = {0, 1, 2, 3};
    std::vector<uint32_t> pairs = {0, 0, 0, 1};
    double fitness = NAN;
    void *ga = open_cpu(m, DEVO_STRATEGY_GA, 0, 4);
    ASSERT_NE(ga, nullptr);
    EXPECT_NE(cpu->perturb(ga, w.data(), s.data(), 0), DEVO_OK);
    EXPECT_NE(cpu->update_sums(ga, w.data(), w.data(), row.data(), row.data()), DEVO_OK);
    EXPECT_NE(cpu->evaluate_center(ga, nullptr, 0, &fitness), DEVO_OK);
    cpu->destroy(ga);
    void *es = open_cpu(m, DEVO_STRATEGY_OPENAI_ES, 1, 4);
    ASSERT_NE(es, nullptr);
    EXPECT_NE(cpu->init_population(es, w.data()), DEVO_OK);
    EXPECT_NE(cpu->vary(es, order.data(), pairs.data(), 1, 0, 4), DEVO_OK);
    EXPECT_EQ(cpu->load_rows(es, w.data(), 0, 1), DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_NE(cpu->update_sums(es, w.data(), w.data(), row.data(), row.data()), DEVO_OK)
        << "no directions drawn yet";
    cpu->destroy(es);
    devo_model_free(m);
}

// Individual i of an antithetic population is centre +- sigma o eps_{i/2} (full rank) or its
// low-rank form: the two of a pair mirror each other around the centre, and the view, a copied
// row and the population es_noise.h materialises from the same draws are the same floats.
TEST(Devices, CpuEsPopulationIsTheCentrePlusAndMinusItsDirections)
{
    devo_model *m = small_model();
    const devo_device_i *cpu = devo_device_cpu();
    const size_t P = 6, D = devo_model_param_count(m);
    std::vector<float> center(D), sigma(D, 0.05f);
    for (size_t j = 0; j < D; j++) center[j] = 0.01f * (float)j - 0.2f;
    for (size_t rank : {0u, 2u}) {
        SCOPED_TRACE("rank " + std::to_string(rank));
        void *ctx = open_cpu(m, DEVO_STRATEGY_OPENAI_ES, rank, P);
        ASSERT_NE(ctx, nullptr);
        ASSERT_EQ(cpu->perturb(ctx, center.data(), sigma.data(), 3), DEVO_OK);
        const float *view = nullptr;
        ASSERT_EQ(cpu->view(ctx, &view), DEVO_OK);
        devo_es_noise noise;
        ASSERT_EQ(devo_es_noise_init(&noise, m, P / 2, rank, 1), DEVO_OK);
        ASSERT_EQ(devo_es_noise_draw(&noise, 0, 3), DEVO_OK); // the options' default seed 0
        std::vector<float> want(D), copied(D);
        for (size_t i = 0; i < P; i++) {
            devo_es_materialise(&noise, center.data(), sigma.data(), i / 2,
                                i % 2 ? -1.0f : 1.0f, want.data());
            ASSERT_EQ(cpu->copy_row(ctx, i, copied.data()), DEVO_OK);
            EXPECT_EQ(std::vector<float>(view + i * D, view + (i + 1) * D), want) << "row " << i;
            EXPECT_EQ(copied, want) << "row " << i;
        }
        for (size_t j = 0; j < D; j++) {
            float plus = view[j] - center[j], minus = view[D + j] - center[j];
            EXPECT_NEAR(plus, -minus, 1e-6f) << "element " << j;
        }
        devo_es_noise_release(&noise);
        cpu->destroy(ctx);
    }
    devo_model_free(m);
}

} // namespace
