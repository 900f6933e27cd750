// The CUDA backend against the CPU reference backend (the oracle): evaluation, selection,
// variation, the first population, cuRAND's Philox layout, a whole run, forward, and the
// out-of-memory refusal. Every test skips (GTEST_SKIP) when no CUDA device is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "devo.h"

extern "C" {
#include "backend.h"
#include "cuda_hooks.h"
#include "rng.h"
#include "selection.h"
}

namespace {

class Cuda : public ::testing::Test {
  protected:
    void SetUp() override
    {
        if (devo_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device present";
        ASSERT_NE(devo_backend_cuda(), nullptr);
    }
};

struct Net {
    size_t inputs;
    std::vector<std::pair<size_t, devo_activation>> layers;
    devo_loss loss;
};

devo_model *build(const Net &net, uint64_t seed)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, net.inputs), DEVO_OK);
    for (auto &l : net.layers) EXPECT_EQ(devo_model_add_dense(m, l.first, l.second), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, net.loss), DEVO_OK);
    EXPECT_EQ(devo_model_init_weights(m, seed), DEVO_OK);
    return m;
}

struct Data {
    std::vector<float> x, y;
    size_t n;
};

// Inputs in [0, 1); targets as the loss lays them out (sparse: class indices; else one-hot or
// values in [0, 1]).
Data make_data(const devo_model *m, size_t n, uint32_t salt)
{
    size_t in = devo_model_input_dim(m), out = devo_model_output_dim(m);
    bool sparse = devo_model_loss(m) == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    Data d{std::vector<float>(n * in), std::vector<float>(n * (sparse ? 1 : out)), n};
    uint32_t s = 777 + salt;
    auto next = [&s]() {
        s = s * 1664525u + 1013904223u;
        return (float)((s >> 8) / 16777216.0);
    };
    for (float &v : d.x) v = next();
    for (size_t i = 0; i < n; i++) {
        size_t cls = (size_t)(next() * (float)out) % out;
        if (sparse)
            d.y[i] = (float)cls;
        else if (devo_model_loss(m) == DEVO_LOSS_CATEGORICAL_CROSSENTROPY)
            d.y[i * out + cls] = 1.0f;
        else
            for (size_t j = 0; j < out; j++) d.y[i * out + j] = next() > 0.5f ? 1.0f : 0.0f;
    }
    return d;
}

struct Pair {
    const devo_backend_i *be;
    void *ctx = nullptr;
};

devo_backend_config config(const devo_model *m, size_t P, size_t k, devo_precision precision,
                           devo_fitness fitness = DEVO_FITNESS_NEG_LOSS)
{
    devo_backend_config c{};
    c.arch = m;
    c.population = P;
    c.top_k = k;
    c.seed = 42;
    c.init_std = 0.3f;
    c.mutation_std = 0.03f;
    c.mutation_threshold = devo_mutation_threshold(0.2);
    c.fitness = fitness;
    c.batch_size = 1024;
    c.threads = 0;
    c.precision = precision;
    return c;
}

