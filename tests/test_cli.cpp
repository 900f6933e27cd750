// The devo command: help, bad flags and values (exit code 2), a runtime failure (exit code 1),
// and a short real run of 'devo evolve' on a small IDX dataset.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Result {
    int code;
    std::string out;
};

Result run(const std::string &args)
{
    std::string command = std::string(DEVO_CLI_PATH) + " " + args + " 2>&1";
    FILE *p = popen(command.c_str(), "r");
    Result r{-1, ""};
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
    int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// A small MNIST-like directory: 400 train and 100 test images of 6x6, 3 classes whose pixels
// are bright in a class-specific band, so a linear model separates them.
std::string small_dataset()
{
    std::string dir = std::string(DEVO_TEST_TMP) + "/cli-data";
    mkdir(DEVO_TEST_TMP, 0755);
    mkdir(dir.c_str(), 0755);
    for (const char *split : {"train", "t10k"}) {
        uint32_t n = std::string(split) == "train" ? 400 : 100;
        std::vector<unsigned char> img = {0, 0, 8, 3, 0, 0, (unsigned char)(n >> 8),
                                          (unsigned char)n, 0, 0, 0, 6, 0, 0, 0, 6};
        std::vector<unsigned char> lab = {0, 0, 8, 1, 0, 0, (unsigned char)(n >> 8),
                                          (unsigned char)n};
        for (uint32_t i = 0; i < n; i++) {
            unsigned char cls = (unsigned char)(i % 3);
            lab.push_back(cls);
            for (int px = 0; px < 36; px++)
                img.push_back((unsigned char)(px / 12 == cls ? 200 + (i * 7 + px) % 50
                                                             : (i * 13 + px) % 40));
        }
        std::string base = dir + "/" + split;
        FILE *f = fopen((base + "-images-idx3-ubyte").c_str(), "wb");
        fwrite(img.data(), 1, img.size(), f);
        fclose(f);
        f = fopen((base + "-labels-idx1-ubyte").c_str(), "wb");
        fwrite(lab.data(), 1, lab.size(), f);
        fclose(f);
    }
    return dir;
}

TEST(Cli, HelpExitsZeroAndListsEveryFlag)
{
    Result r = run("evolve --help");
    EXPECT_EQ(r.code, 0);
    for (const char *flag : {"--data", "--layers", "--loss", "--fitness", "--generations",
                             "--population", "--top-k", "--mutation-rate", "--mutation-std",
                             "--init-std", "--batch-size", "--fitness-samples", "--seed",
                             "--backend", "--threads", "--verbose"})
        EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
    EXPECT_EQ(run("--help").code, 0);
    EXPECT_EQ(run("--version").code, 0);
}

TEST(Cli, BadFlagsAndValuesExitTwoNamingThem)
{
    struct Case {
        const char *args, *mentions;
    } cases[] = {
        {"evolve --nope 3", "--nope"},
        {"evolve --population abc", "--population"},
        {"evolve --population -4", "--population"},
        {"evolve --mutation-rate nan", "--mutation-rate"},
        {"evolve --fitness speed", "--fitness"},
        {"evolve --loss hinge", "--loss"},
        {"evolve --backend tpu", "--backend"},
        {"evolve --layers 30:swish", "--layers"},
        {"evolve --layers 0:relu", "--layers"},
        {"evolve --seed", "--seed"},
        {"frobnicate", "frobnicate"},
    };
    for (const Case &c : cases) {
        Result r = run(c.args);
        EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
        EXPECT_NE(r.out.find(c.mentions), std::string::npos) << c.args << "\n" << r.out;
    }
}

TEST(Cli, RuntimeFailuresExitOneWithTheLibrarysMessage)
{
    Result r = run("evolve --data /nonexistent/dir --generations 1");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("/nonexistent/dir"), std::string::npos) << r.out;
    std::string dir = small_dataset();
    r = run("evolve --data " + dir + " --top-k 40 --verbose 0");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("top_k"), std::string::npos) << r.out;
}

TEST(Cli, EvolveRunsAndReportsTrainAndTestAccuracy)
{
    std::string dir = small_dataset();
    Result r = run("evolve --data " + dir +
                   " --layers 3:softmax --generations 5 --population 12 --top-k 3 --seed 1");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("[Generation 1 / 5] score: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[Generation 5 / 5] score: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("train loss"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("test  loss"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("time"), std::string::npos) << r.out;
    // Same seed, same output lines (but for the wall time).
    Result again = run("evolve --data " + dir +
                       " --layers 3:softmax --generations 5 --population 12 --top-k 3 --seed 1");
    EXPECT_EQ(r.out.substr(0, r.out.find("time")), again.out.substr(0, again.out.find("time")));
}

} // namespace

namespace {

std::vector<std::string> split(const std::string &line, char sep)
{
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i <= line.size(); i++)
        if (i == line.size() || line[i] == sep) {
            out.push_back(line.substr(start, i - start));
            start = i + 1;
        }
    return out;
}

TEST(Cli, BenchSmokeRunWritesEveryFieldAndAllAreFinite)
{
    std::string dir = small_dataset(), csv = std::string(DEVO_TEST_TMP) + "/bench.csv";
    Result r = run("bench --data " + dir + " --population 8,16 --layers 8:relu,3:softmax "
                   "--layers 3:softmax --generations 2 --warmup 1 --backend cpu --csv " + csv);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("cpu ceiling: sgemm"), std::string::npos) << r.out;
    FILE *f = fopen(csv.c_str(), "r");
    ASSERT_NE(f, nullptr);
    std::vector<std::string> lines;
    char buf[4096];
    while (fgets(buf, sizeof buf, f)) lines.push_back(std::string(buf, strcspn(buf, "\n")));
    fclose(f);
    ASSERT_EQ(lines.size(), 5u) << "a header and 2 populations x 2 networks";
    const std::vector<std::string> columns = {
        "backend", "precision", "network", "population", "top_k", "params", "samples",
        "generations_per_s", "evaluations_per_s", "gflops", "ceiling_gflops", "ceiling_fraction",
        "evaluate_ms", "select_ms", "vary_ms", "vary_gbps", "copy_ceiling_gbps", "copy_fraction",
        "host_peak_mb", "device_mb"};
    EXPECT_EQ(split(lines[0], ','), columns);
    for (size_t row = 1; row < lines.size(); row++) {
        std::vector<std::string> fields = split(lines[row], ',');
        ASSERT_EQ(fields.size(), columns.size()) << lines[row];
        EXPECT_EQ(fields[0], "cpu");
        EXPECT_EQ(fields[1], "fp32");
        EXPECT_TRUE(fields[2] == "36-8-3" || fields[2] == "36-3") << fields[2];
        for (size_t c = 3; c < fields.size(); c++) {
            char *end = nullptr;
            double v = strtod(fields[c].c_str(), &end);
            EXPECT_TRUE(*end == '\0' && std::isfinite(v)) << columns[c] << " = " << fields[c];
            if (columns[c] != "device_mb" && columns[c] != "select_ms") {
                EXPECT_GT(v, 0.0) << columns[c];
            }
        }
    }
}

TEST(Cli, BenchRejectsBadSweepsWithExitTwo)
{
    EXPECT_EQ(run("bench --population 1,8").code, 2);
    EXPECT_EQ(run("bench --population 8,x").code, 2);
    EXPECT_EQ(run("bench --backend tpu").code, 2);
    EXPECT_EQ(run("bench --precision fp8").code, 2);
    EXPECT_EQ(run("bench --generations 0").code, 2);
    EXPECT_EQ(run("bench --help").code, 0);
}

} // namespace
