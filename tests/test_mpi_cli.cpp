// devo evolve under mpirun (built when MPI is found): the run spread over 1, 2 and 3 ranks ends
// with the model file and history rows (all columns but seconds) of the one-process run, byte
// for byte; a rank that cannot read its data ends every rank with its message and a nonzero
// exit, never a hang; a checkpoint written under 2 ranks resumes under 3 and in one process;
// the same for an evolution strategy (PGPE, rank 1) on 2 and 3 ranks, and for BF16 on the CPU
// (the GA and PGPE rank 1) where the CPU has BF16 GEMMs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "test_programs.h"

namespace {

// mpirun with a time limit (a hang fails the test instead of stalling the suite).
std::string mpirun(int ranks)
{
    return "ASAN_OPTIONS=detect_leaks=0 timeout 120 " DEVO_MPIEXEC
           " --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " ";
}

// A 30-unit first layer, the seed's: rank shares of P = 10 cut the CPU's 8-slot GEMM blocks.
std::string args(const std::string &data, size_t generations)
{
    return "evolve --data " + data + " --layers 30:relu,10:softmax --population 10 --top-k 3 " +
           "--seed 8 --threads 1 --verbose 0 --fitness-samples 200 --generations " +
           std::to_string(generations);
}

struct MpiCli : ::testing::Test {
    std::string data = small_dataset();
    std::string dir = std::string(DEVO_TEST_TMP) + "/mpi-cli-" + std::to_string(getpid());
    void SetUp() override { mkdir(dir.c_str(), 0755); }
    void expect_same_run(const std::string &a, const std::string &b)
    {
        EXPECT_EQ(slurp(dir + "/" + a + ".st"), slurp(dir + "/" + b + ".st")) << a << " " << b;
        std::string h = history_without_seconds(dir + "/" + a + ".csv");
        EXPECT_GT(h.size(), 100u);
        EXPECT_EQ(h, history_without_seconds(dir + "/" + b + ".csv")) << a << " " << b;
    }
    std::string outputs(const std::string &name)
    {
        return " --save " + dir + "/" + name + ".st --history " + dir + "/" + name + ".csv";
    }
};

TEST_F(MpiCli, SpreadRunsMatchTheOneProcessRunOnOneTwoAndThreeRanks)
{
    Result alone = run_program(DEVO_CLI_PATH, args(data, 25) + outputs("alone"));
    ASSERT_EQ(alone.code, 0) << alone.out;
    for (int ranks = 1; ranks <= 3; ranks++) {
        std::string name = "ranks" + std::to_string(ranks);
        Result r = run_program(mpirun(ranks) + DEVO_CLI_PATH, args(data, 25) + outputs(name));
        ASSERT_EQ(r.code, 0) << r.out;
        if (ranks > 1) {
            EXPECT_NE(r.out.find("mpi   " + std::to_string(ranks) + " ranks"), std::string::npos)
                << r.out;
        }
        expect_same_run("alone", name);
    }
}

TEST_F(MpiCli, ARankWithoutItsDataEndsEveryRankWithItsMessage)
{
    std::string missing = dir + "/no-such-data";
    Result r = run_program(mpirun(1) + DEVO_CLI_PATH, args(data, 5) + " : -np 1 " DEVO_CLI_PATH " " +
                                                          args(missing, 5));
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_NE(r.code, 124) << "timed out: a rank was left waiting\n" << r.out;
    EXPECT_NE(r.out.find(missing), std::string::npos) << r.out;
}

TEST_F(MpiCli, EvolutionStrategyRunsMatchTheOneProcessRun)
{
    std::string pgpe = " --strategy pgpe --rank 1";
    Result alone = run_program(DEVO_CLI_PATH, args(data, 15) + pgpe + outputs("es-alone"));
    ASSERT_EQ(alone.code, 0) << alone.out;
    for (int ranks = 2; ranks <= 3; ranks++) {
        std::string name = "es-ranks" + std::to_string(ranks);
        Result r = run_program(mpirun(ranks) + DEVO_CLI_PATH, args(data, 15) + pgpe + outputs(name));
        ASSERT_EQ(r.code, 0) << r.out;
        expect_same_run("es-alone", name);
    }
}

TEST_F(MpiCli, Bf16RunsMatchTheOneProcessRun)
{
    for (std::string extra : {std::string(""), std::string(" --strategy pgpe --rank 1")}) {
        std::string bf16 = " --precision bf16 --backend cpu" + extra;
        std::string tag = extra.empty() ? "bf16-ga" : "bf16-pgpe";
        Result alone = run_program(DEVO_CLI_PATH, args(data, 12) + bf16 + outputs(tag + "-alone"));
        if (alone.code != 0 && alone.out.find("BF16 needs") != std::string::npos)
            GTEST_SKIP() << alone.out; // no BF16 GEMMs on this CPU or in this build
        ASSERT_EQ(alone.code, 0) << alone.out;
        for (int ranks = 2; ranks <= 3; ranks++) {
            std::string name = tag + "-ranks" + std::to_string(ranks);
            Result r =
                run_program(mpirun(ranks) + DEVO_CLI_PATH, args(data, 12) + bf16 + outputs(name));
            ASSERT_EQ(r.code, 0) << r.out;
            expect_same_run(tag + "-alone", name);
        }
    }
}

TEST_F(MpiCli, CheckpointUnderTwoRanksResumesUnderThreeAndAlone)
{
    Result full = run_program(DEVO_CLI_PATH, args(data, 25) + outputs("full"));
    ASSERT_EQ(full.code, 0) << full.out;
    std::string ck = dir + "/two.ckpt";
    Result two = run_program(mpirun(2) + DEVO_CLI_PATH, args(data, 10) + " --checkpoint " + ck);
    ASSERT_EQ(two.code, 0) << two.out;
    std::string copy = dir + "/copy.ckpt";
    std::ofstream(copy, std::ios::binary) << slurp(ck);
    Result three = run_program(mpirun(3) + DEVO_CLI_PATH, "evolve --resume " + ck + " --data " +
                                                              data + " --generations 25" +
                                                              outputs("three"));
    ASSERT_EQ(three.code, 0) << three.out;
    expect_same_run("full", "three");
    Result alone = run_program(DEVO_CLI_PATH, "evolve --resume " + copy + " --data " + data +
                                                  " --generations 25" + outputs("alone"));
    ASSERT_EQ(alone.code, 0) << alone.out;
    expect_same_run("full", "alone");
}

}  // namespace
