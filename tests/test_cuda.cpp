// The CUDA backend against the CPU reference backend (the oracle) and against a host
// emulation of its own rounding: evaluation, selection, variation, the first population,
// cuRAND's Philox layout, a whole run, loading a population, resuming a checkpoint, breeding
// a share (vary over a range), forward, NaN propagation, an empty range, the out-of-memory
// refusal, the low-rank evaluator and the evolution strategies (OpenAI-ES, PGPE, SNES at full
// and low rank) evaluating on the GPU. Cuda.* tests skip (GTEST_SKIP) when no CUDA device is present;
// CudaHost.* tests check the kernels' index math (cuda_layout.h) on the CPU and always run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "devo.h"

extern "C" {
#include "algorithm.h"
#include "device.h"
#include "es_noise.h"
#include "evolver.h"
#include "cuda_hooks.h"
#include "forward.h"
#include "nn_math.h"
#include "options.h"
#include "rng.h"
#include "selection.h"
}
#include "cuda_layout.h"
#include "cuda_lowrank.h"
#include "share.h"
#include "test_models.h"
#include "test_paths.h"

namespace {

// Every Cuda.* test evaluates one batch per GPU chunk (the tests' cap, cuda_hooks.h), so a few
// thousand samples make several chunks and a partial last one; production chunks are up to
// 16,384 samples, which EvaluationIsEquivalentToRef checks too.
class Cuda : public ::testing::Test {
  protected:
    void SetUp() override
    {
        if (devo_cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device present";
        ASSERT_NE(devo_device_cuda(), nullptr);
        devo_cuda_set_chunk_cap(1);
    }
    void TearDown() override { devo_cuda_set_chunk_cap(0); }
};

struct Net {
    size_t inputs;
    std::vector<std::pair<size_t, devo_activation>> layers;
    devo_loss loss;
};

devo_model *build(const Net &net, uint64_t seed)
{
    return test_model(net.inputs, net.layers, net.loss, seed);
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
    const devo_device_i *be;
    void *ctx = nullptr;
};

devo_device_config config(const devo_model *m, size_t P, size_t k, devo_precision precision,
                           devo_fitness fitness = DEVO_FITNESS_NEG_LOSS)
{
    devo_device_config c{};
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
    c.first_slot = k; // every slot held
    c.slot_count = P - k;
    return c;
}

/* population (P, D) loaded into ctx in two parts: rows [0, P/2), then [P/2, P). */
void load_in_two_parts(const devo_device_i *be, void *ctx, const std::vector<float> &population,
                       size_t P)
{
    size_t D = population.size() / P, half = P / 2;
    EXPECT_EQ(be->load_rows(ctx, population.data(), 0, half), DEVO_OK) << devo_last_error();
    EXPECT_EQ(be->load_rows(ctx, population.data() + half * D, half, P - half), DEVO_OK)
        << devo_last_error();
}

/* A new context of be with m's first population, then (when given) `population` (P, D) loaded
 * over it, and d bound. */
void *open_ctx(const devo_device_i *be, const devo_device_config &cfg, const devo_model *m,
               const Data &d, const std::vector<float> *population = nullptr)
{
    void *ctx = nullptr;
    EXPECT_EQ(be->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
    EXPECT_EQ(be->init_population(ctx, m->weights), DEVO_OK) << devo_last_error();
    if (population) load_in_two_parts(be, ctx, *population, cfg.population);
    EXPECT_EQ(be->bind_data(ctx, d.x.data(), d.y.data(), d.n), DEVO_OK) << devo_last_error();
    return ctx;
}

std::vector<double> evaluate(const devo_device_i *be, const devo_device_config &cfg,
                             const devo_model *m, const Data &d, const size_t *rows = nullptr,
                             size_t row_count = 0, size_t first = 0,
                             const std::vector<float> *population = nullptr)
{
    void *ctx = open_ctx(be, cfg, m, d, population);
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

/* Each precision and how far its fitness may be from the CPU's FP32 one (relative). */
const struct Precision {
    devo_precision precision;
    double tolerance;
    const char *name;
} precisions[] = {{DEVO_PRECISION_FP32, 1e-5, "fp32"},
                  // TF32 keeps 10 of FP32's 23 mantissa bits: truncated operands (sm_90 may
                  // truncate rather than round) are each off by < 2^-10, a product by
                  // < 2^-9; 2^-8 leaves a factor 2 for the second layer. The exact check
                  // is EvaluationMatchesTheGpusOwnRoundingEmulated.
                  {DEVO_PRECISION_TF32, 1.0 / 256, "tf32"},
                  {DEVO_PRECISION_BF16, 2e-2, "bf16"}};

TEST_F(Cuda, EvaluationIsEquivalentToRef)
{
    for (const Net &net : nets)
        for (size_t P : {7, 33}) {
            devo_model *m = build(net, P);
            Data d = make_data(m, 2500, (uint32_t)P);
            std::vector<double> cpu =
                evaluate(devo_device_cpu(), config(m, P, 3, DEVO_PRECISION_FP32), m, d);
            for (size_t cap : {0, 1}) { // one chunk of 2500; chunks of 1024, 1024 and 452
                devo_cuda_set_chunk_cap(cap);
                for (auto &p : precisions) {
                    std::vector<double> gpu =
                        evaluate(devo_device_cuda(), config(m, P, 3, p.precision), m, d);
                    expect_equivalent(gpu, cpu, p.tolerance, p.name);
                }
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
    std::vector<double> cpu = evaluate(devo_device_cpu(), cfg, m, d, rows.data(), rows.size(), 4);
    std::vector<double> gpu = evaluate(devo_device_cuda(), cfg, m, d, rows.data(), rows.size(), 4);
    for (size_t i = 0; i < 4; i++) EXPECT_TRUE(std::isnan(gpu[i])); // outside the range
    for (size_t i = 4; i < 12; i++) EXPECT_NEAR(gpu[i], cpu[i], 2.0 / 1500) << i;
    devo_model_free(m);
}

TEST_F(Cuda, EvaluationIsBitwiseReproducible)
{
    devo_model *m = build(nets[1], 3);
    Data d = make_data(m, 2100, 3);
    auto cfg = config(m, 64, 8, DEVO_PRECISION_FP32);
    std::vector<double> a = evaluate(devo_device_cuda(), cfg, m, d);
    std::vector<double> b = evaluate(devo_device_cuda(), cfg, m, d);
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
        ASSERT_EQ(devo_device_cuda()->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
        std::vector<size_t> gpu(f.size()), cpu(f.size()), scratch(f.size());
        ASSERT_EQ(devo_device_cuda()->rank(ctx, f.data(), gpu.data()), DEVO_OK);
        devo_rank(f.data(), f.size(), cpu.data(), scratch.data());
        EXPECT_EQ(gpu, cpu);
        devo_device_cuda()->destroy(ctx);
    }
    devo_model_free(m);
}

std::vector<float> population_of(const devo_device_i *be, void *ctx, size_t count)
{
    const float *view = nullptr;
    EXPECT_EQ(be->view(ctx, &view), DEVO_OK) << devo_last_error();
    return std::vector<float>(view, view + count);
}

TEST_F(Cuda, FirstPopulationIsEquivalentToRef)
{
    devo_model *m = build(nets[0], 2);
    auto cfg = config(m, 9, 3, DEVO_PRECISION_FP32);
    size_t D = devo_model_param_count(m);
    m->weights[5] = -0.0f; // individual 0 keeps the sign of a zero: copied, not w0 + std * 0
    void *cpu_ctx = nullptr, *gpu_ctx = nullptr;
    ASSERT_EQ(devo_device_cpu()->create(&cpu_ctx, &cfg), DEVO_OK);
    ASSERT_EQ(devo_device_cuda()->create(&gpu_ctx, &cfg), DEVO_OK) << devo_last_error();
    ASSERT_EQ(devo_device_cpu()->init_population(cpu_ctx, m->weights), DEVO_OK);
    ASSERT_EQ(devo_device_cuda()->init_population(gpu_ctx, m->weights), DEVO_OK);
    std::vector<float> cpu = population_of(devo_device_cpu(), cpu_ctx, 9 * D);
    std::vector<float> gpu = population_of(devo_device_cuda(), gpu_ctx, 9 * D);
    ASSERT_TRUE(std::signbit(cpu[5]));
    ASSERT_EQ(std::memcmp(gpu.data(), cpu.data(), D * sizeof(float)), 0); // individual 0: w0
    for (size_t e = D; e < 9 * D; e++) ASSERT_NEAR(gpu[e], cpu[e], 1e-6) << e;
    devo_device_cpu()->destroy(cpu_ctx);
    devo_device_cuda()->destroy(gpu_ctx);
    devo_model_free(m);
}

/* Breeds one generation on both backends from the same first population and ranking;
 * before[side] and after[side] receive each side's population around the breed. */
void breed_both(const devo_model *m, const devo_device_config &cfg,
                const std::vector<double> &fitness, std::vector<float> before[2],
                std::vector<float> after[2])
{
    const size_t P = cfg.population, k = cfg.top_k, D = devo_model_param_count(m);
    std::vector<size_t> order(P), scratch(P);
    devo_rank(fitness.data(), P, order.data(), scratch.data());
    std::vector<uint32_t> pairs(2 * (P - k));
    devo_parent_pairs(k, P - k, pairs.data());
    const devo_device_i *be[2] = {devo_device_cpu(), devo_device_cuda()};
    for (int side = 0; side < 2; side++) {
        void *ctx = nullptr;
        ASSERT_EQ(be[side]->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
        ASSERT_EQ(be[side]->init_population(ctx, m->weights), DEVO_OK) << devo_last_error();
        before[side] = population_of(be[side], ctx, P * D);
        ASSERT_EQ(be[side]->vary(ctx, order.data(), pairs.data(), 7, 0, P), DEVO_OK)
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
    // The backend's direct draw holds for every individual; curand_init's documented offset
    // only below 2^30 (rng.h), where it must agree too.
    const uint32_t count = 300;
    for (uint32_t individual : {5u, (1u << 30) - 1, (1u << 30) + 5, 0xfffffffeu})
        for (devo_rng_stream stream : {DEVO_STREAM_CROSSOVER, DEVO_STREAM_MUTATE_NOISE}) {
            std::vector<uint32_t> via_init(4 * count), direct(4 * count);
            ASSERT_EQ(devo_cuda_philox_blocks(0x123456789abcdefull, stream, 17, individual, count,
                                              via_init.data(), direct.data()),
                      DEVO_OK)
                << devo_last_error();
            size_t init_agrees = 0;
            for (uint32_t b = 0; b < count; b++) {
                devo_philox_block host =
                    devo_rng_block(0x123456789abcdefull, stream, 17, individual, b);
                for (int q = 0; q < 4; q++) {
                    ASSERT_EQ(direct[4 * b + q], host.w[q]) << "individual " << individual;
                    init_agrees += via_init[4 * b + q] == host.w[q];
                }
            }
            if (individual < (1u << 30))
                EXPECT_EQ(init_agrees, 4u * count) << "individual " << individual;
            else
                EXPECT_LT(init_agrees, 4u * count) << "individual " << individual;
        }
}

double relative(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-6); }

/* Every element of gpu within the mutation noise's rounding (MutationIsEquivalentToRef's 1e-6,
 * for every mutation it may have taken) of cpu's. */
void expect_rows_near(const std::vector<float> &gpu, const std::vector<float> &cpu, double bound,
                      const char *what)
{
    ASSERT_EQ(gpu.size(), cpu.size());
    for (size_t e = 0; e < cpu.size(); e++)
        ASSERT_NEAR(gpu[e], cpu[e], bound) << what << " element " << e;
}

/* What devo_fit_evolve's on_generation saw each generation: the statistics and the run's
 * answer (the GA's best individual, an ES's centre). */
struct Seen {
    std::vector<devo_generation_stats> stats;
    std::vector<std::vector<float>> answers;
};

int record_seen(const devo_generation_stats *stats, void *user)
{
    Seen *seen = static_cast<Seen *>(user);
    seen->stats.push_back(*stats);
    seen->answers.emplace_back(stats->model->weights,
                               stats->model->weights + stats->model->param_count);
    return 0;
}

/* A CPU run and a CUDA run of the engine compared every generation while they can be: the
 * statistics to `tolerance`, the answers within `answer_bound` (0: bit for bit). Runs that rank
 * alike keep equal answers and so evaluate the same populations; a near tie may rank them
 * apart, and the generations after it are compared no further, but never in generation 1 (the
 * seed is fixed: such a tie would be there on every run). True when every generation was
 * compared and the last answers are alike (the caller then compares the final weights). */
bool expect_runs_alike(const Seen &cpu, const Seen &gpu, double tolerance, double answer_bound)
{
    EXPECT_EQ(cpu.stats.size(), gpu.stats.size());
    size_t G = std::min(cpu.stats.size(), gpu.stats.size());
    auto apart = [&](size_t g) {
        double worst = 0.0;
        for (size_t e = 0; e < cpu.answers[g].size(); e++)
            worst = std::max(worst, (double)std::fabs(gpu.answers[g][e] - cpu.answers[g][e]));
        return worst > answer_bound;
    };
    for (size_t g = 0; g < G; g++) {
        SCOPED_TRACE("generation " + std::to_string(g + 1));
        const devo_generation_stats &c = cpu.stats[g], &n = gpu.stats[g];
        EXPECT_LE(relative(n.best, c.best), tolerance) << n.best << " vs " << c.best;
        EXPECT_LE(relative(n.mean, c.mean), tolerance) << n.mean << " vs " << c.mean;
        if (!std::isnan(c.center)) {
            EXPECT_LE(relative(n.center, c.center), tolerance) << n.center << " vs " << c.center;
        }
        if (apart(g)) { // ranked apart: the next populations differ
            EXPECT_GT(g, 0u) << "the runs' answers part in generation 1";
            std::printf("note: a near tie parts the runs' answers in generation %zu; later "
                        "generations are not compared\n", g + 1);
            return false;
        }
    }
    return G > 0;
}

TEST_F(Cuda, ShortRunIsEquivalentToRef)
{
    // The engine's own loop on both devices, every generation and the final answer compared
    // while the runs rank alike (GaRunIsEquivalentToRefEveryGeneration compares every one).
    devo_model *cpu_model = build(nets[0], 11), *gpu_model = build(nets[0], 11);
    Data d = make_data(cpu_model, 2048, 11);
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.max_generations = 4;
    o.on_generation = record_seen;
    Seen seen[2];
    devo_model *models[2] = {cpu_model, gpu_model};
    for (int i = 0; i < 2; i++) {
        o.backend = i ? DEVO_BACKEND_CUDA : DEVO_BACKEND_CPU;
        o.on_generation_user = &seen[i];
        ASSERT_EQ(devo_fit_evolve(models[i], d.x.data(), d.y.data(), d.n, &o, nullptr), DEVO_OK)
            << devo_last_error();
    }
    size_t G = o.max_generations;
    // The mutation noise agrees to rounding (1e-6 a draw, MutationIsEquivalentToRef).
    if (expect_runs_alike(seen[0], seen[1], 1e-5, 1e-6 * (double)G)) {
        const size_t D = cpu_model->param_count;
        expect_rows_near(std::vector<float>(gpu_model->weights, gpu_model->weights + D),
                         std::vector<float>(cpu_model->weights, cpu_model->weights + D),
                         1e-6 * (double)G, "final weights");
    }
    devo_model_free(cpu_model);
    devo_model_free(gpu_model);
}

/* ------------------------------------------------------------ resume and partial breeding */

/* (P, D) values in [-0.5, 0.5): a population both backends can load, unlike their first ones,
 * which differ by the noise's rounding. */
std::vector<float> spread_population(size_t P, size_t D, uint32_t salt)
{
    std::vector<float> pop(P * D);
    uint32_t s = 2024 + salt;
    for (float &v : pop) {
        s = s * 1664525u + 1013904223u;
        v = (float)((s >> 8) / 16777216.0) - 0.5f;
    }
    return pop;
}

std::string temp_path(const std::string &name)
{
    return test_tmp() + "/cuda-" + std::to_string(getpid()) + "-" + name;
}

/* Quiet options of a run of P individuals, k elites, for `generations` on `backend`. */
devo_evolve_options run_options(devo_backend backend, size_t generations, size_t P, size_t k)
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.backend = backend;
    o.max_generations = generations;
    o.population = P;
    o.top_k = k;
    return o;
}

/* Waits counted at each generation's on_generation (cuda_hooks.h's devo_cuda_waits). */
int record_waits(const devo_generation_stats *stats, void *user)
{
    (void)stats;
    static_cast<std::vector<uint64_t> *>(user)->push_back(devo_cuda_waits());
    return 0;
}

TEST_F(Cuda, GaGenerationWaitsOnce)
{
    // The evaluation ranks at once and brings the order and the best row up with its sums:
    // the host waits for the GPU once a generation, with every sample or a subset of them.
    devo_model *m = build(nets[0], 12);
    Data d = make_data(m, 2048, 12);
    for (size_t fitness_samples : {(size_t)0, (size_t)700}) {
        devo_evolve_options o = run_options(DEVO_BACKEND_CUDA, 6, 24, 5);
        o.fitness_samples = fitness_samples;
        std::vector<uint64_t> waits;
        o.on_generation = record_waits;
        o.on_generation_user = &waits;
        ASSERT_EQ(devo_fit_evolve(m, d.x.data(), d.y.data(), d.n, &o, nullptr), DEVO_OK)
            << devo_last_error();
        ASSERT_EQ(waits.size(), 6u);
        for (size_t g = 1; g < waits.size(); g++)
            EXPECT_EQ(waits[g] - waits[g - 1], 1u) << "generation " << g + 1 << " samples "
                                                   << fitness_samples;
    }
    devo_model_free(m);
}

/* An algorithm driven through the device and algorithm tables, as the engine drives them. */
struct Driven {
    const devo_device_i *dev = nullptr;
    const devo_algorithm_i *alg = nullptr;
    void *ctx = nullptr, *state = nullptr;
    ~Driven()
    {
        if (state) alg->destroy(state);
        if (ctx) dev->destroy(ctx);
    }
};

/* Opens alg on a context of o.backend's device for m, started from m's weights, d bound;
 * false (with the test's failure recorded) when a step fails. */
bool drive(Driven &r, const devo_algorithm_i *alg, const devo_evolve_options &o,
           const devo_model *m, const Data &d)
{
    devo_device_config c;
    devo_algorithm_device_config(&o, m, &c);
    r.dev = o.backend == DEVO_BACKEND_CUDA ? devo_device_cuda() : devo_device_cpu();
    r.alg = alg;
    EXPECT_EQ(r.dev->create(&r.ctx, &c), DEVO_OK) << devo_last_error();
    if (!r.ctx) return false;
    EXPECT_EQ(alg->create(&r.state, &o, &c, r.dev, r.ctx), DEVO_OK) << devo_last_error();
    if (!r.state) return false;
    EXPECT_EQ(alg->start(r.state, m->weights), DEVO_OK) << devo_last_error();
    EXPECT_EQ(r.dev->bind_data(r.ctx, d.x.data(), d.y.data(), d.n), DEVO_OK) << devo_last_error();
    return true;
}

struct GaTrace {
    std::vector<std::vector<double>> fitness;   /* (P) each generation: the fitness ranked */
    std::vector<std::vector<double>> own;       /* (P) each: the device's, of the slots evaluated */
    std::vector<std::vector<float>> population; /* (P, D) each generation, as evaluated */
    std::vector<std::vector<float>> best;       /* (D) each generation: the answer */
};

/* `generations` generations of the GA (P individuals, k elites) on the device of `where`,
 * through the device and algorithm tables as the engine drives them on all samples: the first
 * population evaluated whole, later ones from slot k (the elites keep their fitness), each
 * ranked, answered and bred. With `told`, each generation's children are given told's fitness
 * (the CPU's) in place of their own before the ranking, so both devices breed from the same
 * ranking and no near tie can part them. */
GaTrace ga_trace(devo_backend where, const devo_model *m, const Data &d, size_t P, size_t k,
                 size_t generations, const GaTrace *told = nullptr)
{
    devo_evolve_options o = run_options(where, generations, P, k);
    o.batch_size = 96; // several chunks, a partial last one
    GaTrace t;
    Driven r;
    if (!drive(r, devo_algorithm_ga(), o, m, d)) return t;
    const size_t D = m->param_count;
    std::vector<double> f(P, NAN), carried(P, NAN);
    std::vector<size_t> order(P);
    for (size_t g = 0; g < generations; g++) {
        const float *view = nullptr;
        EXPECT_EQ(r.dev->view(r.ctx, &view), DEVO_OK) << devo_last_error();
        if (view) t.population.emplace_back(view, view + P * D);
        size_t first = g == 0 ? 0 : k;
        EXPECT_EQ(r.dev->evaluate(r.ctx, nullptr, 0, first, P - first, f.data()), DEVO_OK)
            << devo_last_error();
        std::vector<double> own(P, NAN);
        for (size_t i = first; i < P; i++) own[i] = f[i];
        t.own.push_back(own);
        if (told && g < told->fitness.size())
            for (size_t i = first; i < P; i++) f[i] = told->fitness[g][i];
        EXPECT_EQ(r.dev->rank(r.ctx, f.data(), order.data()), DEVO_OK) << devo_last_error();
        std::vector<float> best(D);
        EXPECT_EQ(r.alg->answer(r.state, order.data(), best.data()), DEVO_OK) << devo_last_error();
        t.fitness.push_back(f);
        t.best.push_back(best);
        EXPECT_EQ(r.alg->next(r.state, f.data(), order.data(), (uint32_t)(g + 1), 0, P), DEVO_OK)
            << devo_last_error();
        for (size_t i = 0; i < P; i++) carried[i] = i < k ? f[order[i]] : NAN; // the engine's breed
        f.swap(carried);
    }
    return t;
}

TEST_F(Cuda, GaRunIsEquivalentToRefEveryGeneration)
{
    // Each generation the CUDA GA is given the CPU's fitness (its own compared to it, to FP32
    // rounding), so both breed from one ranking: every generation's population agrees to the
    // mutation noise's rounding, which adds up over generations, and so do its fitness and the
    // final answer. The crossover masks are bitwise (MutationIsEquivalentToRef), so a wrong
    // parent or slot shows as an element off by a weight, not by 1e-6.
    devo_model *m = build(nets[0], 14);
    Data d = make_data(m, 1500, 14);
    const size_t P = 24, k = 5, G = 6;
    GaTrace cpu = ga_trace(DEVO_BACKEND_CPU, m, d, P, k, G);
    GaTrace gpu = ga_trace(DEVO_BACKEND_CUDA, m, d, P, k, G, &cpu);
    ASSERT_EQ(gpu.fitness.size(), G);
    ASSERT_EQ(gpu.population.size(), G);
    for (size_t g = 0; g < G; g++) {
        SCOPED_TRACE("generation " + std::to_string(g));
        double bound = 1e-6 * (double)(g + 1);
        expect_rows_near(gpu.population[g], cpu.population[g], bound, "population");
        expect_rows_near(gpu.best[g], cpu.best[g], bound, "answer");
        size_t first = g == 0 ? 0 : k;
        expect_equivalent(std::vector<double>(gpu.own[g].begin() + first, gpu.own[g].end()),
                          std::vector<double>(cpu.own[g].begin() + first, cpu.own[g].end()),
                          g == 0 ? 1e-5 : 1e-4, "the children's own fitness");
    }
    devo_model_free(m);
}

TEST_F(Cuda, RankTakesTheFitnessItIsGivenAfterAnEvaluation)
{
    // The order ranked ahead after an evaluation is used only for the fitness it ranked;
    // another one (a custom fitness, a share gathered) is ranked as given. The best row that
    // came up with it is the population's row.
    devo_model *m = build(nets[0], 13);
    Data d = make_data(m, 1500, 13);
    const size_t P = 40, D = m->param_count;
    auto cfg = config(m, P, 6, DEVO_PRECISION_FP32);
    void *ctx = open_ctx(devo_device_cuda(), cfg, m, d);
    const devo_device_i *be = devo_device_cuda();
    std::vector<double> f(P), other(P);
    ASSERT_EQ(be->evaluate(ctx, nullptr, 0, 0, P, f.data()), DEVO_OK) << devo_last_error();
    for (size_t i = 0; i < P; i++) other[i] = -f[i];
    other[3] = NAN;
    std::vector<size_t> order(P), expected(P), scratch(P);
    for (const std::vector<double> *given : {&other, &f}) {
        ASSERT_EQ(be->evaluate(ctx, nullptr, 0, 0, P, f.data()), DEVO_OK) << devo_last_error();
        uint64_t waits = devo_cuda_waits();
        ASSERT_EQ(be->rank(ctx, given->data(), order.data()), DEVO_OK) << devo_last_error();
        devo_rank(given->data(), P, expected.data(), scratch.data());
        EXPECT_EQ(order, expected) << (given == &f ? "the fitness evaluated" : "another one");
        if (given == &f) { // ranked ahead: neither the ranking nor its best row waits
            std::vector<float> row(D);
            ASSERT_EQ(be->copy_row(ctx, order[0], row.data()), DEVO_OK);
            EXPECT_EQ(devo_cuda_waits(), waits);
        } else {
            EXPECT_EQ(devo_cuda_waits(), waits + 1); // uploaded and sorted
        }
    }
    const float *view = nullptr;
    ASSERT_EQ(be->view(ctx, &view), DEVO_OK);
    std::vector<float> best(D);
    ASSERT_EQ(be->copy_row(ctx, order[0], best.data()), DEVO_OK);
    EXPECT_EQ(0, memcmp(best.data(), view + order[0] * D, D * sizeof(float)));
    ASSERT_EQ(be->copy_row(ctx, order[1], best.data()), DEVO_OK);
    EXPECT_EQ(0, memcmp(best.data(), view + order[1] * D, D * sizeof(float)));
    be->destroy(ctx);
    devo_model_free(m);
}

struct Bred {
    std::vector<float> population; /* (P, D) after the breed */
    std::vector<double> fitness;   /* (P): the bred slots [first, first + count) evaluated */
};

/* `population` (P, D) loaded into ctx (the rows a previous breed left there overwritten),
 * slots [first, first + count) bred (all of them by breed when whole), and those slots
 * evaluated on ctx's data. */
Bred breed_loaded(const devo_device_i *be, void *ctx, const std::vector<float> &population,
                  const std::vector<size_t> &order, const std::vector<uint32_t> &pairs,
                  size_t first, size_t count, bool whole)
{
    const size_t P = order.size();
    const uint32_t generation = 5;
    load_in_two_parts(be, ctx, population, P);
    EXPECT_EQ(be->vary(ctx, order.data(), pairs.data(), generation, whole ? 0 : first,
                       whole ? P : count),
              DEVO_OK) << devo_last_error();
    Bred out{population_of(be, ctx, population.size()), std::vector<double>(P, NAN)};
    EXPECT_EQ(be->evaluate(ctx, nullptr, 0, first, count, out.fitness.data()), DEVO_OK)
        << devo_last_error();
    return out;
}

TEST_F(Cuda, BreedRangeIsEquivalentToRef)
{
    // One loaded population and ranking, bred in the shares of 1, 2 and 3 ranks of the slots
    // [from, P) as libdevo_mpi cuts them (boundaries off the 32-slot groups): each share's
    // elites and children equal those of a full breed on the GPU bit for bit, and the CPU's bit
    // for bit without mutation (with it, to the noise's rounding); evaluating the share reads
    // operands written for its slots (BF16 too), as the CPU's evaluation of the same children.
    // One context per backend: each breed starts by loading the population again.
    devo_model *m = build(nets[1], 6);
    const size_t P = 70, k = 5, D = devo_model_param_count(m);
    Data d = make_data(m, 1100, 6);
    std::vector<float> population = spread_population(P, D, 6);
    std::vector<double> fitness(P);
    for (size_t i = 0; i < P; i++) fitness[i] = std::sin(1.7 * (double)i);
    std::vector<size_t> order(P), scratch(P);
    devo_rank(fitness.data(), P, order.data(), scratch.data());
    std::vector<uint32_t> pairs(2 * (P - k));
    devo_parent_pairs(k, P - k, pairs.data());
    const struct {
        double mutation_rate;
        Precision gpu;
    } cases[] = {{0.0, precisions[0]}, {0.2, precisions[2]}};
    for (auto &c : cases) {
        auto cfg = config(m, P, k, DEVO_PRECISION_FP32);
        cfg.mutation_threshold = devo_mutation_threshold(c.mutation_rate);
        void *cpu_ctx = open_ctx(devo_device_cpu(), cfg, m, d);
        Bred cpu = breed_loaded(devo_device_cpu(), cpu_ctx, population, order, pairs, 0, P, true);
        devo_device_cpu()->destroy(cpu_ctx);
        cfg.precision = c.gpu.precision;
        void *ctx = open_ctx(devo_device_cuda(), cfg, m, d);
        Bred full = breed_loaded(devo_device_cuda(), ctx, population, order, pairs, 0, P, true);
        for (size_t from : {(size_t)0, k})
            for (int ranks = 1; ranks <= 3; ranks++)
                for (int rank = 0; rank < ranks; rank++) {
                    size_t first, count;
                    devo_share(P - from, ranks, rank, &first, &count);
                    first += from;
                    Bred part = breed_loaded(devo_device_cuda(), ctx, population, order, pairs,
                                             first, count, false);
                    for (size_t slot = 0; slot < first + count; slot++) {
                        if (slot >= k && slot < first) continue; // not this share's
                        const float *g = &part.population[slot * D];
                        const float *f = &full.population[slot * D], *r = &cpu.population[slot * D];
                        ASSERT_EQ(std::memcmp(g, f, D * sizeof(float)), 0) << "slot " << slot;
                        for (size_t e = 0; e < D; e++) {
                            float tolerance = c.mutation_rate == 0.0 ? 0.0f : 1e-6f;
                            ASSERT_NEAR(g[e], r[e], tolerance) << "slot " << slot << " " << e;
                        }
                    }
                    expect_equivalent(
                        std::vector<double>(part.fitness.begin() + first,
                                            part.fitness.begin() + first + count),
                        std::vector<double>(cpu.fitness.begin() + first,
                                            cpu.fitness.begin() + first + count),
                        c.gpu.tolerance, c.gpu.name);
                }
        devo_device_cuda()->destroy(ctx);
    }
    devo_model_free(m);
}

TEST_F(Cuda, CheckpointPopulationIsEquivalentToRef)
{
    // A state saved from a CPU run holds the population a resume loads. The GPU backend loads it
    // over its own first population (in two parts) and evaluates it as the CPU does in every
    // precision: the packed first layer and the BF16 copy are the loaded rows', not stale ones.
    devo_model *m = build(nets[0], 12);
    Data d = make_data(m, 2100, 12);
    devo_evolve_options o = run_options(DEVO_BACKEND_CPU, 2, 12, 3);
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
    ASSERT_EQ(devo_evolver_fit(e, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
    std::string path = temp_path("cpu.devostate");
    ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK) << devo_last_error();
    devo_evolver_free(e);
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), nullptr), DEVO_OK) << devo_last_error();
    const float *view = nullptr;
    size_t P = 0, D = 0;
    ASSERT_EQ(devo_evolver_ask(e, &view, &P, &D), DEVO_OK);
    std::vector<float> population(view, view + P * D);
    devo_evolver_free(e);
    unlink(path.c_str());

    std::vector<double> cpu = evaluate(devo_device_cpu(), config(m, P, 3, DEVO_PRECISION_FP32),
                                       m, d, nullptr, 0, 0, &population);
    for (auto &p : precisions) {
        auto cfg = config(m, P, 3, p.precision);
        void *ctx = open_ctx(devo_device_cuda(), cfg, m, d, &population);
        EXPECT_EQ(population_of(devo_device_cuda(), ctx, P * D), population) << p.name;
        devo_device_cuda()->destroy(ctx);
        expect_equivalent(evaluate(devo_device_cuda(), cfg, m, d, nullptr, 0, 0, &population),
                          cpu, p.tolerance, p.name);
    }
    devo_model_free(m);
}

/* The GPU run of 4 generations against the same run saved after generation `stop` and
 * resumed in a new evolver: the same model and history (but wall time), bit for bit. */
void expect_exact_gpu_resume(devo_precision precision, size_t fitness_samples, size_t stop)
{
    devo_model *whole = build(nets[0], 13), *part = build(nets[0], 13);
    Data d = make_data(whole, 2100, 13);
    devo_evolve_options o = run_options(DEVO_BACKEND_CUDA, 4, 40, 6);
    o.fitness_samples = fitness_samples;
    o.precision = precision;
    devo_history full{}, resumed{};
    ASSERT_EQ(devo_fit_evolve(whole, d.x.data(), d.y.data(), d.n, &o, &full), DEVO_OK)
        << devo_last_error();
    devo_evolve_options first = o;
    first.max_generations = stop;
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, part, &first), DEVO_OK) << devo_last_error();
    ASSERT_EQ(devo_evolver_fit(e, part, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
    std::string path = temp_path("gpu.devostate");
    ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK) << devo_last_error();
    devo_evolver_free(e);
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), &o), DEVO_OK) << devo_last_error();
    ASSERT_EQ(devo_evolver_fit(e, part, d.x.data(), d.y.data(), d.n, &resumed), DEVO_OK)
        << devo_last_error();
    devo_evolver_free(e);
    unlink(path.c_str());
    size_t D = devo_model_param_count(whole);
    EXPECT_EQ(std::memcmp(part->weights, whole->weights, D * sizeof(float)), 0);
    ASSERT_EQ(resumed.generations, full.generations);
    size_t G = full.generations;
    for (double *devo_history::*column : {&devo_history::best, &devo_history::mean,
                                          &devo_history::std, &devo_history::population_mean,
                                          &devo_history::best_ever})
        EXPECT_EQ(std::memcmp(resumed.*column, full.*column, G * sizeof(double)), 0);
    EXPECT_EQ(std::memcmp(resumed.evaluations, full.evaluations, G * sizeof(uint64_t)), 0);
    devo_history_free(&full);
    devo_history_free(&resumed);
    devo_model_free(whole);
    devo_model_free(part);
}

