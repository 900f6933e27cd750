// OpenBLAS kernels by CPU features: the pure decision, and that the running process's
// OpenBLAS has nothing left to upgrade.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

extern "C" {
#include "blas.h"
char *openblas_get_corename(void);
}

namespace {

std::string pick(const char *reported, devo_cpu_isa isa)
{
    const char *core = devo_blas_pick_core(reported, isa);
    return core ? core : "(keep)";
}

TEST(BlasCpu, AGenericFallbackOnAWiderProcessorGetsTheWidestKernels)
{
    // OpenBLAS 0.3.21 on an Emerald Rapids it does not know reports Prescott.
    EXPECT_EQ(pick("Prescott", DEVO_ISA_AVX512), "SkylakeX");
    EXPECT_EQ(pick("Nehalem", DEVO_ISA_AVX2), "Haswell");
    EXPECT_EQ(pick("Core2", DEVO_ISA_AVX), "Sandybridge");
    EXPECT_EQ(pick("Haswell", DEVO_ISA_AVX512), "SkylakeX");
}

TEST(BlasCpu, AKnownCoreThatMatchesTheProcessorIsKept)
{
    EXPECT_EQ(pick("SkylakeX", DEVO_ISA_AVX512), "(keep)");
    EXPECT_EQ(pick("Cooperlake", DEVO_ISA_AVX512), "(keep)");
    EXPECT_EQ(pick("Haswell", DEVO_ISA_AVX2), "(keep)");
    EXPECT_EQ(pick("Zen", DEVO_ISA_AVX2), "(keep)");
    EXPECT_EQ(pick("Prescott", DEVO_ISA_GENERIC), "(keep)"); // nothing wider to run
}

TEST(BlasCpu, AnUnknownCoreNameIsKept)
{
    EXPECT_EQ(pick("SomeFutureLake", DEVO_ISA_AVX512), "(keep)");
    EXPECT_EQ(pick(nullptr, DEVO_ISA_AVX512), "(keep)");
}

TEST(BlasCpu, ThisProcessRunsTheKernelsItsFeaturesAllow)
{
    if (std::getenv("OPENBLAS_CORETYPE")) GTEST_SKIP() << "OPENBLAS_CORETYPE is set: it wins";
    EXPECT_EQ(pick(openblas_get_corename(), devo_cpu_isa_detect()), "(keep)");
    std::string kernels = devo_blas_kernels();
    EXPECT_EQ(kernels.rfind("OpenBLAS ", 0), 0u) << kernels;
    EXPECT_NE(kernels.find(openblas_get_corename()), std::string::npos) << kernels;
}

} // namespace
