// devo evolve under mpirun (built when MPI is found): the run spread over 1, 2 and 3 ranks ends
// with the model file and history rows (all columns but seconds) of the one-process run, byte
// for byte; a rank that cannot read its data ends every rank with its message and a nonzero
// exit, never a hang; a checkpoint written under 2 ranks resumes under 3 and in one process;
// the same for an evolution strategy (PGPE, rank 1) on 2 and 3 ranks, and for BF16 on the CPU
// (the GA and PGPE rank 1) where the CPU has BF16 GEMMs.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>

#include "test_programs.h"

namespace {

// mpirun with a time limit (a hang fails the test instead of stalling the suite) and its own
// session directory (tests/mpi/own_session_dir.sh: concurrent mpiruns race for a shared one),
// starting `ranks` ranks of what follows.
std::string mpi_launch(int seconds, int ranks)
{
    return "ASAN_OPTIONS=detect_leaks=0 " DEVO_MPI_OWN_SESSION_DIR " timeout " +
           std::to_string(seconds) + " " DEVO_MPIEXEC " --allow-run-as-root --oversubscribe -np " +
           std::to_string(ranks) + " ";
}

std::string mpirun(int ranks) { return mpi_launch(120, ranks); }

// A 30-unit first layer, the seed's: rank shares of P = 10 cut the CPU's 8-slot GEMM blocks.
std::string args(const std::string &data, size_t generations)
{
    return "evolve --data " + data + " --layers 30:relu,10:softmax --population 10 --top-k 3 " +
           "--seed 8 --threads 1 --verbose 0 --fitness-samples 200 --generations " +
           std::to_string(generations);
}

struct MpiCli : ::testing::Test {
    std::string data = small_dataset();
    std::string dir = test_tmp() + "/mpi-cli-" + std::to_string(getpid());
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
        EXPECT_NE(r.out.find("mpi   " + std::to_string(ranks) + " ranks"), std::string::npos)
            << "not spread over the ranks:\n" << r.out;
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

// Round 2, item 2: ranks started with runs that differ fail together with one message naming
// the difference, within 60 s (a different strategy or generation count hung for ever;
// different activations, learning rate, perturbation rank or data gave a silently wrong
// result; ranks resuming from different checkpoints hung).
struct Mismatch {
    const char *what, *rank0, *rank1, *named;
};

void PrintTo(const Mismatch &m, std::ostream *os) { *os << m.what; }

class MpiMismatch : public MpiCli, public ::testing::WithParamInterface<Mismatch> {};

// mpirun with rank 0 running `a` and rank 1 running `b` (devo's arguments), 60 s at most.
Result run_two(const std::string &a, const std::string &b)
{
    return run_program(mpi_launch(60, 1) + DEVO_CLI_PATH, a + " : -np 1 " DEVO_CLI_PATH " " + b);
}

TEST_P(MpiMismatch, RanksRunningDifferentRunsAllFailNamingTheDifference)
{
    const Mismatch &c = GetParam();
    std::string base = "evolve --population 8 --top-k 2 --seed 8 --threads 1 --verbose 0 "
                       "--generations 3 ";
    std::string data0 = " --data " + data, data1 = data0, rank1 = c.rank1;
    if (rank1 == "DATA") { // rank 0's flags on another data set of the same width
        std::string other = dir + "/other-data";
        mkdir(other.c_str(), 0755);
        write_split(other, "train", 300, 6);
        write_split(other, "t10k", 100, 6);
        data1 = " --data " + other;
        rank1 = c.rank0;
    }
    Result r = run_two(base + c.rank0 + data0, base + rank1 + data1);
    EXPECT_NE(r.code, 0) << c.what << "\n" << r.out;
    EXPECT_NE(r.code, 124) << c.what << ": timed out, a hang\n" << r.out;
    EXPECT_NE(r.out.find(c.named), std::string::npos) << c.what << "\n" << r.out;
    EXPECT_NE(r.out.find("differs from rank 0's"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    EveryClass, MpiMismatch,
    ::testing::Values(
        Mismatch{"strategy", "--layers 10:softmax --strategy pgpe",
                 "--layers 10:softmax --strategy snes", "strategy=snes"},
        Mismatch{"generations", "--layers 10:softmax --generations 3",
                 "--layers 10:softmax --generations 30", "max_generations=30"},
        Mismatch{"activations", "--layers 6:relu,10:softmax", "--layers 6:tanh,10:softmax",
                 "layers=6:tanh,10:softmax"},
        Mismatch{"learning rate", "--layers 10:softmax --strategy openai-es --lr 0.01",
                 "--layers 10:softmax --strategy openai-es --lr 0.02", "learning_rate=0.02"},
        Mismatch{"rank", "--layers 6:relu,10:softmax --strategy pgpe --rank 1",
                 "--layers 6:relu,10:softmax --strategy pgpe --rank 2", "perturbation_rank=2"},
        Mismatch{"data", "--layers 10:softmax", "DATA", "data_fingerprint="}),
    [](const ::testing::TestParamInfo<Mismatch> &param) {
        std::string name = param.param.what;
        for (char &ch : name)
            if (ch == ' ') ch = '_';
        return name;
    });

// Round 2, item 2: ranks resuming from different checkpoints (a stale copy on one node) fail
// together naming the generation, within 60 s.
TEST_F(MpiCli, RanksResumingFromDifferentCheckpointsFailNamingTheDifference)
{
    std::string fresh = dir + "/fresh.ckpt", stale = dir + "/stale.ckpt";
    std::string run_args = args(data, 3);
    ASSERT_EQ(run_program(DEVO_CLI_PATH, args(data, 2) + " --checkpoint " + stale).code, 0);
    ASSERT_EQ(run_program(DEVO_CLI_PATH, args(data, 4) + " --checkpoint " + fresh).code, 0);
    Result r = run_two("evolve --resume " + fresh + " --generations 8",
                       "evolve --resume " + stale + " --generations 8");
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_NE(r.code, 124) << "timed out: a hang\n" << r.out;
    EXPECT_NE(r.out.find("rank 1's generation=2 differs from rank 0's generation=4"),
              std::string::npos) << r.out;
}

// Round 2, item 20: SIGTERM to rank 1 alone stops every rank after the generation, and rank 0
// says so and prints the resume command (it printed nothing).
TEST_F(MpiCli, SigtermToOneRankStopsAllAndRankZeroSaysHowToResume)
{
    std::string ckpt = dir + "/term.ckpt", pid_file = dir + "/rank1.pid";
    unlink(pid_file.c_str());
    std::string run_args = "evolve --data " + data + " --layers 30:relu,10:softmax --population "
                           "10 --top-k 3 --seed 8 --threads 1 --verbose 1 --generations 100000 "
                           "--checkpoint " + ckpt;
    FILE *p = start_program(mpi_launch(60, 1) + DEVO_CLI_PATH,
                            run_args + " : -np 1 sh -c 'echo $$ > " + pid_file + "; exec " +
                                DEVO_CLI_PATH + " " + run_args + "'");
    ASSERT_NE(p, nullptr);
    std::string out;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        out += line;
        if (out.find("[Generation 5 /") != std::string::npos) break;
    }
    std::string pid = slurp(pid_file);
    ASSERT_FALSE(pid.empty()) << out;
    kill((pid_t)std::stol(pid), SIGTERM);
    Result r = finish_program(p);
    r.out = out + r.out;
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_NE(r.code, 124) << "timed out\n" << r.out;
    EXPECT_NE(r.out.find("interrupted by SIGTERM after generation"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("resume with: devo evolve --resume " + ckpt), std::string::npos)
        << r.out;
}

}  // namespace
