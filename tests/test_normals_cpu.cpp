// The evolution strategies' vector normals against rng.h's block-by-block draws: every
// instruction set's kernel for every length around the tile of 128, and the directions of
// devo_es_noise_draw (full and low rank) on any thread count.
#include <gtest/gtest.h>

#include <string>
#include <cstring>
#include <vector>

extern "C" {
#include "isa.h"
#include "es_noise.h"
#include "model.h"
#include "normals.h"
#include "rng.h"
}

namespace {

// The reference: normal e is normal e % 4 of block e / 4, one block at a time.
std::vector<float> reference(size_t n, uint64_t seed, devo_rng_stream stream,
                             uint32_t generation, uint32_t individual)
{
    std::vector<float> out(n);
    for (size_t base = 0; base < n; base += 4) {
        float block[4];
        devo_block_normals(devo_rng_block(seed, stream, generation, individual,
                                          (uint32_t)(base / 4)),
                           block);
        for (size_t e = base; e < base + 4 && e < n; e++) out[e] = block[e - base];
    }
    return out;
}

const devo_cpu_isa isas[] = {DEVO_ISA_GENERIC, DEVO_ISA_AVX2, DEVO_ISA_AVX512};

// One instruction set per test: one this CPU lacks is reported as skipped (GTEST_SKIP), never
// as passed.
class NormalsIsa : public ::testing::TestWithParam<int> {};

TEST_P(NormalsIsa, DrawsTheScalarHeadersNormalsBitwise)
{
    const devo_rng_stream streams[] = {DEVO_STREAM_ES_NOISE, DEVO_STREAM_LOW_RANK};
    devo_cpu_isa isa = isas[GetParam()];
    if (isa > devo_cpu_isa_detect())
        GTEST_SKIP() << "this CPU cannot run instruction set " << (int)isa;
    for (devo_rng_stream stream : streams)
        for (size_t n : {1u, 3u, 4u, 5u, 127u, 128u, 129u, 255u, 256u, 1001u, 70000u})
            for (uint32_t individual : {0u, 6u, 0xFFFFFFFFu}) {
                std::vector<float> want = reference(n, 99, stream, 4, individual);
                // a guard after the run: nothing past n is written
                std::vector<float> got(n + 1, 42.0f);
                devo_cpu_normals_isa(isa, got.data(), n, 99, stream, 4, individual);
                ASSERT_EQ(std::memcmp(got.data(), want.data(), n * sizeof(float)), 0)
                    << "isa " << (int)isa << ", stream " << (int)stream << ", n " << n
                    << ", individual " << individual;
                ASSERT_EQ(got[n], 42.0f) << "isa " << (int)isa << ", n " << n;
            }
}

std::string isa_name(const ::testing::TestParamInfo<int> &info)
{
    const char *const names[] = {"Generic", "Avx2", "Avx512"};
    return names[info.param];
}

INSTANTIATE_TEST_SUITE_P(NormalsCpu, NormalsIsa, ::testing::Values(0, 1, 2), isa_name);

TEST(NormalsCpu, EsDirectionsAreTheLayoutsNormalsOnAnyThreadCount)
{
    // D = 262 floats (a tile and a part), a rank-2 direction 110
    devo_model *m = nullptr;
    ASSERT_EQ(devo_model_create(&m, 33), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 7, DEVO_ACT_RELU), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 3, DEVO_ACT_SOFTMAX), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    const size_t dirs = 5;
    for (size_t rank : {0u, 2u})
        for (int threads : {1, 3}) {
            devo_es_noise n;
            ASSERT_EQ(devo_es_noise_init(&n, m, dirs, rank, threads), DEVO_OK);
            ASSERT_EQ(devo_es_noise_draw(&n, 21, 8), DEVO_OK);
            size_t length = rank ? n.factor_floats : n.D;
            for (size_t d = 0; d < dirs; d++) {
                std::vector<float> want =
                    reference(length, 21, rank ? DEVO_STREAM_LOW_RANK : DEVO_STREAM_ES_NOISE, 8,
                              (uint32_t)d);
                EXPECT_EQ(std::memcmp(n.eps + d * length, want.data(), length * sizeof(float)), 0)
                    << "rank " << rank << ", threads " << threads << ", direction " << d;
            }
            devo_es_noise_release(&n);
        }
    devo_model_free(m);
}

} // namespace
