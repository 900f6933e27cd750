// devo evolve --checkpoint / --resume: a run killed (SIGKILL) at a random moment after its
// checkpoint at generation g and resumed ends with the same model file, byte for byte, and the
// same history rows (every column but the wall time `seconds`) as the run never interrupted, on
// 1 and 2 threads, for the GA and an ES strategy (PGPE, full and low rank); SIGTERM and SIGINT
// stop cleanly with 143 and 130 and say how to resume; a corrupt or truncated checkpoint is
// refused and never overwritten; bad uses exit 1 or 2.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_programs.h"

namespace {

const size_t G = 300; // generations: about 4 ms each here, a checkpoint after every one

std::string args(const std::string &data, int threads, const std::string &strategy = "")
{
    return "evolve --data " + data + " --generations " + std::to_string(G) +
           " --population 16 --top-k 4 --seed 9 --threads " + std::to_string(threads) + strategy;
}

// A child running the devo command with stdout on a pipe.
struct Child {
    pid_t pid;
    FILE *out;
};

Child spawn(const std::string &command_args)
{
    std::vector<std::string> words;
    std::istringstream in(command_args);
    for (std::string w; in >> w;) words.push_back(w);
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        std::vector<char *> argv{(char *)DEVO_CLI_PATH};
        for (std::string &w : words) argv.push_back(w.data());
        argv.push_back(nullptr);
        execv(DEVO_CLI_PATH, argv.data());
        _exit(127);
    }
    close(fds[1]);
    return {pid, fdopen(fds[0], "r")};
}

// Reads the child's lines until the one of generation `g` ("[Generation g / G] ...").
void wait_for_generation(Child &c, size_t g)
{
    std::string want = "[Generation " + std::to_string(g) + " /";
    char line[512];
    while (fgets(line, sizeof line, c.out))
        if (std::string(line).rfind(want, 0) == 0) return;
    FAIL() << "the run ended before generation " << g;
}

// Sends `sig`, drains the output, returns the wait status.
int stop(Child &c, int sig, std::string *rest = nullptr)
{
    kill(c.pid, sig);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, c.out)) > 0)
        if (rest) rest->append(buf, got);
    fclose(c.out);
    int status = 0;
    waitpid(c.pid, &status, 0);
    return status;
}

// The generation a resumed run says it starts at ("resuming CK at generation N"); 0 if none.
size_t resumed_at(const std::string &out, const std::string &ck)
{
    std::string want = "resuming " + ck + " at generation ";
    size_t at = out.find(want);
    return at == std::string::npos ? 0 : std::stoul(out.substr(at + want.size()));
}

struct Dirs {
    std::string data, dir;
};

Dirs dirs(const char *name)
{
    Dirs d{small_dataset(), test_tmp() + "/resume-" + name + "-" +
                                std::to_string(getpid())};
    mkdir(d.dir.c_str(), 0755);
    return d;
}

void expect_killed_run_resumes_exactly(int threads, const std::string &strategy = "")
{
    Dirs d = dirs(("kill" + std::to_string(threads) + (strategy.empty() ? "" : "es")).c_str());
    Result full = run_program(DEVO_CLI_PATH, args(d.data, threads, strategy) + " --verbose 0 --save " +
                                                 d.dir + "/full.st --history " + d.dir +
                                                 "/full.csv");
    ASSERT_EQ(full.code, 0) << full.out;

    std::random_device device;
    std::mt19937 pick(device());
    size_t g = 20 + pick() % 80;
    int delay_ms = (int)(pick() % 100);
    SCOPED_TRACE("killed after checkpoint " + std::to_string(g) + " + " +
                 std::to_string(delay_ms) + " ms");
    std::string ck = d.dir + "/run.ckpt";
    Child c = spawn(args(d.data, threads, strategy) + " --verbose 1 --checkpoint " + ck +
                    " --checkpoint-every 1 --history " + d.dir + "/part.csv");
    wait_for_generation(c, g + 1); // printed after checkpoint g is written
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    int status = stop(c, SIGKILL);
    // Killed mid-run: a run that had finished would prove nothing about resuming.
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the run was not killed";

    Result resumed = run_program(DEVO_CLI_PATH, "evolve --resume " + ck + " --data " + d.data +
                                                    " --verbose 0 --threads " +
                                                    std::to_string(threads) + " --save " + d.dir +
                                                    "/resumed.st --history " + d.dir +
                                                    "/resumed.csv");
    ASSERT_EQ(resumed.code, 0) << resumed.out;
    // It resumed where the killed run was (a run from generation 0 ends with the same bytes).
    size_t started = resumed_at(resumed.out, ck);
    EXPECT_GE(started, g + 1) << resumed.out.substr(0, 400);
    EXPECT_LT(started, G) << "the killed run had (nearly) finished";
    EXPECT_EQ(slurp(d.dir + "/full.st"), slurp(d.dir + "/resumed.st"));
    std::string h = history_without_seconds(d.dir + "/full.csv");
    EXPECT_EQ(std::count(h.begin(), h.end(), '\n'), (long)G + 1);
    EXPECT_EQ(h, history_without_seconds(d.dir + "/resumed.csv"));
}