TEST_F(Cuda, ResumedRunIsEquivalentToRef)
{
    // The reference here is the uninterrupted GPU run (the CPU's resume is test_state.cpp's).
    expect_exact_gpu_resume(DEVO_PRECISION_FP32, 0, 2);
    expect_exact_gpu_resume(DEVO_PRECISION_BF16, 700, 1);
    expect_exact_gpu_resume(DEVO_PRECISION_TF32, 0, 0);
}

// A population of 10 of nets[1] on the CPU and on CUDA: each one's outputs through
// run(evolver, inputs, rows, outputs) agree. inputs_per_row: the floats of x per row.
template <typename Run>
void expect_outputs_equivalent(size_t batch_size, size_t inputs_per_row, Run run)
{
    devo_model *m = build(nets[1], 6);
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.population = 10;
    o.top_k = 2;
    o.init_std = 0.5;
    o.batch_size = batch_size;
    const size_t P = 10, rows = 1500, out = 3;
    std::vector<float> x(rows * inputs_per_row), y[2];
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.01f * (float)i);
    devo_backend kinds[2] = {DEVO_BACKEND_CPU, DEVO_BACKEND_CUDA};
    for (int side = 0; side < 2; side++) {
        o.backend = kinds[side];
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
        y[side].resize(P * rows * out);
        ASSERT_EQ(run(e, x.data(), rows, y[side].data()), DEVO_OK) << devo_last_error();
        devo_evolver_free(e);
    }
    for (size_t i = 0; i < y[0].size(); i++) ASSERT_NEAR(y[1][i], y[0][i], 1e-5) << i;
    devo_model_free(m);
}