std::vector<double> evaluate(const devo_backend_i *be, const devo_backend_config &cfg,
                             const devo_model *m, const Data &d, const size_t *rows = nullptr,
                             size_t row_count = 0, size_t first = 0)
{
    void *ctx = nullptr;
    EXPECT_EQ(be->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
    EXPECT_EQ(be->init_population(ctx, m->weights), DEVO_OK) << devo_last_error();
    EXPECT_EQ(be->bind_data(ctx, d.x.data(), d.y.data(), d.n), DEVO_OK) << devo_last_error();
    std::vector<double> f(cfg.population, NAN);
    EXPECT_EQ(be->evaluate(ctx, rows, row_count, first, cfg.population - first, f.data()), DEVO_OK)
        << devo_last_error();
    be->destroy(ctx);
    return f;
}

const Net nets[] = {
    {784, {{30, DEVO_ACT_RELU}, {10, DEVO_ACT_SOFTMAX}}, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY},
    {20,
     {{16, DEVO_ACT_TANH}, {8, DEVO_ACT_SIGMOID}, {3, DEVO_ACT_SOFTMAX}},
     DEVO_LOSS_CATEGORICAL_CROSSENTROPY},
    {10, {{1, DEVO_ACT_SIGMOID}}, DEVO_LOSS_BINARY_CROSSENTROPY},
    {12, {{6, DEVO_ACT_SOFTMAX}, {5, DEVO_ACT_LINEAR}}, DEVO_LOSS_MSE},
};

void expect_equivalent(const std::vector<double> &gpu, const std::vector<double> &cpu,
                       double tolerance, const char *what)
{
    ASSERT_EQ(gpu.size(), cpu.size());
    for (size_t i = 0; i < cpu.size(); i++) {
        ASSERT_FALSE(std::isnan(gpu[i])) << what << " individual " << i;
        double rel = std::fabs(gpu[i] - cpu[i]) / std::max(std::fabs(cpu[i]), 1e-6);
        EXPECT_LE(rel, tolerance) << what << " individual " << i << ": " << gpu[i] << " vs "
                                  << cpu[i];
    }
}

TEST_F(Cuda, EvaluationIsEquivalentToRef)
{
    const struct {
        devo_precision precision;
        double tolerance;
        const char *name;
    } precisions[] = {{DEVO_PRECISION_FP32, 1e-5, "fp32"},
                      {DEVO_PRECISION_TF32, 1e-3, "tf32"},
                      {DEVO_PRECISION_BF16, 2e-2, "bf16"}};
    for (const Net &net : nets)
        for (size_t P : {7, 33}) {
            devo_model *m = build(net, P);
            Data d = make_data(m, 2500, (uint32_t)P); // three chunks of 1024
            std::vector<double> cpu =
                evaluate(devo_backend_cpu(), config(m, P, 3, DEVO_PRECISION_FP32), m, d);
            for (auto &p : precisions) {
                std::vector<double> gpu =
                    evaluate(devo_backend_cuda(), config(m, P, 3, p.precision), m, d);
                expect_equivalent(gpu, cpu, p.tolerance, p.name);
            }
            devo_model_free(m);
        }
}

TEST_F(Cuda, EvaluationOfSubsetsAndChildrenIsEquivalentToRef)
{
    devo_model *m = build(nets[0], 5);
    Data d = make_data(m, 3000, 5);
    std::vector<size_t> rows;
    for (size_t i = 0; i < 1500; i++) rows.push_back((i * 7919) % 3000);
    std::sort(rows.begin(), rows.end());
    auto cfg = config(m, 12, 4, DEVO_PRECISION_FP32, DEVO_FITNESS_ACCURACY);
    std::vector<double> cpu = evaluate(devo_backend_cpu(), cfg, m, d, rows.data(), rows.size(), 4);
    std::vector<double> gpu = evaluate(devo_backend_cuda(), cfg, m, d, rows.data(), rows.size(), 4);
    for (size_t i = 0; i < 4; i++) EXPECT_TRUE(std::isnan(gpu[i])); // outside the range
    for (size_t i = 4; i < 12; i++) EXPECT_NEAR(gpu[i], cpu[i], 2.0 / 1500) << i;
    devo_model_free(m);
}

TEST_F(Cuda, EvaluationIsBitwiseReproducible)
{
    devo_model *m = build(nets[1], 3);
    Data d = make_data(m, 2100, 3);
    auto cfg = config(m, 64, 8, DEVO_PRECISION_FP32);
    std::vector<double> a = evaluate(devo_backend_cuda(), cfg, m, d);
    std::vector<double> b = evaluate(devo_backend_cuda(), cfg, m, d);
    for (size_t i = 0; i < a.size(); i++) EXPECT_EQ(a[i], b[i]) << i;
    devo_model_free(m);
}

TEST_F(Cuda, SelectionIsEquivalentToRef)
{
    devo_model *m = build(nets[2], 1);
    std::vector<std::vector<double>> cases = {
        {0.5, NAN, 2.0, 0.5, -INFINITY, 2.0, NAN, INFINITY, 0.5, 0.0, -0.0, -NAN},
    };
    std::vector<double> big(1000);
    for (size_t i = 0; i < big.size(); i++)
        big[i] = i % 17 == 0 ? NAN : (double)((i * 7919) % 23) - 11.0;
    cases.push_back(big);
    for (auto &f : cases) {
        auto cfg = config(m, f.size(), 2, DEVO_PRECISION_FP32);
        void *ctx = nullptr;
        ASSERT_EQ(devo_backend_cuda()->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
        std::vector<size_t> gpu(f.size()), cpu(f.size()), scratch(f.size());
        ASSERT_EQ(devo_backend_cuda()->rank(ctx, f.data(), gpu.data()), DEVO_OK);
        devo_rank(f.data(), f.size(), cpu.data(), scratch.data());
        EXPECT_EQ(gpu, cpu);
        devo_backend_cuda()->destroy(ctx);
    }
    devo_model_free(m);
}

std::vector<float> population_of(const devo_backend_i *be, void *ctx, size_t count)
{
    const float *view = nullptr;
    EXPECT_EQ(be->population(ctx, &view), DEVO_OK) << devo_last_error();
    return std::vector<float>(view, view + count);
}

TEST_F(Cuda, FirstPopulationIsEquivalentToRef)
{
    devo_model *m = build(nets[0], 2);
    auto cfg = config(m, 9, 3, DEVO_PRECISION_FP32);
    size_t D = devo_model_param_count(m);
    void *cpu_ctx = nullptr, *gpu_ctx = nullptr;
    ASSERT_EQ(devo_backend_cpu()->create(&cpu_ctx, &cfg), DEVO_OK);
    ASSERT_EQ(devo_backend_cuda()->create(&gpu_ctx, &cfg), DEVO_OK) << devo_last_error();
    ASSERT_EQ(devo_backend_cpu()->init_population(cpu_ctx, m->weights), DEVO_OK);
    ASSERT_EQ(devo_backend_cuda()->init_population(gpu_ctx, m->weights), DEVO_OK);
    std::vector<float> cpu = population_of(devo_backend_cpu(), cpu_ctx, 9 * D);
    std::vector<float> gpu = population_of(devo_backend_cuda(), gpu_ctx, 9 * D);
    for (size_t e = 0; e < D; e++) ASSERT_EQ(gpu[e], cpu[e]); // individual 0 unchanged
    for (size_t e = D; e < 9 * D; e++) ASSERT_NEAR(gpu[e], cpu[e], 1e-6) << e;
    devo_backend_cpu()->destroy(cpu_ctx);
    devo_backend_cuda()->destroy(gpu_ctx);
    devo_model_free(m);
}

/* Breeds one generation on both backends from the same first population and ranking;
 * before[side] and after[side] receive each side's population around the breed. */
void breed_both(const devo_model *m, const devo_backend_config &cfg,
                const std::vector<double> &fitness, std::vector<float> before[2],
                std::vector<float> after[2])
{
    const size_t P = cfg.population, k = cfg.top_k, D = devo_model_param_count(m);
    std::vector<size_t> order(P), scratch(P);
    devo_rank(fitness.data(), P, order.data(), scratch.data());
    std::vector<uint32_t> pairs(2 * (P - k));
    devo_parent_pairs(k, P - k, pairs.data());
    const devo_backend_i *be[2] = {devo_backend_cpu(), devo_backend_cuda()};
    for (int side = 0; side < 2; side++) {
        void *ctx = nullptr;
        ASSERT_EQ(be[side]->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
        ASSERT_EQ(be[side]->init_population(ctx, m->weights), DEVO_OK) << devo_last_error();
        before[side] = population_of(be[side], ctx, P * D);
        ASSERT_EQ(be[side]->breed(ctx, order.data(), pairs.data(), 7), DEVO_OK)
            << devo_last_error();
        after[side] = population_of(be[side], ctx, P * D);
        be[side]->destroy(ctx);
    }
}

TEST_F(Cuda, MutationIsEquivalentToRef)
{
    // init_std 0: every individual is w0, so a child differs from w0 exactly where it mutated.
    devo_model *m = build(nets[0], 4);
    const size_t P = 16, k = 4, D = devo_model_param_count(m);
    auto cfg = config(m, P, k, DEVO_PRECISION_FP32);
    cfg.init_std = 0.0f;
    std::vector<double> fitness(P);
    for (size_t i = 0; i < P; i++) fitness[i] = (double)((i * 5) % P);
    std::vector<float> before[2], after[2];
    breed_both(m, cfg, fitness, before, after);
    size_t mutated = 0;
    for (size_t e = 0; e < P * D; e++) {
        bool cpu_mutated = after[0][e] != m->weights[e % D];
        bool gpu_mutated = after[1][e] != m->weights[e % D];
        ASSERT_EQ(cpu_mutated, gpu_mutated) << "element " << e; // masks bit for bit
        ASSERT_NEAR(after[1][e], after[0][e], 1e-6) << "element " << e; // noise to rounding
        mutated += cpu_mutated;
    }
    EXPECT_NEAR((double)mutated / (double)((P - k) * D), 0.2, 0.01);
    devo_model_free(m);
}

TEST_F(Cuda, CrossoverMasksAreBitIdenticalToRef)
{
    // A wide first population and no mutation: each child element equals one of its parents,
    // and both backends must pick the same parent for every element.
    devo_model *m = build(nets[0], 9);
    const size_t P = 12, k = 3, D = devo_model_param_count(m);
    auto cfg = config(m, P, k, DEVO_PRECISION_FP32);
    cfg.init_std = 1.0f;
    cfg.mutation_threshold = 0;
    std::vector<double> fitness(P);
    for (size_t i = 0; i < P; i++) fitness[i] = (double)i; // elites: 11, 10, 9
    std::vector<float> before[2], after[2];
    breed_both(m, cfg, fitness, before, after);
    std::vector<size_t> order(P), scratch(P);
    devo_rank(fitness.data(), P, order.data(), scratch.data());
    std::vector<uint32_t> pairs(2 * (P - k));
    devo_parent_pairs(k, P - k, pairs.data());
    for (size_t slot = 0; slot < P; slot++)
        for (size_t e = 0; e < D; e++) {
            int choice[2];
            for (int side = 0; side < 2; side++) {
                size_t i = slot < k ? order[slot] : order[pairs[2 * (slot - k)]];
                float v = after[side][slot * D + e];
                ASSERT_TRUE(v == before[side][i * D + e] ||
                            (slot >= k && v == before[side][order[pairs[2 * (slot - k) + 1]] * D + e]))
                    << "slot " << slot << " element " << e << ": not a parent's value";
                choice[side] = v == before[side][i * D + e];
            }
            ASSERT_EQ(choice[0], choice[1]) << "slot " << slot << " element " << e;
        }
    devo_model_free(m);
}

TEST_F(Cuda, CurandPhiloxUsesTheDocumentedLayout)
{
    const uint32_t count = 300;
    for (devo_rng_stream stream : {DEVO_STREAM_CROSSOVER, DEVO_STREAM_MUTATE_NOISE}) {
        std::vector<uint32_t> via_init(4 * count), direct(4 * count);
        ASSERT_EQ(devo_cuda_philox_blocks(0x123456789abcdefull, stream, 17, 5, count,
                                          via_init.data(), direct.data()),
                  DEVO_OK)
            << devo_last_error();
        for (uint32_t b = 0; b < count; b++) {
            devo_philox_block host = devo_rng_block(0x123456789abcdefull, stream, 17, 5, b);
            for (int q = 0; q < 4; q++) {
                ASSERT_EQ(via_init[4 * b + q], host.w[q]) << "block " << b;
                ASSERT_EQ(direct[4 * b + q], host.w[q]) << "block " << b;
            }
        }
    }
}

TEST_F(Cuda, ShortRunIsEquivalentToRef)
{
    devo_model *cpu_model = build(nets[0], 11), *gpu_model = build(nets[0], 11);
    Data d = make_data(cpu_model, 2048, 11);
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.max_generations = 3;
    devo_history h[2] = {{}, {}};
    o.backend = DEVO_BACKEND_CPU;
    ASSERT_EQ(devo_fit_evolve(cpu_model, d.x.data(), d.y.data(), d.n, &o, &h[0]), DEVO_OK);
    o.backend = DEVO_BACKEND_CUDA;
    ASSERT_EQ(devo_fit_evolve(gpu_model, d.x.data(), d.y.data(), d.n, &o, &h[1]), DEVO_OK)
        << devo_last_error();
    // The first generation's elites are the same individuals with the same fitness.
    EXPECT_NEAR(h[1].best[0], h[0].best[0], 1e-5 * std::fabs(h[0].best[0]));
    EXPECT_NEAR(h[1].mean[0], h[0].mean[0], 1e-5 * std::fabs(h[0].mean[0]));
    EXPECT_NEAR(h[1].std[0], h[0].std[0], 1e-3 * std::fabs(h[0].std[0]) + 1e-9);
    for (auto &hist : h) devo_history_free(&hist);
    devo_model_free(cpu_model);
    devo_model_free(gpu_model);
}

TEST_F(Cuda, ForwardIsEquivalentToRef)
{
    devo_model *m = build(nets[1], 6);
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.population = 10;
    o.top_k = 2;
    o.init_std = 0.5;
    const size_t P = 10, rows = 1500, in = 20, out = 3;
    std::vector<float> x(P * rows * in), y[2];
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.01f * (float)i);
    devo_backend kinds[2] = {DEVO_BACKEND_CPU, DEVO_BACKEND_CUDA};
    for (int side = 0; side < 2; side++) {
        o.backend = kinds[side];
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
        y[side].resize(P * rows * out);
        ASSERT_EQ(devo_evolver_forward(e, x.data(), rows, y[side].data()), DEVO_OK)
            << devo_last_error();
        devo_evolver_free(e);
    }
    for (size_t i = 0; i < y[0].size(); i++) ASSERT_NEAR(y[1][i], y[0][i], 1e-5) << i;
    devo_model_free(m);
}

TEST_F(Cuda, RefusesAnAbsurdPopulationWithTheNumbers)
{
    devo_model *m = build(nets[0], 1);
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.backend = DEVO_BACKEND_CUDA;
    o.population = (size_t)1 << 30;
    devo_evolver *e = nullptr;
    EXPECT_EQ(devo_evolver_create(&e, m, &o), DEVO_ERR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(devo_last_error()).find("bytes"), std::string::npos)
        << devo_last_error();
    EXPECT_EQ(e, nullptr);
    devo_model_free(m);
}

TEST_F(Cuda, AutoChoosesCudaWhenADeviceIsPresent)
{
    EXPECT_TRUE(devo_backend_available(DEVO_BACKEND_CUDA));
}

} // namespace