TEST(CliResume, KilledRunResumesBitIdenticallyOneThread) { expect_killed_run_resumes_exactly(1); }
TEST(CliResume, KilledRunResumesBitIdenticallyTwoThreads) { expect_killed_run_resumes_exactly(2); }
TEST(CliResume, KilledPgpeRunResumesBitIdentically)
{
    expect_killed_run_resumes_exactly(1, " --strategy pgpe --rank 1");
    expect_killed_run_resumes_exactly(2, " --strategy pgpe");
}

void expect_signal_stops_cleanly(int sig, int code)
{
    Dirs d = dirs(sig == SIGINT ? "int" : "term");
    std::string ck = d.dir + "/run.ckpt";
    Child c = spawn(args(d.data, 1) + " --verbose 1 --checkpoint " + ck + " --save " + d.dir +
                    "/stopped.st");
    wait_for_generation(c, 10);
    std::string rest;
    int status = stop(c, sig, &rest);
    ASSERT_TRUE(WIFEXITED(status)) << rest;
    EXPECT_EQ(WEXITSTATUS(status), code) << rest;
    EXPECT_NE(rest.find("devo evolve --resume " + ck), std::string::npos) << rest;
    EXPECT_NE(slurp(d.dir + "/stopped.st"), "");
    Result resumed = run_program(DEVO_CLI_PATH, "evolve --resume " + ck + " --data " + d.data +
                                                    " --verbose 0 --save " + d.dir + "/resumed.st");
    ASSERT_EQ(resumed.code, 0) << resumed.out;
    EXPECT_GE(resumed_at(resumed.out, ck), 11u) << "resumed before the generation it stopped at";
    Result full = run_program(DEVO_CLI_PATH, args(d.data, 1) + " --verbose 0 --save " + d.dir +
                                                 "/full.st");
    ASSERT_EQ(full.code, 0) << full.out;
    EXPECT_EQ(slurp(d.dir + "/full.st"), slurp(d.dir + "/resumed.st"));
}

TEST(CliResume, SigtermStopsWritesAndExits143) { expect_signal_stops_cleanly(SIGTERM, 143); }
TEST(CliResume, SigintStopsWritesAndExits130) { expect_signal_stops_cleanly(SIGINT, 130); }

TEST(CliResume, CorruptCheckpointIsRefusedAndNeverOverwritten)
{
    Dirs d = dirs("corrupt");
    std::string good = d.dir + "/good.ckpt", bad = d.dir + "/bad.ckpt";
    Result r = run_program(DEVO_CLI_PATH, "evolve --data " + d.data +
                                              " --generations 5 --verbose 0 --checkpoint " + good);
    ASSERT_EQ(r.code, 0) << r.out;
    std::string bytes = slurp(good);
    for (size_t cut : {bytes.size() / 2, bytes.size() - 1, (size_t)12}) {
        std::ofstream(bad, std::ios::binary) << bytes.substr(0, cut);
        r = run_program(DEVO_CLI_PATH, "evolve --resume " + bad + " --data " + d.data +
                                           " --generations 9 --checkpoint " + good);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_NE(r.out.find(bad), std::string::npos) << r.out;
        EXPECT_EQ(slurp(good), bytes); // the good checkpoint is untouched
        EXPECT_EQ(slurp(bad), bytes.substr(0, cut));
    }
    // A flipped byte in the header of the file resumed from, checkpointing to itself.
    std::string flipped = bytes;
    flipped[20] = '#';
    std::ofstream(bad, std::ios::binary) << flipped;
    r = run_program(DEVO_CLI_PATH, "evolve --resume " + bad + " --data " + d.data);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(slurp(bad), flipped);
}

TEST(CliResume, BadUsesExitOneOrTwoNamingTheProblem)
{
    Dirs d = dirs("bad");
    std::string good = d.dir + "/good.ckpt";
    Result r = run_program(DEVO_CLI_PATH, "evolve --data " + d.data + " --generations 3 " +
                                              "--verbose 0 --checkpoint /nonexistent/dir/ck");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("cannot write --checkpoint '/nonexistent/dir/ck'"), std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("Generation"), std::string::npos) << "refused before the run";
    r = run_program(DEVO_CLI_PATH, "evolve --data " + d.data + " --generations 3 --verbose 0 " +
                                       "--checkpoint " + good);
    ASSERT_EQ(r.code, 0) << r.out;
    r = run_program(DEVO_CLI_PATH, "evolve --resume " + good + " --data " + d.data +
                                       " --population 8");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("--population cannot be given with --resume"), std::string::npos)
        << r.out;
    r = run_program(DEVO_CLI_PATH, "evolve --resume " + d.dir + "/missing.ckpt --data " + d.data);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("missing.ckpt"), std::string::npos) << r.out;
    // More generations than saved: the run continues to the new --generations.
    r = run_program(DEVO_CLI_PATH, "evolve --resume " + good + " --data " + d.data +
                                       " --generations 5 --verbose 1");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("resuming " + good + " at generation 4"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[Generation 5 / 5]"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("[Generation 3 / 5]"), std::string::npos) << r.out;
}

}  // namespace