// devo_evolver_forward: every individual on its own 1,500 rows.
TEST_F(Cuda, ForwardIsEquivalentToRef)
{
    expect_outputs_equivalent(1024, 10 * 20, devo_evolver_forward);
}

// devo_evolver_predict (every individual on the same inputs, through forward on the GPU)
// agrees with the CPU's (the built-in fitness's blocked GEMMs), over several chunks.
TEST_F(Cuda, PredictIsEquivalentToRef)
{
    expect_outputs_equivalent(512, 20, devo_evolver_predict); // 3 chunks, the last partial
}

TEST_F(Cuda, FusedEpiloguesAreEquivalentToRefAndReported)
{
    // Every precision on a ReLU and a linear hidden layer (the bias fused, the ReLU too where
    // the probe allows, in BF16 the next operand written by the GEMM) and the output layer,
    // whole and from slot k: the CPU's fitness to each precision's tolerance; and what the
    // probe allowed, printed for the device's log. Tanh, sigmoid and a hidden softmax (the bias
    // fused, the activation after it) are EvaluationIsEquivalentToRef's nets[1] and nets[3].
    const Net net = {24, {{20, DEVO_ACT_RELU}, {12, DEVO_ACT_LINEAR}, {4, DEVO_ACT_SOFTMAX}},
                     DEVO_LOSS_CATEGORICAL_CROSSENTROPY};
    devo_model *m = build(net, 21);
    Data d = make_data(m, 3000, 21);
    // The CPU's FP32 fitness is the reference of every precision (EvaluationIsEquivalentToRef).
    std::vector<double> cpu = evaluate(devo_device_cpu(), config(m, 37, 5, DEVO_PRECISION_FP32), m, d);
    for (const Precision &pr : precisions) {
        auto cfg = config(m, 37, 5, pr.precision);
        uint64_t fused_before = devo_cuda_fused_gemms();
        std::vector<double> gpu = evaluate(devo_device_cuda(), cfg, m, d);
        uint64_t fused = devo_cuda_fused_gemms() - fused_before;
        char verdict[160];
        devo_cuda_epilogue_verdict(verdict, sizeof verdict);
        std::printf("[ epilogue ] %s: %s %llu GEMMs fused\n", pr.name, verdict,
                    (unsigned long long)fused);
        RecordProperty(std::string("epilogue_") + pr.name, verdict);
        EXPECT_NE(verdict[0], '\0');
        // What the probe allows is used: every layer here has an epilogue to fuse.
        if (std::strstr(verdict, " fused")) {
            EXPECT_GT(fused, 0u) << verdict;
        }
        // TF32 that truncates (sm_90 may) biases three layers' logits: up to 0.25% was
        // emulated here, against the table's 1/256.
        double tolerance = pr.precision == DEVO_PRECISION_TF32 ? 1.0 / 128 : pr.tolerance;
        expect_equivalent(gpu, cpu, tolerance, pr.name);
        std::vector<double> from_k = evaluate(devo_device_cuda(), cfg, m, d, nullptr, 0, 5);
        expect_equivalent(std::vector<double>(from_k.begin() + 5, from_k.end()),
                          std::vector<double>(cpu.begin() + 5, cpu.end()), tolerance, pr.name);
    }
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

// The resolver itself: DEVO_BACKEND_AUTO resolves to CUDA when a device is present (the
// fixture skips otherwise), and an evolver created with AUTO holds its population on the CUDA
// device, not the CPU's.
TEST_F(Cuda, AutoChoosesCudaWhenADeviceIsPresent)
{
    devo_evolve_options o = run_options(DEVO_BACKEND_AUTO, 1, 8, 2);
    devo_backend where = DEVO_BACKEND_CPU;
    ASSERT_EQ(devo_options_resolve_backend(&o, &where), DEVO_OK) << devo_last_error();
    EXPECT_EQ(where, DEVO_BACKEND_CUDA);
    const devo_device_i *table = nullptr;
    ASSERT_EQ(devo_options_device_table(&o, &table), DEVO_OK);
    EXPECT_EQ(table, devo_device_cuda());
    devo_model *m = build(nets[0], 1);
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
    EXPECT_EQ(e->device, devo_device_cuda());
    devo_evolver_free(e);
    devo_model_free(m);
}

/* ------------------------------------------------------------ the GPU's rounding, emulated */

enum class Rounding { none, tf32_nearest, tf32_zero, bf16_nearest };

/* v as a GEMM operand: FP32 unchanged, TF32 (10 mantissa bits) rounded to nearest even or
 * truncated, BF16 (7 mantissa bits) rounded to nearest even as __float2bfloat16 does. */
float round_operand(float v, Rounding r)
{
    if (r == Rounding::none || !std::isfinite(v)) return v;
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    unsigned drop = r == Rounding::bf16_nearest ? 16 : 13;
    uint32_t low = (1u << drop) - 1;
    if (r != Rounding::tf32_zero) bits += (low >> 1) + ((bits >> drop) & 1u);
    bits &= ~low;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

/* The fitness (negative mean loss) of the individual w (D) on d, as the GPU computes it:
 * every GEMM operand (input, weight, hidden activation) of layer l rounded by r[l], the
 * products summed exactly (double, where the GPU sums in FP32), bias and activation in FP32. */
double emulated_fitness(const devo_model *m, const float *w, const Data &d,
                        const std::vector<Rounding> &r)
{
    size_t width = devo_model_target_width(m), outputs = devo_model_output_dim(m);
    const devo_layer *last = &m->layers[m->layer_count - 1];
    double loss = 0.0;
    std::vector<float> h, z;
    for (size_t s = 0; s < d.n; s++) {
        h.assign(d.x.begin() + (long)(s * m->input_dim), d.x.begin() + (long)((s + 1) * m->input_dim));
        for (size_t l = 0; l < m->layer_count; l++) {
            const devo_layer *layer = &m->layers[l];
            z.assign(layer->units, 0.0f);
            for (size_t j = 0; j < layer->units; j++) {
                double sum = 0.0;
                for (size_t i = 0; i < layer->inputs; i++)
                    sum += (double)round_operand(h[i], r[l]) *
                           (double)round_operand(w[layer->kernel_offset + i * layer->units + j],
                                                 r[l]);
                z[j] = (float)sum + w[layer->bias_offset + j];
            }
            if (l + 1 < m->layer_count) devo_activate_row(layer->act, z.data(), layer->units);
            h.swap(z);
        }
        loss += devo_sample_loss(last->act, devo_model_loss(m), h.data(), outputs,
                                 d.y.data() + s * width);
    }
    return -loss / (double)d.n;
}

/* Largest relative difference between gpu[first ..] and the emulation on population (P, D). */
double worst_against_emulation(const devo_model *m, const float *population,
                               const std::vector<double> &gpu, size_t first, const Data &d,
                               const std::vector<Rounding> &r)
{
    size_t D = devo_model_param_count(m);
    double worst = 0.0;
    for (size_t i = first; i < gpu.size(); i++) {
        double ref = emulated_fitness(m, population + i * D, d, r);
        double rel = std::fabs(gpu[i] - ref) / std::max(std::fabs(ref), 1e-6);
        worst = std::isnan(rel) ? INFINITY : std::max(worst, rel);
    }
    return worst;
}

TEST(CudaHost, OperandRoundingKeepsTheMantissaBitsOfEachFormat)
{
    const float one = 1.0f;
    EXPECT_EQ(round_operand(one + std::ldexp(1.0f, -11), Rounding::tf32_nearest), one); // tie: even
    EXPECT_EQ(round_operand(one + 3 * std::ldexp(1.0f, -12), Rounding::tf32_nearest),
              one + std::ldexp(1.0f, -10));
    EXPECT_EQ(round_operand(one + std::ldexp(1.0f, -10) - std::ldexp(1.0f, -23), Rounding::tf32_zero),
              one);
    EXPECT_EQ(round_operand(-1.5f - std::ldexp(1.0f, -9), Rounding::bf16_nearest), -1.5f);
    EXPECT_EQ(round_operand(0.1f, Rounding::none), 0.1f);
}

TEST_F(Cuda, EvaluationMatchesTheGpusOwnRoundingEmulated)
{
    // Each precision's fitness against the host emulation of that precision's operand rounding,
    // on the GPU's own population, before and after a breed (whose kernel writes the packed and
    // BF16 operands evaluation reads). Left over: FP32 summation order, far below 1e-4.
    // cuBLAS may run a TF32 GEMM on tensor cores (operands rounded to nearest, or truncated) or,
    // for a small shape, in plain FP32: each layer may be any of the three.
    const struct {
        devo_precision precision;
        std::vector<Rounding> modes;
    } cases[] = {{DEVO_PRECISION_FP32, {Rounding::none}},
                 {DEVO_PRECISION_TF32, {Rounding::none, Rounding::tf32_nearest, Rounding::tf32_zero}},
                 {DEVO_PRECISION_BF16, {Rounding::bf16_nearest}}};
    const size_t P = 7, k = 3;
    for (const Net &net : nets) {
        devo_model *m = build(net, 21);
        Data d = make_data(m, 600, 21);
        for (auto &c : cases) {
            std::vector<std::vector<Rounding>> per_layer = {{}}; // every combination over layers
            for (size_t l = 0; l < m->layer_count; l++) {
                std::vector<std::vector<Rounding>> longer;
                for (auto &prefix : per_layer)
                    for (Rounding r : c.modes) {
                        longer.push_back(prefix);
                        longer.back().push_back(r);
                    }
                per_layer.swap(longer);
            }
            auto cfg = config(m, P, k, c.precision);
            void *ctx = nullptr;
            const devo_device_i *be = devo_device_cuda();
            ASSERT_EQ(be->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
            ASSERT_EQ(be->init_population(ctx, m->weights), DEVO_OK) << devo_last_error();
            ASSERT_EQ(be->bind_data(ctx, d.x.data(), d.y.data(), d.n), DEVO_OK);
            std::vector<double> fitness(P, NAN);
            for (int round = 0; round < 2; round++) {
                size_t first = round == 0 ? 0 : k;
                ASSERT_EQ(be->evaluate(ctx, nullptr, 0, first, P - first, fitness.data()), DEVO_OK)
                    << devo_last_error();
                std::vector<float> population = population_of(be, ctx, P * m->param_count);
                double best = INFINITY;
                for (auto &r : per_layer)
                    best = std::min(best, worst_against_emulation(m, population.data(), fitness,
                                                                  first, d, r));
                EXPECT_LE(best, 1e-4) << "precision " << c.precision << " round " << round;
                std::vector<size_t> order(P), scratch(P);
                devo_rank(fitness.data(), P, order.data(), scratch.data());
                std::vector<uint32_t> pairs(2 * (P - k));
                devo_parent_pairs(k, P - k, pairs.data());
                ASSERT_EQ(be->vary(ctx, order.data(), pairs.data(), 1, 0, P), DEVO_OK);
            }
            be->destroy(ctx);
        }
        devo_model_free(m);
    }
}

TEST(CudaHost, EmulationAgreesWithTheCpuBackendInFp32)
{
    // The emulation itself, checked where it can be: without rounding it is the CPU oracle.
    for (const Net &net : nets) {
        devo_model *m = build(net, 13);
        Data d = make_data(m, 1100, 13);
        auto cfg = config(m, 3, 1, DEVO_PRECISION_FP32);
        void *ctx = nullptr;
        ASSERT_EQ(devo_device_cpu()->create(&ctx, &cfg), DEVO_OK);
        ASSERT_EQ(devo_device_cpu()->init_population(ctx, m->weights), DEVO_OK);
        ASSERT_EQ(devo_device_cpu()->bind_data(ctx, d.x.data(), d.y.data(), d.n), DEVO_OK);
        std::vector<double> cpu(3, NAN);
        ASSERT_EQ(devo_device_cpu()->evaluate(ctx, nullptr, 0, 0, 3, cpu.data()), DEVO_OK);
        std::vector<float> population = population_of(devo_device_cpu(), ctx, 3 * m->param_count);
        std::vector<Rounding> none(m->layer_count, Rounding::none),
            bf16(m->layer_count, Rounding::bf16_nearest);
        EXPECT_LE(worst_against_emulation(m, population.data(), cpu, 0, d, none), 1e-5);
        EXPECT_GT(worst_against_emulation(m, population.data(), cpu, 0, d, bf16), 1e-5)
            << "rounding the operands must show";
        devo_device_cpu()->destroy(ctx);
        devo_model_free(m);
    }
}

/* top_k == population: generation 2 evaluates [P, P), which must change nothing and return OK
 * (on the GPU: no GEMM of width 0, no launch). */
void expect_empty_range_is_a_no_op(const devo_device_i *be)
{
    devo_model *m = build(nets[0], 8);
    Data d = make_data(m, 1500, 8);
    std::vector<size_t> rows = {0, 5, 9};
    {
        auto cfg = config(m, 8, 8, DEVO_PRECISION_FP32);
        void *ctx = nullptr;
        ASSERT_EQ(be->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
        ASSERT_EQ(be->init_population(ctx, m->weights), DEVO_OK);
        ASSERT_EQ(be->bind_data(ctx, d.x.data(), d.y.data(), d.n), DEVO_OK);
        std::vector<double> f(8, 0.25);
        EXPECT_EQ(be->evaluate(ctx, nullptr, 0, 8, 0, f.data()), DEVO_OK) << be->name << ": "
                                                                         << devo_last_error();
        EXPECT_EQ(be->evaluate(ctx, rows.data(), rows.size(), 8, 0, f.data()), DEVO_OK)
            << be->name << ": " << devo_last_error();
        for (double v : f) EXPECT_EQ(v, 0.25) << be->name;
        be->destroy(ctx);
    }
    devo_model_free(m);
}

TEST(CudaHost, EmptyRangeIsANoOpOnTheCpu) { expect_empty_range_is_a_no_op(devo_device_cpu()); }

TEST_F(Cuda, EmptyRangeIsANoOp) { expect_empty_range_is_a_no_op(devo_device_cuda()); }

TEST_F(Cuda, NanPropagatesThroughEveryActivation)
{
    // As in Keras: a NaN input makes every output of its row NaN, through hidden and output
    // layers of each activation (ReLU too: NaN > 0 is false, so z > 0 ? z : 0 would hide it).
    for (devo_activation act : {DEVO_ACT_RELU, DEVO_ACT_TANH, DEVO_ACT_SIGMOID, DEVO_ACT_SOFTMAX,
                                DEVO_ACT_LINEAR}) {
        const Net hidden = {4, {{3, act}, {2, DEVO_ACT_LINEAR}}, DEVO_LOSS_MSE};
        const Net output = {4, {{3, act}}, DEVO_LOSS_MSE};
        for (const Net *net : {&hidden, &output}) {
            devo_model *m = build(*net, 3);
            const size_t P = 2, rows = 2, out = net->layers.back().first;
            std::vector<float> x(P * rows * 4, 0.5f), y(P * rows * out, 0.0f);
            for (size_t p = 0; p < P; p++) x[p * rows * 4 + 1] = NAN; // row 0 of each individual
            auto cfg = config(m, P, 1, DEVO_PRECISION_FP32);
            void *ctx = nullptr;
            ASSERT_EQ(devo_device_cuda()->create(&ctx, &cfg), DEVO_OK) << devo_last_error();
            ASSERT_EQ(devo_device_cuda()->init_population(ctx, m->weights), DEVO_OK);
            ASSERT_EQ(devo_device_cuda()->forward(ctx, x.data(), rows, y.data()), DEVO_OK);
            for (size_t p = 0; p < P; p++)
                for (size_t j = 0; j < out; j++) {
                    EXPECT_TRUE(std::isnan(y[(p * rows) * out + j])) << "act " << act << " p " << p;
                    EXPECT_TRUE(std::isfinite(y[(p * rows + 1) * out + j])) << "act " << act;
                }
            devo_device_cuda()->destroy(ctx);
            devo_model_free(m);
        }
    }
}

/* ------------------------------------------------------------ kernel index math on the host */

size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

TEST(CudaHost, CrossoverWordAndBitAreTheCpuLayouts)
{
    // The variation kernel picks element base + q's parent with devo_vary_crossover_word and
    // devo_vary_takes_first; the CPU with devo_crossover_bit. Every position of a block.
    for (uint32_t i = 0; i < 64; i++) {
        devo_philox_block b = devo_rng_block(99, DEVO_STREAM_CROSSOVER, 3, i, i / 2);
        for (uint64_t base = 0; base < 1024; base += 4)
            for (unsigned q = 0; q < 4; q++)
                ASSERT_EQ(devo_vary_takes_first(devo_vary_crossover_word(b, base), base, q),
                          devo_crossover_bit(b, (base + q) % 128))
                    << "base " << base << " q " << q;
    }
}

TEST(CudaHost, VaryKernelWritesEverySlotAndElementOnceWithItsWarpsDraw)
{
    // vary_kernel's walk (cuda_layout.h's devo_vary_*, which the kernel calls) run on the host
    // for a grid whose y dimension is capped low (the device caps it at 65535) so that the
    // group loop strides: each (slot, element) of the range is written exactly once, nothing
    // outside it; a slot's crossover block comes from a lane of its warp (slot - group < 32);
    // the 32 lanes of a warp share one crossover block index.
    for (size_t P : {1, 5, 32, 33, 70})
        for (size_t D : {1, 127, 128, 129, 1030})
            for (auto range : {std::make_pair((size_t)0, P), std::make_pair(P / 3, P),
                               std::make_pair(P / 2, P / 2 + 1)}) {
                size_t first = range.first, end = range.second, grid_x = 0, grid_y = 0;
                devo_vary_grid(ceil_div(end - first, DEVO_VARY_GROUP), D, 2, &grid_x, &grid_y);
                std::vector<int> writes(P * D, 0);
                for (size_t by = 0; by < grid_y; by++)
                    for (size_t bx = 0; bx < grid_x; bx++)
                        for (size_t thread = 0; thread < DEVO_VARY_THREADS; thread++) {
                            size_t base = devo_vary_base(bx, thread);
                            // one crossover block per warp
                            ASSERT_EQ(base / 128, devo_vary_base(bx, thread / 32 * 32) / 128);
                            for (size_t group = devo_vary_first_group(first, by); group < end;
                                 group += devo_vary_group_step(grid_y)) {
                                size_t last = devo_vary_group_end(group, end);
                                for (size_t slot = group; slot < last; slot++) {
                                    ASSERT_LT(slot - group, 32u); // a lane of the warp drew it
                                    for (unsigned q = 0; q < 4 && base < D; q++)
                                        if (base + q < D) writes[slot * D + base + q]++;
                                }
                            }
                        }
                for (size_t i = 0; i < P * D; i++)
                    ASSERT_EQ(writes[i], i / D >= first && i / D < end ? 1 : 0)
                        << "P " << P << " D " << D << " slots " << first << ".." << end << " index "
                        << i;
            }
}

TEST(CudaHost, BiasGridTakesEveryUnitRowAndIndividualOnce)
{
    // bias_activate_kernel's loops emulated over devo_bias_grid, in both layouts of a view
    // (individual-major, and the packed first layer's rows outermost): every element of
    // count x rows x units once, also past 65,535 blocks in y (rows) and z (individuals).
    struct Shape {
        size_t count, rows, units;
    } shapes[] = {{1, 1, 1}, {7, 452, 30}, {3, 1024, 256}, {33, 9, 10}, {65537, 2, 3},
                  {2, 8 * 65535 + 9, 1}};
    for (const Shape &s : shapes)
        for (int packed = 0; packed < 2; packed++) {
            size_t individual_stride = packed ? s.units : s.rows * s.units;
            size_t row_stride = packed ? s.count * s.units : s.units;
            std::vector<uint8_t> seen(s.count * s.rows * s.units, 0);
            devo_grid3 g = devo_bias_grid(s.count, s.rows, s.units);
            ASSERT_LE(g.y, 65535u);
            ASSERT_LE(g.z, 65535u);
            for (size_t bx = 0; bx < g.x; bx++)
                for (size_t x = 0; x < DEVO_BIAS_X; x++) {
                    size_t j = bx * DEVO_BIAS_X + x;
                    if (j >= s.units) continue;
                    for (size_t bz = 0; bz < g.z; bz++)
                        for (size_t p = bz; p < s.count; p += g.z)
                            for (size_t by = 0; by < g.y; by++)
                                for (size_t y = 0; y < DEVO_BIAS_Y; y++)
                                    for (size_t r = by * DEVO_BIAS_Y + y; r < s.rows;
                                         r += (size_t)g.y * DEVO_BIAS_Y)
                                        seen[p * individual_stride + r * row_stride + j]++;
                }
            for (size_t i = 0; i < seen.size(); i++)
                ASSERT_EQ(seen[i], 1) << s.count << "x" << s.rows << "x" << s.units << " packed "
                                      << packed << " element " << i;
        }
}

TEST(CudaHost, LaterLayersOperandRowsArePaddedAndAligned)
{
    // The later layers' operand: every weight from layer 1's kernel on lands once, in its
    // individual's row; rows are a multiple of 8 elements apart, so layer 1's kernel of every
    // individual starts 16-byte aligned in BF16 (32 in FP32); nothing before the tail lands.
    const Net wide = {784, {{256, DEVO_ACT_RELU}, {10, DEVO_ACT_SOFTMAX}},
                      DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY}; // D = 203,530
    for (const Net &net : {wide, nets[0], nets[1], nets[3]}) {
        devo_model *m = build(net, 1);
        size_t D = m->param_count, offset = m->layers[1].kernel_offset, size = D - offset;
        size_t stride = devo_tail_stride(size), P = 5;
        EXPECT_EQ(stride % 8, 0u);
        EXPECT_GE(stride, size);
        EXPECT_LT(stride, size + 8);
        std::vector<int> seen(P * stride, 0);
        for (size_t slot = 0; slot < P; slot++) {
            EXPECT_EQ(devo_tail_index(offset, slot, offset, size) % 8, 0u);
            for (size_t e = 0; e < D; e++) {
                size_t t = devo_tail_index(e, slot, offset, size);
                if (e < offset) {
                    ASSERT_EQ(t, SIZE_MAX) << e;
                    continue;
                }
                ASSERT_GE(t, slot * stride);
                ASSERT_LT(t, slot * stride + size);
                seen[t]++;
            }
        }
        for (size_t slot = 0; slot < P; slot++)
            for (size_t t = 0; t < stride; t++)
                ASSERT_EQ(seen[slot * stride + t], t < size ? 1 : 0) << slot << " " << t;
        devo_model_free(m);
    }
}

TEST(CudaHost, VaryRangesAreTheElitesAndTheShare)
{
    // breed_range(first, count) runs the variation kernel over devo_vary_ranges: sorted,
    // disjoint, non-empty ranges making exactly the elites [0, k) and the children of
    // [first, first + count); the shares of [from, P) over any rank count (libdevo_mpi's cut)
    // make every slot between them, and a full breed is one launch over [0, P).
    for (size_t P : {1, 2, 5, 33, 70})
        for (size_t k : {(size_t)0, (size_t)1, P / 2, P})
            for (size_t from : {(size_t)0, k})
                for (int ranks = 1; ranks <= 4; ranks++) {
                    std::vector<int> made(P, 0);
                    for (int rank = 0; rank < ranks; rank++) {
                        size_t first, count, begin[2], end[2];
                        devo_share(P - from, ranks, rank, &first, &count);
                        first += from;
                        int n = devo_vary_ranges(k, first, count, begin, end);
                        std::vector<int> mine(P, 0);
                        for (int i = 0; i < n; i++) {
                            ASSERT_LT(begin[i], end[i]);
                            ASSERT_LE(end[i], P);
                            ASSERT_TRUE(i == 0 || end[i - 1] < begin[i]); // touching: merged
                            for (size_t slot = begin[i]; slot < end[i]; slot++) mine[slot]++;
                        }
                        for (size_t slot = 0; slot < P; slot++) {
                            bool wanted = slot < k || (slot >= first && slot < first + count);
                            ASSERT_EQ(mine[slot], wanted ? 1 : 0)
                                << "P " << P << " k " << k << " share " << first << "+" << count
                                << " slot " << slot;
                            made[slot] |= mine[slot];
                        }
                    }
                    for (size_t slot = 0; slot < P; slot++) ASSERT_EQ(made[slot], 1) << slot;
                }
    size_t begin[2], end[2];
    ASSERT_EQ(devo_vary_ranges(3, 0, 70, begin, end), 1);
    EXPECT_EQ(begin[0], 0u);
    EXPECT_EQ(end[0], 70u);
}

TEST(CudaHost, PackedIndexIsTheCpuPackingOfTheWholePopulation)
{
    // The variation kernels write layer 0's kernels to devo_packed_index; evaluation reads the
    // columns of individuals [first, P) from column first * units with ld P * units. Both must
    // match devo_cpu_pack_first_layer (of all P, and of [first, P) alone).
    devo_model *m = build({5, {{3, DEVO_ACT_RELU}, {2, DEVO_ACT_SOFTMAX}}, DEVO_LOSS_MSE}, 4);
    const size_t P = 6, D = devo_model_param_count(m), units = 3, inputs = 5, first = 2;
    std::vector<float> w(P * D);
    for (size_t i = 0; i < w.size(); i++) w[i] = (float)i;
    std::vector<float> cpu(inputs * P * units), kernel(inputs * P * units, -1.0f);
    devo_cpu_pack_first_layer(m, w.data(), P, cpu.data());
    for (size_t slot = 0; slot < P; slot++)
        for (size_t e = 0; e < inputs * units; e++)
            kernel[devo_packed_index(e, slot, units, P)] = w[slot * D + m->layers[0].kernel_offset + e];
    EXPECT_EQ(kernel, cpu);
    std::vector<float> part(inputs * (P - first) * units);
    devo_cpu_pack_first_layer(m, w.data() + first * D, P - first, part.data());
    for (size_t row = 0; row < inputs; row++)
        for (size_t c = 0; c < (P - first) * units; c++)
            ASSERT_EQ(kernel[row * (P * units) + first * units + c], part[row * ((P - first) * units) + c]);
    devo_model_free(m);
}

TEST(CudaHost, BiasRowsAreAlignedAndRegionsDisjoint)
{
    // The fused epilogues read each matrix's bias from a 16-byte boundary: every padded row
    // starts at a multiple of 4 floats, regions at multiples of 64, and no region reaches the
    // next one, packed or padded.
    const size_t units[] = {30, 7, 1, 256, 10}, L = 5;
    for (size_t slots : {(size_t)1, (size_t)5, (size_t)257}) {
        size_t next = 0;
        for (size_t l = 0; l < L; l++) {
            size_t at = next;
            next = devo_bias_region_after(at, units[l], slots);
            EXPECT_EQ(at % 64, 0u);
            EXPECT_EQ(devo_bias_stride(units[l], 0) % 4, 0u);
            EXPECT_GE(devo_bias_stride(units[l], 0), units[l]);
            EXPECT_EQ(devo_bias_stride(units[l], 1), units[l]);
            EXPECT_LE(at + (slots - 1) * devo_bias_stride(units[l], 0) + units[l], next)
                << "layer " << l << " slots " << slots;
            EXPECT_LE(at + slots * devo_bias_stride(units[l], 1), next);
        }
    }
}

TEST(CudaHost, GpuChunkIsAWholeNumberOfBatchesWithinItsBudget)
{
    EXPECT_EQ(devo_cuda_chunk(1024, 16, 30, 0), 16384u);
    EXPECT_EQ(devo_cuda_chunk(1000, 16, 30, 1), 16000u);
    EXPECT_EQ(devo_cuda_chunk(1024, 4096, 256, 0), 1024u); // over budget: never below a batch
    EXPECT_EQ(devo_cuda_chunk(20000, 16, 30, 0), 20000u);
    for (size_t P : {16, 256, 1024, 4096}) {
        size_t chunk = devo_cuda_chunk(1024, P, 30, 1);
        EXPECT_EQ(chunk % 1024, 0u);
        EXPECT_TRUE(chunk == 1024 || chunk * P * 30 * 12 <= ((size_t)1 << 30)) << P;
    }
}

TEST(CudaHost, TheTestsCapOnAChunkKeepsWholeBatches)
{
    EXPECT_EQ(devo_cuda_capped_chunk(16384, 1024, 0), 16384u); // no cap
    EXPECT_EQ(devo_cuda_capped_chunk(16384, 1024, 1), 1024u);  // one batch at least
    EXPECT_EQ(devo_cuda_capped_chunk(16384, 1024, 2500), 2048u);
    EXPECT_EQ(devo_cuda_capped_chunk(16384, 16, 50), 48u);
    EXPECT_EQ(devo_cuda_capped_chunk(2048, 1024, 5000), 2048u); // a cap that does not bind
}

// The low-rank factors drawn on the device equal the CPU's bit for bit (es_noise.c), and their
// evaluation (cuda_lowrank.cu) agrees with the CPU's (lowrank.c).
TEST_F(Cuda, LowRankEvaluationIsEquivalentToRef)
{
    devo_model *m = nullptr;
    // Hidden layers of 40 and 70 units: the thin kernel's warp strides over a later layer's
    // inputs twice and three times, the last stride partial.
    ASSERT_EQ(devo_model_create(&m, 20), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 40, DEVO_ACT_RELU), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 70, DEVO_ACT_TANH), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 4, DEVO_ACT_SOFTMAX), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    ASSERT_EQ(devo_model_init_weights(m, 9), DEVO_OK);
    size_t D = devo_model_param_count(m), P = 12, rows = 50;
    std::vector<float> x(rows * 20), y(rows), sigma(D, 0.05f);
    for (size_t i = 0; i < x.size(); i++) x[i] = std::sin(0.31f * (float)i);
    for (size_t i = 0; i < rows; i++) y[i] = (float)(i % 4);
    std::vector<float> center(D);
    ASSERT_EQ(devo_model_get_weights(m, center.data(), D), DEVO_OK);
    for (size_t rank : {1u, 3u})
        for (int antithetic : {0, 1}) {
            devo_es_noise noise;
            ASSERT_EQ(devo_es_noise_init(&noise, m, antithetic ? P / 2 : P, rank, 1), DEVO_OK);
            ASSERT_EQ(devo_es_noise_draw(&noise, 3, 1), DEVO_OK);
            devo_lowrank_population pop = {&noise, antithetic, center.data(), sigma.data()};
            // Chunks of 16 samples (a partial last one); a context kept across evaluations.
            devo_cuda_lowrank *g = nullptr;
            ASSERT_EQ(devo_cuda_lowrank_create(&g, m, P, noise.dirs, rank, 16, 0), DEVO_OK)
                << devo_last_error();
            ASSERT_EQ(devo_cuda_lowrank_bind(g, x.data(), y.data(), rows), DEVO_OK);
            std::vector<float> drawn(noise.dirs * noise.factor_floats, NAN);
            ASSERT_EQ(devo_cuda_lowrank_perturb(g, center.data(), sigma.data(), 3, 1, drawn.data()),
                      DEVO_OK)
                << devo_last_error();
            ASSERT_EQ(drawn, std::vector<float>(noise.eps, noise.eps + drawn.size()));
            for (devo_fitness kind : {DEVO_FITNESS_NEG_LOSS, DEVO_FITNESS_ACCURACY}) {
                devo_lowrank_eval *ref = nullptr;
                ASSERT_EQ(devo_lowrank_create(&ref, m, P, rows, 1, DEVO_PRECISION_FP32), DEVO_OK);
                std::vector<double> want(P), got(P, NAN);
                ASSERT_EQ(devo_lowrank_evaluate(ref, &pop, x.data(), y.data(), nullptr, rows, kind,
                                                0, P, want.data()),
                          DEVO_OK);
                // In two ranges, as libdevo_mpi shares a population.
                ASSERT_EQ(devo_cuda_lowrank_evaluate(g, &pop, nullptr, rows, kind, 0, 5,
                                                     got.data()),
                          DEVO_OK)
                    << devo_last_error();
                ASSERT_EQ(devo_cuda_lowrank_evaluate(g, &pop, nullptr, rows, kind, 5, P - 5,
                                                     got.data()),
                          DEVO_OK)
                    << devo_last_error();
                double tolerance = kind == DEVO_FITNESS_ACCURACY ? 1.0 / rows : 1e-4;
                for (size_t p = 0; p < P; p++)
                    EXPECT_NEAR(got[p], want[p], tolerance)
                        << "rank " << rank << " antithetic " << antithetic << " p " << p;
                // A listed subset of rows (gathered on the device), and the centre alone.
                std::vector<size_t> subset = {49, 3, 17, 17, 0, 31, 8};
                ASSERT_EQ(devo_lowrank_evaluate(ref, &pop, x.data(), y.data(), subset.data(),
                                                subset.size(), kind, 0, P, want.data()),
                          DEVO_OK);
                ASSERT_EQ(devo_cuda_lowrank_evaluate(g, &pop, subset.data(), subset.size(), kind,
                                                     0, P, got.data()),
                          DEVO_OK)
                    << devo_last_error();
                for (size_t p = 0; p < P; p++)
                    EXPECT_NEAR(got[p], want[p], kind == DEVO_FITNESS_ACCURACY ? 1.0 / 7 : 1e-4)
                        << "subset, rank " << rank << " antithetic " << antithetic << " p " << p;
                double center_want = NAN, center_got = NAN;
                ASSERT_EQ(devo_model_evaluate(m, x.data(), y.data(), rows, &center_want, nullptr),
                          DEVO_OK);
                ASSERT_EQ(devo_cuda_lowrank_evaluate_center(g, nullptr, rows,
                                                            DEVO_FITNESS_NEG_LOSS, &center_got),
                          DEVO_OK)
                    << devo_last_error();
                EXPECT_NEAR(center_got, -center_want, 1e-4) << "centre, rank " << rank;
                devo_lowrank_free(ref);
            }
            devo_cuda_lowrank_free(g);
            devo_es_noise_release(&noise);
        }
    devo_model_free(m);
}

/* ------------------------------------------------------------ evolution strategies */

/* What one ES run shows per generation: every individual's fitness, the centre's, and the
 * centre after the update. */
struct EsTrace {
    std::vector<std::vector<double>> fitness; /* (P) each */
    std::vector<double> center_fitness;
    std::vector<std::vector<float>> centers;  /* (D) each */
};

/* `generations` generations of strategy s at `rank` on the device of `where`, through the
 * device and algorithm tables as the engine drives them: odd generations on a listed subset of
 * rows, each population evaluated in two ranges (as libdevo_mpi shares it). With `told`, each
 * generation is ranked and updated by told's fitness (another device's), not its own, which
 * it still records. */
EsTrace es_trace(devo_backend where, devo_strategy s, size_t rank, const devo_model *m,
                 const Data &d, size_t P, size_t generations, const EsTrace *told = nullptr)
{
    devo_evolve_options o = run_options(where, generations, P, 1);
    o.strategy = s;
    o.perturbation_rank = rank;
    o.batch_size = 96; // several chunks, a partial last one
    EsTrace t;
    Driven r;
    if (!drive(r, devo_algorithm_es(), o, m, d)) return t;
    std::vector<size_t> subset;
    for (size_t i = 0; i < d.n; i += 3) subset.push_back(d.n - 1 - i);
    size_t half = P / 2, D = m->param_count;
    for (size_t g = 0; g < generations; g++) {
        const size_t *rows = g % 2 ? subset.data() : nullptr;
        size_t count = g % 2 ? subset.size() : 0;
        std::vector<double> f(P, NAN);
        std::vector<size_t> order(P);
        double center = NAN;
        std::vector<float> w(D);
        EXPECT_EQ(r.dev->evaluate(r.ctx, rows, count, 0, half, f.data()), DEVO_OK) << devo_last_error();
        EXPECT_EQ(r.dev->evaluate(r.ctx, rows, count, half, P - half, f.data()), DEVO_OK);
        EXPECT_EQ(r.dev->evaluate_center(r.ctx, rows, count, &center), DEVO_OK) << devo_last_error();
        const double *ranked = told && g < told->fitness.size() ? told->fitness[g].data() : f.data();
        EXPECT_EQ(r.dev->rank(r.ctx, ranked, order.data()), DEVO_OK);
        EXPECT_EQ(r.alg->next(r.state, ranked, order.data(), (uint32_t)(g + 1), 0, P), DEVO_OK)
            << devo_last_error();
        EXPECT_EQ(r.alg->answer(r.state, order.data(), w.data()), DEVO_OK);
        t.fitness.push_back(f);
        t.center_fitness.push_back(center);
        t.centers.push_back(w);
    }
    return t;
}

/* The same run on the CPU and on CUDA, the CUDA one ranked and updated by the CPU's fitness
 * (es_trace's told), so that a near tie cannot part the runs and every generation is compared.
 * The fitness of the same individual agrees to FP32 rounding: `tolerance` relative, the FP32
 * bound of EvaluationIsEquivalentToRef (1e-5) at full rank, LowRankEvaluationIsEquivalentToRef's
 * (1e-4) at low rank. The update runs on the host from the fitness given and the run's Philox
 * draws, and the update's sums are bitwise the CPU's on the device: every centre is equal bit
 * for bit, the last one too. */
void expect_es_equivalent(devo_strategy s, size_t rank, double tolerance)
{
    devo_model *m = build(nets[1], 5); // 20 -> 16 tanh -> 8 sigmoid -> 3 softmax
    Data d = make_data(m, 300, 7);
    const size_t P = 16, G = 4;
    EsTrace cpu = es_trace(DEVO_BACKEND_CPU, s, rank, m, d, P, G);
    EsTrace gpu = es_trace(DEVO_BACKEND_CUDA, s, rank, m, d, P, G, &cpu);
    ASSERT_EQ(cpu.centers.size(), G);
    ASSERT_EQ(gpu.centers.size(), G);
    for (size_t g = 0; g < G; g++) {
        SCOPED_TRACE("generation " + std::to_string(g));
        expect_equivalent(gpu.fitness[g], cpu.fitness[g], tolerance, "fitness");
        EXPECT_LE(relative(gpu.center_fitness[g], cpu.center_fitness[g]), tolerance)
            << gpu.center_fitness[g] << " vs " << cpu.center_fitness[g];
        ASSERT_EQ(gpu.centers[g], cpu.centers[g]);
    }
    devo_model_free(m);
}

TEST_F(Cuda, OpenAiEsIsEquivalentToRef)
{
    expect_es_equivalent(DEVO_STRATEGY_OPENAI_ES, 0, 1e-5);
    expect_es_equivalent(DEVO_STRATEGY_OPENAI_ES, 1, 1e-4);
}

TEST_F(Cuda, PgpeIsEquivalentToRef)
{
    expect_es_equivalent(DEVO_STRATEGY_PGPE, 0, 1e-5);
    expect_es_equivalent(DEVO_STRATEGY_PGPE, 1, 1e-4);
}

TEST_F(Cuda, SnesIsEquivalentToRef)
{
    expect_es_equivalent(DEVO_STRATEGY_SNES, 0, 1e-5);
    expect_es_equivalent(DEVO_STRATEGY_SNES, 1, 1e-4);
}

// The whole engine (devo_fit_evolve: sampled rows, the centre's fitness, the model left at
// the centre) with --backend cuda and with auto, which takes CUDA when a device is present.
TEST_F(Cuda, EsShortRunIsEquivalentToRef)
{
    devo_evolve_options o = run_options(DEVO_BACKEND_AUTO, 4, 32, 4);
    o.strategy = DEVO_STRATEGY_OPENAI_ES;
    o.perturbation_rank = 1;
    o.fitness_samples = 512;
    o.on_generation = record_seen;
    devo_backend where = DEVO_BACKEND_CPU;
    ASSERT_EQ(devo_options_resolve_backend(&o, &where), DEVO_OK); // o.backend is auto
    EXPECT_EQ(where, DEVO_BACKEND_CUDA);
    devo_model *models[2] = {build(nets[0], 3), build(nets[0], 3)};
    Data d = make_data(models[0], 2048, 3);
    Seen seen[2];
    for (int i = 0; i < 2; i++) {
        o.backend = i ? DEVO_BACKEND_CUDA : DEVO_BACKEND_CPU;
        o.on_generation_user = &seen[i];
        ASSERT_EQ(devo_fit_evolve(models[i], d.x.data(), d.y.data(), d.n, &o, nullptr), DEVO_OK)
            << devo_last_error();
    }
    // The same population on the same rows: fitness to LowRankEvaluationIsEquivalentToRef's
    // bound; the update from the ranks and the run's draws, so the centres are equal bit for
    // bit while the runs rank alike, the final one too.
    if (expect_runs_alike(seen[0], seen[1], 1e-4, 0.0)) {
        EXPECT_EQ(0, std::memcmp(models[0]->weights, models[1]->weights,
                                 models[0]->param_count * sizeof(float)));
    }
    for (devo_model *m : models) devo_model_free(m);
}

/* ------------------------------------------------------------ the device's ES operations */

/* A device of `where` holding strategy s's population at `rank` for P individuals of m. */
void *open_es_device(const devo_device_i *dev, devo_strategy s, size_t rank, const devo_model *m,
                     size_t P)
{
    devo_evolve_options o = run_options(DEVO_BACKEND_CPU, 3, P, 1);
    o.strategy = s;
    o.perturbation_rank = rank;
    devo_device_config c;
    devo_algorithm_device_config(&o, m, &c);
    void *ctx = nullptr;
    EXPECT_EQ(dev->create(&ctx, &c), DEVO_OK) << devo_last_error();
    return ctx;
}

// perturb on the GPU draws the directions and writes the population bitwise as the CPU does,
// the update's sums are the CPU's bit for bit at full rank (same order, same rounding) and at
// low rank (the CPU's sums over the factors drawn on the GPU), and the centre scores alike.
TEST_F(Cuda, PerturbationAndUpdateSumsAreEquivalentToRef)
{
    devo_model *m = build(nets[1], 5);
    Data d = make_data(m, 300, 7);
    const size_t P = 10, D = m->param_count;
    std::vector<float> center(m->weights, m->weights + D), sigma(D);
    for (size_t j = 0; j < D; j++) sigma[j] = 0.01f + 0.001f * (float)(j % 7);
    for (devo_strategy s : {DEVO_STRATEGY_OPENAI_ES, DEVO_STRATEGY_SNES})
        for (size_t rank : {0u, 2u}) {
            SCOPED_TRACE(std::string(s == DEVO_STRATEGY_SNES ? "snes" : "openai-es") + " rank " +
                         std::to_string(rank));
            const devo_device_i *dev[2] = {devo_device_cpu(), devo_device_cuda()};
            void *ctx[2] = {open_es_device(dev[0], s, rank, m, P),
                            open_es_device(dev[1], s, rank, m, P)};
            ASSERT_TRUE(ctx[0] && ctx[1]);
            std::vector<float> rows[2], s1[2], s2[2];
            double centre[2] = {NAN, NAN};
            size_t dirs = s == DEVO_STRATEGY_SNES ? P : P / 2;
            std::vector<float> w(dirs), v(dirs);
            for (size_t i = 0; i < dirs; i++) {
                w[i] = 0.3f - 0.07f * (float)i;
                v[i] = 0.01f * (float)(i % 3) - 0.01f;
            }
            for (int side = 0; side < 2; side++) {
                ASSERT_EQ(dev[side]->perturb(ctx[side], center.data(), sigma.data(), 4), DEVO_OK)
                    << devo_last_error();
                rows[side] = population_of(dev[side], ctx[side], P * D);
                s1[side].resize(D);
                s2[side].resize(D);
                ASSERT_EQ(dev[side]->update_sums(ctx[side], w.data(), v.data(), s1[side].data(),
                                                 s2[side].data()),
                          DEVO_OK)
                    << devo_last_error();
                ASSERT_EQ(dev[side]->bind_data(ctx[side], d.x.data(), d.y.data(), d.n), DEVO_OK);
                ASSERT_EQ(dev[side]->evaluate_center(ctx[side], nullptr, 0, &centre[side]),
                          DEVO_OK)
                    << devo_last_error();
                dev[side]->destroy(ctx[side]);
            }
            EXPECT_EQ(rows[1], rows[0]);
            EXPECT_EQ(s1[1], s1[0]);
            EXPECT_EQ(s2[1], s2[0]);
            EXPECT_LE(relative(centre[1], centre[0]), 1e-5) << centre[1] << " vs " << centre[0];
        }
    devo_model_free(m);
}

// Every strategy keeps its population on the GPU: a generation sends down only the centre and
// sigma (D floats each), the direction weights and the P fitnesses to rank (P numbers each),
// never the P x D population; the training data goes down once, before.
TEST_F(Cuda, EsGenerationUploadsOnlyTheCentreSigmaAndFitness)
{
    devo_model *m = build(nets[0], 3);
    Data d = make_data(m, 512, 3);
    const size_t P = 64, D = m->param_count;
    for (size_t rank : {0u, 1u}) {
        SCOPED_TRACE("rank " + std::to_string(rank));
        devo_evolve_options o = run_options(DEVO_BACKEND_CUDA, 2, P, 4);
        o.strategy = DEVO_STRATEGY_OPENAI_ES;
        o.perturbation_rank = rank;
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
        devo_device_traffic before, after;
        ASSERT_EQ(devo_evolver_fit(e, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
        e->device->traffic(e->device_ctx, &before);
        e->opt.max_generations = 6;
        ASSERT_EQ(devo_evolver_fit(e, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
        e->device->traffic(e->device_ctx, &after);
        devo_evolver_free(e);
        // 4 generations after the first 2 (fit binds the data again first: subtract it).
        uint64_t data_bytes = d.x.size() * sizeof(float) + d.y.size() * sizeof(float);
        uint64_t per_generation = (after.to_device - before.to_device - data_bytes) / 4;
        uint64_t bound = 2 * D * sizeof(float) + P * (sizeof(float) + sizeof(double)) + 4096;
        EXPECT_LE(per_generation, bound) << "a P x D population is " << P * D * sizeof(float);
        EXPECT_GT(per_generation, 2 * D * sizeof(float) - 1); // the centre and sigma did go down
    }
    devo_model_free(m);
}

} // namespace
