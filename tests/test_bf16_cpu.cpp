// BF16 on the CPU device: the rounding is CUDA's (nearest even), the fitness is that of a plain
// reference whose GEMM operands (samples, weights, hidden activations) are rounded the same way
// within a stated bound, before and after a breed (whose variation writes the BF16 rows), and
// every fitness is the same bits on any thread count and any share of the population, for the
// GA's rows and a low-rank ES's shared first layer. Skipped where the CPU has no BF16 GEMMs
// (the refusal itself: Cli.Bf16WithoutTheInstructionsIsRefusedNamingThem).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

extern "C" {
#include "bf16.h"
#include "device.h"
#include "gemm_bf16.h"
#include "nn_math.h"
#include "rng.h"
#include "selection.h"
}
#include "test_models.h"

namespace {

// The reference's bound: what is left when the operands are rounded the same way is the order
// of the FP32 sums (oneDNN's blocking against one double sum) and, rarely, a hidden activation
// that this moves across a BF16 rounding boundary; both far below 1e-4 of the mean loss.
const double bound = 1e-4;

#define SKIP_WITHOUT_BF16()                                                                    \
    if (devo_bf16_available() != DEVO_OK) GTEST_SKIP() << devo_last_error()

devo_model *network(size_t inputs, size_t hidden)
{
    return test_model(inputs, {{hidden, DEVO_ACT_RELU}, {10, DEVO_ACT_SOFTMAX}},
                      DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 5);
}

struct Samples {
    size_t n;
    std::vector<float> x, y;
};

Samples samples(const devo_model *m, size_t n)
{
    Samples s{n, std::vector<float>(n * m->input_dim), std::vector<float>(n)};
    for (size_t e = 0; e < s.x.size(); e++) {
        devo_philox_block b = devo_rng_block(3, DEVO_STREAM_GLOROT, 1, 0, (uint32_t)(e / 4));
        s.x[e] = devo_u01(b.w[e % 4]);
    }
    for (size_t r = 0; r < n; r++) s.y[r] = (float)(r * 7 % 10);
    return s;
}

devo_device_config config(const devo_model *m, size_t P, size_t k, devo_precision precision,
                          int threads)
{
    devo_device_config c{};
    c.arch = m;
    c.population = P;
    c.top_k = k;
    c.seed = 11;
    c.init_std = 0.3f;
    c.mutation_std = 0.05f;
    c.mutation_threshold = devo_mutation_threshold(0.3);
    c.batch_size = 300; // several chunks, the last one short
    c.threads = threads;
    c.precision = precision;
    c.first_slot = k;
    c.slot_count = P - k;
    return c;
}

float bf16(float v) { return devo_bf16_value(devo_bf16_round(v)); }

// The reference's own rounding, independent of bf16.h: v to 8 significant bits, nearest even
// (nearbyint in the default rounding mode), for the normal numbers the tests use.
float reference_bf16(float v)
{
    int exponent;
    std::frexp(v, &exponent); // v = f 2^exponent, 0.5 <= |f| < 1
    double scale = std::ldexp(1.0, 8 - exponent);
    return (float)(std::nearbyint((double)v * scale) / scale);
}

// The last layer's pre-activations of individual w (D) on sample x (inputs), every GEMM operand
// rounded to BF16 and summed in double; biases and activations in FP32 as the device's.
std::vector<float> reference_logits(const devo_model *m, const float *w, const float *x)
{
    std::vector<float> in(x, x + m->input_dim), out;
    for (size_t l = 0; l < m->layer_count; l++) {
        const devo_layer *layer = &m->layers[l];
        out.assign(layer->units, 0.0f);
        for (size_t j = 0; j < layer->units; j++) {
            double sum = 0.0;
            for (size_t i = 0; i < layer->inputs; i++)
                sum += (double)reference_bf16(in[i]) *
                       (double)reference_bf16(w[layer->kernel_offset + i * layer->units + j]);
            out[j] = (float)sum + w[layer->bias_offset + j];
        }
        if (l + 1 < m->layer_count) devo_activate_row(layer->act, out.data(), layer->units);
        in.swap(out);
    }
    return in;
}

// Minus the mean loss of individual w (D) on the reference's logits.
double reference_fitness(const devo_model *m, const float *w, const Samples &s)
{
    const devo_layer *last = &m->layers[m->layer_count - 1];
    double loss = 0.0;
    for (size_t r = 0; r < s.n; r++) {
        std::vector<float> z = reference_logits(m, w, s.x.data() + r * m->input_dim);
        loss += devo_sample_loss(last->act, devo_model_loss(m), z.data(), last->units, &s.y[r]);
    }
    return -loss / (double)s.n;
}

// The largest relative difference of fitness[first ..] from the reference on population (P, D).
double worst(const devo_model *m, const float *population, const std::vector<double> &fitness,
             size_t first, const Samples &s)
{
    double w = 0.0;
    for (size_t i = first; i < fitness.size(); i++) {
        double ref = reference_fitness(m, population + i * m->param_count, s);
        double rel = std::fabs(fitness[i] - ref) / std::max(std::fabs(ref), 1e-6);
        w = std::isnan(rel) ? INFINITY : std::max(w, rel);
    }
    return w;
}

// One GA generation on the device: rank fitness, breed every slot (generation g).
void breed(const devo_device_i *be, void *ctx, const std::vector<double> &fitness, size_t k,
           uint32_t g)
{
    size_t P = fitness.size();
    std::vector<size_t> order(P), scratch(P);
    devo_rank(fitness.data(), P, order.data(), scratch.data());
    std::vector<uint32_t> pairs(2 * (P - k));
    devo_parent_pairs(k, P - k, pairs.data());
    ASSERT_EQ(be->vary(ctx, order.data(), pairs.data(), g, 0, P), DEVO_OK) << devo_last_error();
}

TEST(Bf16Cpu, RoundsToNearestEvenKeepingNansAndSubnormalsAsCuda)
{
    const float one = 1.0f, ulp = std::ldexp(1.0f, -7); // BF16's spacing at 1
    EXPECT_EQ(bf16(one + ulp / 2), one);                 // a tie: to even (1)
    EXPECT_EQ(bf16(one + 3 * ulp / 2), one + 2 * ulp);   // a tie: to even (1 + 2 ulp)
    EXPECT_EQ(bf16(one + ulp / 2 + std::ldexp(1.0f, -20)), one + ulp); // above the tie
    EXPECT_EQ(bf16(-1.5f - std::ldexp(1.0f, -9)), -1.5f);
    EXPECT_EQ(bf16(INFINITY), INFINITY);
    EXPECT_TRUE(std::isnan(bf16(NAN)));
    float tiny = std::ldexp(1.0f, -130); // subnormal in FP32 and BF16
    EXPECT_EQ(bf16(tiny), tiny);
    EXPECT_EQ(devo_bf16_round(3.0e38f * 10.0f), 0x7f80u); // overflow: infinity
    std::vector<float> in = {0.1f, -2.75f, 1e-3f};
    std::vector<devo_bf16> out(3);
    devo_bf16_round_n(in.data(), out.data(), 3);
    for (size_t i = 0; i < 3; i++) EXPECT_EQ(devo_bf16_value(out[i]), reference_bf16(in[i]));
}

TEST(Bf16Cpu, EvaluationIsWithinTheBoundOfTheBf16OperandReference)
{
    SKIP_WITHOUT_BF16();
    const size_t P = 6, k = 2;
    for (size_t hidden : {30u, 70u}) {
        devo_model *m = network(100, hidden);
        Samples s = samples(m, 700);
        const devo_device_i *be = devo_device_cpu();
        for (devo_precision precision : {DEVO_PRECISION_BF16, DEVO_PRECISION_FP32}) {
            devo_device_config c = config(m, P, k, precision, 2);
            void *ctx = nullptr;
            ASSERT_EQ(be->create(&ctx, &c), DEVO_OK) << devo_last_error();
            ASSERT_EQ(be->init_population(ctx, m->weights), DEVO_OK);
            ASSERT_EQ(be->bind_data(ctx, s.x.data(), s.y.data(), s.n), DEVO_OK);
            std::vector<double> fitness(P, NAN);
            for (uint32_t g = 1; g <= 2; g++) { // the first population, then bred children
                ASSERT_EQ(be->evaluate(ctx, nullptr, 0, 0, P, fitness.data()), DEVO_OK)
                    << devo_last_error();
                const float *population = nullptr;
                ASSERT_EQ(be->view(ctx, &population), DEVO_OK);
                double w = worst(m, population, fitness, 0, s);
                if (precision == DEVO_PRECISION_BF16)
                    EXPECT_LE(w, bound) << hidden << " hidden, generation " << g;
                else // the reference tells FP32 apart: the test sees the rounding
                    EXPECT_GT(w, bound) << hidden << " hidden, generation " << g;
                breed(be, ctx, fitness, k, g);
            }
            be->destroy(ctx);
        }
        devo_model_free(m);
    }
}

TEST(Bf16Cpu, ForwardOnOwnInputsIsWithinTheBoundOfTheReference)
{
    // devo_evolver_forward's device entry: every individual on its own rows, in BF16.
    SKIP_WITHOUT_BF16();
    const size_t P = 5, rows = 40;
    devo_model *m = network(100, 30);
    Samples s = samples(m, P * rows); // individual p's rows: p * rows ..
    const devo_layer *last = &m->layers[m->layer_count - 1];
    const devo_device_i *be = devo_device_cpu();
    for (devo_precision precision : {DEVO_PRECISION_BF16, DEVO_PRECISION_FP32}) {
        devo_device_config c = config(m, P, 1, precision, 2);
        void *ctx = nullptr;
        ASSERT_EQ(be->create(&ctx, &c), DEVO_OK) << devo_last_error();
        ASSERT_EQ(be->init_population(ctx, m->weights), DEVO_OK);
        std::vector<float> y(P * rows * last->units, NAN);
        ASSERT_EQ(be->forward(ctx, s.x.data(), rows, y.data()), DEVO_OK) << devo_last_error();
        const float *population = nullptr;
        ASSERT_EQ(be->view(ctx, &population), DEVO_OK);
        double worst = 0.0;
        for (size_t p = 0; p < P; p++)
            for (size_t r = 0; r < rows; r++) {
                std::vector<float> z = reference_logits(
                    m, population + p * m->param_count, s.x.data() + (p * rows + r) * m->input_dim);
                devo_activate_row(last->act, z.data(), last->units);
                for (size_t j = 0; j < last->units; j++)
                    worst = std::max(worst, (double)std::fabs(y[(p * rows + r) * last->units + j] -
                                                              z[j]));
            }
        if (precision == DEVO_PRECISION_BF16)
            EXPECT_LE(worst, 1e-5);
        else // FP32's outputs are off the BF16 reference: the test sees the rounding
            EXPECT_GT(worst, 1e-5);
        be->destroy(ctx);
    }
    devo_model_free(m);
}

// Fitness of every slot after `generations` GA generations on `threads` threads, evaluating
// the slots in two ranges [0, split) and [split, P) (an MPI split's shares) when split > 0.
std::vector<double> ga_run(const devo_model *m, const Samples &s, int threads, size_t split)
{
    const size_t P = 40, k = 8;
    const devo_device_i *be = devo_device_cpu();
    devo_device_config c = config(m, P, k, DEVO_PRECISION_BF16, threads);
    void *ctx = nullptr;
    EXPECT_EQ(be->create(&ctx, &c), DEVO_OK) << devo_last_error();
    EXPECT_EQ(be->init_population(ctx, m->weights), DEVO_OK);
    EXPECT_EQ(be->bind_data(ctx, s.x.data(), s.y.data(), s.n), DEVO_OK);
    std::vector<double> fitness(P, NAN);
    for (uint32_t g = 1; g <= 3; g++) {
        if (split) {
            EXPECT_EQ(be->evaluate(ctx, nullptr, 0, 0, split, fitness.data()), DEVO_OK);
            EXPECT_EQ(be->evaluate(ctx, nullptr, 0, split, P - split, fitness.data()), DEVO_OK);
        } else {
            EXPECT_EQ(be->evaluate(ctx, nullptr, 0, 0, P, fitness.data()), DEVO_OK);
        }
        breed(be, ctx, fitness, k, g);
    }
    be->destroy(ctx);
    return fitness;
}

void expect_same_bits(const std::vector<double> &a, const std::vector<double> &b,
                      const char *what)
{
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); i++)
        EXPECT_EQ(std::memcmp(&a[i], &b[i], sizeof(double)), 0)
            << what << ", slot " << i << ": " << a[i] << " vs " << b[i];
}

