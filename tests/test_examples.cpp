// The examples, built by CMake, run on a small MNIST-format dataset.
#include <gtest/gtest.h>

#include <string>

#include "test_programs.h"

namespace {

TEST(Examples, TheSeedsTwoMnistExamplesRunTenGenerations)
{
    std::string dir = small_dataset(), tmp = test_tmp();
    for (const char *program : {DEVO_EXAMPLE_MNIST_LOSS, DEVO_EXAMPLE_MNIST_ACCURACY}) {
        Result r = run_program(program, dir + " " + tmp + "/example-history.csv");
        ASSERT_EQ(r.code, 0) << program << "\n" << r.out;
        EXPECT_NE(r.out.find("[Generation 1 / 10] score: "), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("[Generation 10 / 10] score: "), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("final test accuracy: "), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("history saved to"), std::string::npos) << r.out;
    }
}

TEST(Examples, CustomFitnessImprovesTheRecallItOptimises)
{
    Result r = run_program(DEVO_EXAMPLE_CUSTOM_FITNESS, small_dataset() + " 30");
    ASSERT_EQ(r.code, 0) << r.out;
    auto value = [&](const char *when, const std::string &what) {
        size_t at = r.out.find(std::string(when) + ": ");
        at = r.out.find(what + " ", at);
        EXPECT_NE(at, std::string::npos) << what;
        return std::stod(r.out.substr(at + what.size() + 1));
    };
    // On this small set the worst class may stay at 0 for 30 generations; the fitness
    // (worst + 0.1 x mean recall) must still rise, and the worst recall never fall.
    EXPECT_GT(value("after", "mean class recall"), value("before", "mean class recall")) << r.out;
    EXPECT_GE(value("after", "worst class recall"), value("before", "worst class recall"));
}

TEST(Examples, CartPoleReachesTheFiveHundredStepCapWithinTenGenerations)
{
    // Seed 1 needs 4 generations (seeds 1..10 need 1 to 12); the bound leaves room for
    // floating-point differences across machines.
    Result r = run_program(DEVO_EXAMPLE_CARTPOLE, "10 1");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("solved at generation"), std::string::npos) << r.out;
}

} // namespace