TEST(Bf16Cpu, GaFitnessIsTheSameBitsOnEveryThreadCountAndSplit)
{
    SKIP_WITHOUT_BF16();
    devo_model *m = network(120, 30); // 8 individuals per 256-column block: several blocks
    Samples s = samples(m, 650);
    std::vector<double> one = ga_run(m, s, 1, 0);
    for (int threads : {2, 3, 5}) expect_same_bits(one, ga_run(m, s, threads, 0), "threads");
    for (size_t split : {5u, 17u}) expect_same_bits(one, ga_run(m, s, 2, split), "split");
    devo_model_free(m);
}

// A low-rank ES's fitness (its shared first layer in `precision`) on `threads` threads.
std::vector<double> low_rank_fitness(const devo_model *m, const Samples &s, int threads,
                                     devo_precision precision)
{
    const size_t P = 24;
    const devo_device_i *be = devo_device_cpu();
    devo_device_config c = config(m, P, 0, precision, threads);
    c.directions = P / 2;
    c.antithetic = 1;
    c.rank = 1;
    c.first_slot = 0;
    c.slot_count = P;
    c.direction_count = P / 2;
    void *ctx = nullptr;
    EXPECT_EQ(be->create(&ctx, &c), DEVO_OK) << devo_last_error();
    EXPECT_EQ(be->bind_data(ctx, s.x.data(), s.y.data(), s.n), DEVO_OK);
    std::vector<float> sigma(m->param_count, 0.05f);
    EXPECT_EQ(be->perturb(ctx, m->weights, sigma.data(), 4), DEVO_OK);
    std::vector<double> fitness(P, NAN);
    EXPECT_EQ(be->evaluate(ctx, nullptr, 0, 0, P, fitness.data()), DEVO_OK) << devo_last_error();
    be->destroy(ctx);
    return fitness;
}

TEST(Bf16Cpu, LowRankFitnessIsTheSameBitsOnEveryThreadCountAndNotFp32s)
{
    SKIP_WITHOUT_BF16();
    devo_model *m = network(120, 30);
    Samples s = samples(m, 650);
    std::vector<double> one = low_rank_fitness(m, s, 1, DEVO_PRECISION_BF16);
    for (int threads : {2, 3})
        expect_same_bits(one, low_rank_fitness(m, s, threads, DEVO_PRECISION_BF16), "threads");
    // The first layer's operands are rounded: every fitness moves off FP32's, a little.
    std::vector<double> fp32 = low_rank_fitness(m, s, 1, DEVO_PRECISION_FP32);
    double moved = 0.0;
    for (size_t i = 0; i < fp32.size(); i++)
        moved = std::max(moved, std::fabs(one[i] - fp32[i]) / std::fabs(fp32[i]));
    EXPECT_GT(moved, 1e-6);
    EXPECT_LT(moved, 1e-2);
    devo_model_free(m);
}

} // namespace
