// The devo command: help, bad flags and values (exit code 2), runtime failures (exit code 1),
// real runs of every subcommand on a small IDX dataset.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>

#include "devo.h"
#include "test_programs.h"

namespace {

Result run(const std::string &args) { return run_program(DEVO_CLI_PATH, args); }

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
        // Values the library's bounds refuse: a usage error too, named by the flag.
        {"evolve --population 1", "--population"},
        {"evolve --population 8 --top-k 9", "--top-k"},
        {"evolve --top-k 0", "--top-k"},
        {"evolve --verbose 3", "--verbose"},
        {"evolve --verbose -1", "--verbose"},
        {"evolve --mutation-rate 1.5", "--mutation-rate"},
        {"evolve --mutation-std -1", "--mutation-std"},
        {"evolve --init-std -0.5", "--init-std"},
        {"evolve --batch-size 0", "--batch-size"},
        {"evolve --threads -2", "--threads"},
        {"evolve --generations 4294967295", "--generations"},
        {"predict --model m.safetensors --out p.csv --split test", "--split"},
    };
    for (const Case &c : cases) {
        Result r = run(c.args);
        EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
        EXPECT_NE(r.out.find(c.mentions), std::string::npos) << c.args << "\n" << r.out;
    }
    // More fitness samples than the data holds is a usage error, found once the data is loaded.
    Result r = run("evolve --data " + small_dataset() + " --fitness-samples 401 --verbose 0");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("--fitness-samples"), std::string::npos) << r.out;
}

TEST(Cli, RuntimeFailuresExitOneWithTheLibrarysMessage)
{
    Result r = run("evolve --data /nonexistent/dir --generations 1");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("/nonexistent/dir"), std::string::npos) << r.out;
}

// BF16 on the CPU without the instructions (forced here by capping oneDNN below them, which
// devo's check honours) is refused with exit 1, naming what is missing, by evolve and bench.
TEST(Cli, Bf16WithoutTheInstructionsIsRefusedNamingThem)
{
    std::string capped = std::string("ONEDNN_MAX_CPU_ISA=AVX512_CORE ") + DEVO_CLI_PATH;
    std::string dir = small_dataset();
    for (const char *args : {" --layers 10:softmax --generations 1 --population 8 --top-k 2",
                             " --layers 10:softmax --generations 1 --population 8 --samples 50"}) {
        bool bench = std::strstr(args, "--samples") != nullptr;
        Result r = run_program(capped, std::string(bench ? "bench" : "evolve") + " --data " +
                                           dir + args + " --precision bf16 --backend cpu");
        EXPECT_EQ(r.code, 1) << r.out;
        bool named = r.out.find("AVX512_BF16") != std::string::npos ||
                     r.out.find("oneDNN, which this build") != std::string::npos;
        EXPECT_TRUE(named) << r.out;
        EXPECT_EQ(r.out.find("[Generation 1"), std::string::npos) << r.out;
    }
}

// --precision auto picks BF16 only where it runs (FP32 when the instructions are forced off),
// and only when asked: the default run stays FP32 and its first line says nothing of BF16.
TEST(Cli, PrecisionAutoPicksBf16OnlyWhenAskedAndWhereItRuns)
{
    std::string capped = std::string("ONEDNN_MAX_CPU_ISA=AVX512_CORE ") + DEVO_CLI_PATH;
    std::string args = "evolve --data " + small_dataset() +
                       " --layers 10:softmax --generations 1 --population 8 --top-k 2"
                       " --backend cpu";
    Result plain = run(args);
    ASSERT_EQ(plain.code, 0) << plain.out;
    EXPECT_EQ(plain.out.find("BF16"), std::string::npos) << plain.out;
    Result without = run_program(capped, args + " --precision auto");
    ASSERT_EQ(without.code, 0) << without.out;
    EXPECT_NE(without.out.find("OpenBLAS"), std::string::npos) << without.out;
    EXPECT_NE(without.out.find("(auto)"), std::string::npos) << without.out;
    EXPECT_EQ(without.out.find("precision BF16"), std::string::npos) << without.out;
    Result with = run(args + " --precision auto");
    ASSERT_EQ(with.code, 0) << with.out;
    if (with.out.find("oneDNN") != std::string::npos) // a CPU with BF16 GEMMs
        EXPECT_NE(with.out.find("precision BF16 (auto)"), std::string::npos) << with.out;
    else
        EXPECT_EQ(with.out.find("precision BF16"), std::string::npos) << with.out;
}

TEST(Cli, EvolveRunsAndReportsTrainAndTestAccuracy)
{
    std::string dir = small_dataset();
    Result r = run("evolve --data " + dir +
                   " --layers 10:softmax --generations 5 --population 12 --top-k 3 --seed 1");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("[Generation 1 / 5] score: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[Generation 5 / 5] score: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("train loss"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("test  loss"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("time"), std::string::npos) << r.out;
    // Same seed, same output lines (but for the wall time).
    Result again = run("evolve --data " + dir +
                       " --layers 10:softmax --generations 5 --population 12 --top-k 3 --seed 1");
    EXPECT_EQ(r.out.substr(0, r.out.find("time")), again.out.substr(0, again.out.find("time")));
}

// Off a terminal (here stderr is a pipe) --verbose 2 writes plain lines, not '\r' bars.
TEST(Cli, VerboseTwoOffATerminalWritesPlainLines)
{
    Result r = run("evolve --data " + small_dataset() + " --layers 10:softmax --generations 5 "
                   "--population 4 --top-k 2 --backend cpu --verbose 2");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("] 1/5 best "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("] 5/5 best "), std::string::npos) << r.out;
}

// A test split whose images differ in size from the training split's was once read with the
// training width (a heap over-read inside sgemm): every command refuses it, evolve before the run.
TEST(Cli, ASplitOfAnotherWidthIsRefusedByEveryCommand)
{
    std::string dir = small_dataset(1), model = test_tmp() + "/width.safetensors";
    Result r = run("evolve --data " + dir + " --layers 10:softmax --generations 2 --population 4 "
                   "--top-k 2 --backend cpu --save " + model);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("takes 36 inputs but the test samples have 1"), std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("[Generation"), std::string::npos) << "refused before the run\n" << r.out;
    ASSERT_EQ(run("evolve --data " + small_dataset() + " --layers 10:softmax --generations 1 "
                  "--population 4 --top-k 2 --backend cpu --verbose 0 --save " + model).code, 0);
    r = run("eval --model " + model + " --data " + dir);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("takes 36 inputs but the test samples have 1"), std::string::npos)
        << r.out;
    r = run("predict --model " + model + " --data " + dir + " --out " + test_tmp() + "/w.csv");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("takes 36 inputs but the t10k samples have 1"), std::string::npos)
        << r.out;
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
    std::string dir = small_dataset(), csv = test_tmp() + "/bench.csv";
    Result r = run("bench --data " + dir + " --population 8,16 --layers 8:relu,10:softmax "
                   "--layers 10:softmax --generations 2 --warmup 1 --backend cpu "
                   "--strategy ga,openai-es --rank 1 --csv " + csv);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("cpu ceiling: sgemm"), std::string::npos) << r.out;
    FILE *f = fopen(csv.c_str(), "r");
    ASSERT_NE(f, nullptr);
    std::vector<std::string> lines;
    char buf[4096];
    while (fgets(buf, sizeof buf, f)) lines.push_back(std::string(buf, strcspn(buf, "\n")));
    fclose(f);
    ASSERT_EQ(lines.size(), 9u) << "a header and 2 populations x 2 networks x 2 strategies";
    const std::vector<std::string> columns = {
        "backend", "precision", "network", "population", "top_k", "params", "samples",
        "generations_per_s", "evaluations_per_s", "gflops", "ceiling_gflops", "ceiling_fraction",
        "evaluate_ms", "select_ms", "vary_ms", "vary_gbps", "copy_ceiling_gbps", "copy_fraction",
        "host_peak_mb", "device_mb", "strategy", "rank", "forward_equivalents"};
    EXPECT_EQ(split(lines[0], ','), columns);
    for (size_t row = 1; row < lines.size(); row++) {
        std::vector<std::string> fields = split(lines[row], ',');
        ASSERT_EQ(fields.size(), columns.size()) << lines[row];
        EXPECT_EQ(fields[0], "cpu");
        EXPECT_EQ(fields[1], "fp32");
        EXPECT_TRUE(fields[2] == "36-8-10" || fields[2] == "36-10") << fields[2];
        EXPECT_EQ(fields[21], fields[20] == "ga" ? "0" : "1") << lines[row];
        EXPECT_TRUE(fields[20] == "ga" || fields[20] == "openai-es") << lines[row];
        std::vector<double> v(fields.size(), 0.0);
        for (size_t c = 3; c < fields.size(); c++) {
            if (columns[c] == "strategy" || columns[c] == "rank") continue;
            char *end = nullptr;
            v[c] = strtod(fields[c].c_str(), &end);
            EXPECT_TRUE(*end == '\0' && std::isfinite(v[c])) << columns[c] << " = " << fields[c];
            if (columns[c] != "device_mb" && columns[c] != "select_ms") {
                EXPECT_GT(v[c], 0.0) << columns[c];
            }
        }
        // The figures agree with each other and with the network (written with 6 digits).
        auto near = [](double a, double b) { return std::fabs(a - b) <= 1e-5 * std::fabs(b); };
        double P = v[3], hidden = fields[2] == "36-8-10" ? 8 : 0;
        EXPECT_EQ(v[4], std::max(1.0, std::floor(P / 4))) << "top_k: " << lines[row];
        EXPECT_EQ(v[5], hidden ? 36 * 8 + 8 + 8 * 10 + 10 : 36 * 10 + 10) << "params";
        EXPECT_EQ(v[6], 400) << "samples";
        EXPECT_TRUE(near(v[8], P * v[7])) << "evaluations/s = P x generations/s: " << lines[row];
        EXPECT_TRUE(near(v[11], v[9] / v[10])) << "ceiling_fraction: " << lines[row];
        EXPECT_TRUE(near(v[17], v[15] / v[16])) << "copy_fraction: " << lines[row];
        double flops = 2.0 * (hidden ? 36 * 8 + 8 * 10 : 36 * 10) * P * 400;
        EXPECT_TRUE(std::fabs(v[9] - flops / (v[12] / 1e3) / 1e9) <= 1e-4 * v[9])
            << "GFLOP/s = the GEMM FLOPs over the evaluation time: " << lines[row];
    }
}

TEST(Cli, BenchRejectsBadSweepsWithExitTwo)
{
    EXPECT_EQ(run("bench --population 1,8").code, 2);
    EXPECT_EQ(run("bench --strategy ga,cma-es").code, 2);
    EXPECT_EQ(run("bench --strategy pgpe --rank 1,-2").code, 2);
    EXPECT_EQ(run("bench --population 8,x").code, 2);
    EXPECT_EQ(run("bench --backend tpu").code, 2);
    EXPECT_EQ(run("bench --precision fp8").code, 2);
    EXPECT_EQ(run("bench --generations 0").code, 2);
    EXPECT_EQ(run("bench --help").code, 0);
}

} // namespace

namespace {

std::string read_all(const std::string &path)
{
    std::string text;
    FILE *f = fopen(path.c_str(), "r");
    if (!f) return text;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, got);
    fclose(f);
    return text;
}

TEST(Cli, EvolveSavesAModelThatEvalPredictAndInfoRead)
{
    std::string dir = small_dataset(), tmp = test_tmp();
    std::string model = tmp + "/cli.safetensors", history = tmp + "/history.csv";
    Result r = run("evolve --data " + dir + " --layers 4:tanh,10:softmax --generations 4 "
                   "--population 10 --top-k 3 --verbose 0 --save " + model + " --history " +
                   history);
    ASSERT_EQ(r.code, 0) << r.out;
    // The history has a header with every field of devo_generation_stats and a row per generation.
    std::vector<std::string> lines = split(read_all(history), '\n');
    ASSERT_GE(lines.size(), 5u);
    EXPECT_EQ(lines[0], "generation,max_generations,best,mean,std,population_mean,best_ever,"
                        "evaluations,seconds,center,test_accuracy");
    for (size_t g = 1; g <= 4; g++) {
        std::vector<std::string> fields = split(lines[g], ',');
        ASSERT_EQ(fields.size(), 11u) << lines[g];
        EXPECT_EQ(fields[9], "nan"); // the GA has no centre
        EXPECT_EQ(fields[0], std::to_string(g));
        EXPECT_EQ(fields[1], "4");
    }
    Result eval = run("eval --model " + model + " --data " + dir);
    ASSERT_EQ(eval.code, 0) << eval.out;
    // eval reports what evolve reported for the same model.
    auto line = [](const std::string &out, const char *start) {
        size_t at = out.find(start);
        return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
    };
    EXPECT_EQ(line(eval.out, "train loss"), line(r.out, "train loss"));
    EXPECT_EQ(line(eval.out, "test  loss"), line(r.out, "test  loss"));
    EXPECT_FALSE(line(eval.out, "test  loss").empty());
    Result info = run("info " + model);
    ASSERT_EQ(info.code, 0) << info.out;
    for (const char *want : {"input       36", "dense_1", "tanh", "softmax", "parameters  198",
                             "sparse_categorical_crossentropy", "devo_format_version"})
        EXPECT_NE(info.out.find(want), std::string::npos) << want << "\n" << info.out;
    std::string csv = tmp + "/predictions.csv";
    Result predict = run("predict --model " + model + " --data " + dir + " --out " + csv);
    ASSERT_EQ(predict.code, 0) << predict.out;
    std::vector<std::string> rows = split(read_all(csv), '\n');
    ASSERT_GE(rows.size(), 101u);
    EXPECT_EQ(rows[0].substr(0, 42), "index,label,predicted,output_0,output_1,ou");
    EXPECT_EQ(rows[0].substr(rows[0].size() - 9), ",output_9");
    std::vector<std::string> first = split(rows[1], ',');
    ASSERT_EQ(first.size(), 13u);
    double total = 0;
    for (size_t j = 3; j < 13; j++) total += std::stod(first[j]);
    EXPECT_NEAR(total, 1.0, 1e-5); // softmax outputs
}

// Writes a model of 1 input and `layers` layers of 1 linear unit (weights 0.5, biases 0): its
// layer description, "1:linear,1:linear,...", is 9 * layers - 1 characters long.
std::string write_deep_model(const std::string &path, size_t layers)
{
    std::string description, header = "{";
    for (size_t l = 0; l < layers; l++) {
        description += (l ? ",1:linear" : "1:linear");
        std::string name = l ? "dense_" + std::to_string(l) : "dense";
        header += "\"" + name + "/kernel\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[" +
                  std::to_string(8 * l) + "," + std::to_string(8 * l + 4) + "]},\"" + name +
                  "/bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
                  std::to_string(8 * l + 4) + "," + std::to_string(8 * l + 8) + "]},";
    }
    header += "\"__metadata__\":{\"devo_format_version\":\"1\",\"input_dim\":\"1\","
              "\"layers\":\"" + description + "\",\"loss\":\"mse\"}}";
    while (header.size() % 8) header += ' ';
    FILE *f = fopen(path.c_str(), "wb");
    for (int i = 0; i < 8; i++) fputc((int)((uint64_t)header.size() >> (8 * i)) & 0xff, f);
    fwrite(header.data(), 1, header.size(), f);
    const unsigned char half[4] = {0, 0, 0, 0x3f}, zero[4] = {0, 0, 0, 0};
    for (size_t l = 0; l < layers; l++) {
        fwrite(half, 1, 4, f);
        fwrite(zero, 1, 4, f);
    }
    fclose(f);
    return description;
}

TEST(Cli, InfoPrintsALongLayerDescriptionWhole)
{
    std::string path = test_tmp() + "/deep.safetensors";
    std::string description = write_deep_model(path, 700);
    ASSERT_GT(description.size(), 6000u);
    Result info = run("info " + path);
    ASSERT_EQ(info.code, 0) << info.out.substr(0, 2000);
    EXPECT_NE(info.out.find("layers=" + description + " loss=mse"), std::string::npos);
    EXPECT_NE(info.out.find("dense_699"), std::string::npos);
}

TEST(Cli, ModelCommandsRejectBadUseAndBadFiles)
{
    std::string tmp = test_tmp(), dir = small_dataset();
    EXPECT_EQ(run("eval --data " + dir).code, 2);               // no --model
    EXPECT_EQ(run("predict --model x.safetensors").code, 2);    // no --out
    EXPECT_EQ(run("info").code, 2);
    EXPECT_EQ(run("plot").code, 2);
    Result missing = run("eval --model /nonexistent.safetensors --data " + dir);
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.out.find("/nonexistent.safetensors"), std::string::npos);
    std::string junk = tmp + "/junk.safetensors";
    FILE *f = fopen(junk.c_str(), "w");
    fputs("this is not a model", f);
    fclose(f);
    Result bad = run("info " + junk);
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.out.find("header length"), std::string::npos) << bad.out;
    Result plot = run("plot " + junk + " -o " + tmp + "/x.png");
    EXPECT_EQ(plot.code, 1);
    EXPECT_NE(plot.out.find("not a devo history CSV"), std::string::npos) << plot.out;
}

TEST(Cli, PlotDrawsAPngFromAHistory)
{
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot missing";
    std::string dir = small_dataset(), tmp = test_tmp();
    std::string history = tmp + "/plot-history.csv", png = tmp + "/fitness.png";
    remove(png.c_str());
    ASSERT_EQ(run("evolve --data " + dir + " --layers 10:softmax --generations 3 --verbose 0 "
                  "--history " + history).code, 0);
    Result r = run("plot " + history + " -o " + png);
    ASSERT_EQ(r.code, 0) << r.out;
    std::string bytes = read_all(png);
    ASSERT_GT(bytes.size(), 8u);
    EXPECT_EQ(bytes.substr(1, 3), "PNG");
    // Two runs' test accuracy against seconds; a history without it is refused for that.
    std::string es = tmp + "/plot-es.csv", curves = tmp + "/curves.png";
    remove(curves.c_str()); // a plot that writes nothing must not pass on an earlier run's PNG
    ASSERT_EQ(run("evolve --data " + dir + " --layers 10:softmax --generations 3 --verbose 0 "
                  "--strategy openai-es --population 6 --test-every 2 --history " + es).code, 0);
    r = run("plot " + history + " " + es + " --x seconds --y test-accuracy -o " + curves);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(read_all(curves).substr(1, 3), "PNG");
    EXPECT_EQ(run("plot " + es + " --y speed -o " + curves).code, 2);
}

TEST(Cli, EvolveWithAStrategyWritesTheCentreAndTestAccuracy)
{
    std::string dir = small_dataset(), tmp = test_tmp(), history = tmp + "/es-history.csv";
    Result r = run("evolve --data " + dir + " --layers 4:relu,10:softmax --generations 4 "
                   "--strategy pgpe --rank 1 --population 10 --lr 0.1 --sigma 0.05 "
                   "--weight-decay 0.001 --sigma-final 0.01 --test-every 2 --verbose 0 "
                   "--history " + history);
    ASSERT_EQ(r.code, 0) << r.out;
    std::vector<std::string> lines = split(read_all(history), '\n');
    ASSERT_GE(lines.size(), 5u);
    for (size_t g = 1; g <= 4; g++) {
        std::vector<std::string> fields = split(lines[g], ',');
        ASSERT_EQ(fields.size(), 11u) << lines[g];
        EXPECT_NE(fields[9], "nan") << lines[g]; // the centre's fitness
        EXPECT_EQ(fields[10] == "nan", g % 2 == 1) << lines[g];
    }
    Result odd = run("evolve --data " + dir + " --strategy openai-es --population 9 --verbose 0");
    EXPECT_EQ(odd.code, 2) << "a usage error, found once the network is built";
    EXPECT_NE(odd.out.find("'--population'"), std::string::npos) << odd.out;
    EXPECT_NE(odd.out.find("population must be even"), std::string::npos) << odd.out;
    Result rank = run("evolve --data " + dir + " --layers 4:relu,10:softmax --strategy snes "
                      "--rank 5 --verbose 0");
    EXPECT_EQ(rank.code, 2);
    EXPECT_NE(rank.out.find("'--rank'"), std::string::npos) << rank.out;
    EXPECT_NE(rank.out.find("perturbation_rank"), std::string::npos) << rank.out;
    Result bad = run("evolve --data " + dir + " --strategy cma-es");
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.out.find("--strategy"), std::string::npos) << bad.out;
    // On CUDA where a device is present; refused with the reason where none is.
    Result cuda = run("evolve --data " + dir + " --layers 4:relu,10:softmax --generations 2 "
                      "--strategy pgpe --rank 1 --population 10 --backend cuda --verbose 0");
    if (devo_backend_available(DEVO_BACKEND_CUDA)) {
        EXPECT_EQ(cuda.code, 0) << cuda.out;
    } else {
        EXPECT_EQ(cuda.code, 1) << cuda.out;
        EXPECT_TRUE(cuda.out.find("no CUDA device is present") != std::string::npos ||
                    cuda.out.find("built without CUDA") != std::string::npos)
            << cuda.out;
    }
}

// devo bench --plot hands its CSV and PNG names to gnuplot as arguments too: a CSV path that
// is a gnuplot command runs nothing, and the plot is drawn.
TEST(Cli, BenchPlotPassesFileNamesSafely)
{
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot missing";
    std::string dir = small_dataset(), tmp = test_tmp();
    std::string pwned = "/tmp/devo-bench-pwned-" + std::to_string(getpid());
    std::string odd = tmp + "/b'; system 'touch " + pwned + "'; '";
    std::string png = tmp + "/bench-plot.png";
    remove(pwned.c_str());
    remove(png.c_str());
    ASSERT_EQ(system(("mkdir -p \"" + odd + "\"").c_str()), 0);
    Result r = run("bench --data " + dir + " --population 4,8 --layers 10:softmax --generations 1 "
                   "--warmup 0 --backend cpu --csv \"" + odd + "/x.csv\" --plot " + png);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(access(pwned.c_str(), F_OK), -1) << "the CSV name ran a command";
    EXPECT_EQ(read_all(png).substr(1, 3), "PNG") << r.out;
}

// devo bench --plot draws one line per series (backend, precision, network, strategy and
// rank): each series' name must select its rows of the CSV, or gnuplot finds no points for it.
TEST(Cli, BenchPlotDrawsALinePerStrategyAndRank)
{
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot missing";
    std::string dir = small_dataset(), png = test_tmp() + "/bench-lines.png";
    remove(png.c_str());
    Result r = run("bench --data " + dir + " --population 4,8 --layers 8:relu,10:softmax "
                   "--generations 1 --warmup 0 --backend cpu --strategy ga,pgpe --rank 0,1 "
                   "--plot " + png);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(read_all(png).substr(1, 3), "PNG") << r.out;
    for (const char *series : {"cpu/fp32/36-8-10/ga", "cpu/fp32/36-8-10/pgpe-r0",
                               "cpu/fp32/36-8-10/pgpe-r1"})
        EXPECT_NE(r.out.find(series), std::string::npos) << series << "\n" << r.out;
    EXPECT_EQ(r.out.find("no valid points"), std::string::npos) << "a series drew no line:\n"
                                                                << r.out;
}

// Titles and file names reach gnuplot as arguments, never as script text: the injection
// strings run nothing, a 5,000-character title still draws, and a failure of gnuplot is reported.
TEST(Cli, PlotPassesStringsSafelyAndChecksGnuplot)
{
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot missing";
    std::string dir = small_dataset(), tmp = test_tmp();
    std::string history = tmp + "/inject-history.csv", png = tmp + "/inject.png";
    std::string pwned = "/tmp/devo-pwned-" + std::to_string(getpid());
    remove(pwned.c_str());
    ASSERT_EQ(run("evolve --data " + dir + " --layers 10:softmax --generations 3 --verbose 0 "
                  "--backend cpu --history " + history).code, 0);
    // The shell quoting below hands devo each string as one argument, quotes and all.
    const std::string injections[] = {
        "x'; system 'touch " + pwned + "'; set title 'y",
        "x\"; system \"touch " + pwned + "\"; set title \"y",
        "x`touch " + pwned + "`y",
    };
    for (const std::string &title : injections) {
        remove(png.c_str());
        std::string quoted = "'";
        for (char c : title) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        Result r = run("plot " + history + " -o " + png + " --title " + quoted + "'");
        EXPECT_EQ(r.code, 0) << title << "\n" << r.out;
        EXPECT_EQ(access(pwned.c_str(), F_OK), -1) << "the title ran a command: " << title;
        EXPECT_EQ(read_all(png).substr(1, 3), "PNG") << title;
    }
    // File names too: a history and PNGs whose names are gnuplot commands (no '/' in a name, so
    // these commands touch a file in the current directory).
    std::string local = "devo-pwned-" + std::to_string(getpid());
    remove(local.c_str());
    std::string odd = tmp + "/h'; system 'touch " + local + "'; '.csv";
    std::string piped = tmp + "/<touch " + local;
    ASSERT_EQ(rename(history.c_str(), odd.c_str()), 0);
    ASSERT_EQ(system(("cp \"" + odd + "\" \"" + piped + "\"").c_str()), 0);
    for (const std::string &args :
         {"\"" + odd + "\" -o \"" + tmp + "/p'; system 'touch " + local + "'; '.png\"",
          "\"" + odd + "\" -o \"|touch " + local + "\"", // a relative PNG name
          "\"" + piped + "\" -o " + png}) {
        Result r = run("plot " + args);
        EXPECT_EQ(r.code, 0) << args << "\n" << r.out;
        EXPECT_EQ(access(local.c_str(), F_OK), -1) << "a file name ran a command: " << args;
    }
    remove(("|touch " + local).c_str());
    Result r;
    // A 5,000-character title no longer truncates the script into an empty PNG.
    r = run("plot \"" + odd + "\" -o " + png + " --title " + std::string(5000, 'T'));
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_GT(read_all(png).size(), 1000u);
    EXPECT_EQ(read_all(png).substr(1, 3), "PNG");
    // gnuplot failing (it cannot open the output) is an error, not "wrote".
    r = run("plot \"" + odd + "\" -o /nonexistent/dir/x.png");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("gnuplot failed"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("wrote"), std::string::npos) << r.out;
}

} // namespace

namespace {

// Starts the devo command under valgrind's memcheck: uninitialised reads, invalid accesses and
// definite leaks fail it (the sanitizer build checks the rest).
FILE *start_under_valgrind(const std::string &args)
{
    return start_program("valgrind -q --error-exitcode=99 --leak-check=full "
                         "--errors-for-leak-kinds=definite --suppressions=" DEVO_VALGRIND_SUPP
                         " " DEVO_CLI_PATH,
                         args);
}

TEST(Cli, CommandsAreCleanUnderValgrind)
{
    if (DEVO_TEST_SANITIZED) GTEST_SKIP() << "sanitizer build: valgrind does not run it";
    if (system("command -v valgrind > /dev/null 2>&1") != 0) GTEST_SKIP() << "no valgrind";
    std::string dir = small_dataset(), tmp = test_tmp(), model = tmp + "/valgrind.safetensors";
    // --backend cpu: on a machine with a GPU, auto would pick CUDA, whose driver valgrind
    // cannot check (and OpenBLAS, which ASan does not see into, is what valgrind is here for).
    const std::string evolve = "evolve --backend cpu --layers 4:tanh,10:softmax --generations 2 "
                               "--population 6 --top-k 2 --data ";
    ASSERT_EQ(run(evolve + dir + " --verbose 0 --save " + model).code, 0);
    // Every path that hands arrays to OpenBLAS: evolve's training and test splits, eval and
    // predict, and a test split of another width, which must be refused. They run at once:
    // valgrind takes half a minute just to start a CUDA build's devo (cuBLAS is large).
    const std::string runs[] = {
        evolve + dir + " --verbose 2 --fitness-samples 50 --save " + tmp + "/valgrind-2.st" +
            " --history " + tmp + "/valgrind.csv",
        evolve + small_dataset(1) + " --verbose 0",
        "info " + model,
        "eval --model " + model + " --data " + dir,
        "predict --model " + model + " --data " + dir + " --split train --out " + tmp +
            "/valgrind-pred.csv",
        "evolve --data /nonexistent",
    };
    std::vector<FILE *> started;
    for (const std::string &args : runs) started.push_back(start_under_valgrind(args));
    for (size_t i = 0; i < started.size(); i++) {
        Result r = finish_program(started[i]);
        EXPECT_NE(r.code, 99) << runs[i] << "\n" << r.out;
        EXPECT_EQ(r.out.find("=="), std::string::npos) << runs[i] << "\n" << r.out;
    }
}

} // namespace

namespace {

// The names in directory dir.
std::vector<std::string> entries(const std::string &dir)
{
    std::vector<std::string> names;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d)) names.push_back(e->d_name);
        closedir(d);
    }
    return names;
}

// An output path that cannot be written is refused before the data is loaded or the run spent,
// with a message naming the flag and the path, and the check leaves no file behind.
TEST(Cli, UnwritableOutputPathsAreRefusedBeforeTheRun)
{
    std::string dir = small_dataset(), out = test_tmp() + "/outputs";
    mkdir(out.c_str(), 0755);
    std::string read_only = out + "/read-only";
    mkdir(read_only.c_str(), 0555);
    chmod(read_only.c_str(), 0555);
    struct Case {
        std::string flag, path;
    } cases[] = {
        {"save", "/nonexistent/dir/m.safetensors"},
        {"save", out},                          // a directory
        {"save", "/proc/devo-m.safetensors"},   // read-only even for root
        {"history", "/nonexistent/dir/h.csv"},
        {"history", out + "/"},
        {"save", read_only + "/m.safetensors"}, // read-only but for root
    };
    size_t before = entries(out).size();
    for (const Case &c : cases) {
        if (c.path.rfind(read_only, 0) == 0 && geteuid() == 0) continue; // root writes anyway
        Result r = run("evolve --data " + dir + " --layers 10:softmax --generations 2 "
                       "--population 4 --top-k 2 --backend cpu --" + c.flag + " " + c.path);
        EXPECT_EQ(r.code, 1) << c.path << "\n" << r.out;
        EXPECT_NE(r.out.find("cannot write --" + c.flag + " '" + c.path + "'"), std::string::npos)
            << r.out;
        EXPECT_EQ(r.out.find("[Generation"), std::string::npos) << "refused before the run\n"
                                                                 << r.out;
        // Only a missing directory is called one (/proc exists but takes no new files).
        EXPECT_EQ(r.out.find("its directory does not exist") != std::string::npos,
                  c.path.rfind("/nonexistent/", 0) == 0) << r.out;
    }
    EXPECT_EQ(entries(out).size(), before) << "the checks left a file behind";
    EXPECT_TRUE(entries(read_only).size() == 2) << "the checks left a file behind";
}

// A history whose writes fail during the run (/dev/full: the disk is full) fails the command,
// but the model is still saved.
TEST(Cli, AHistoryThatFailsToWriteStillLetsTheModelSave)
{
    // Only root may create (and the check then removes) a probe file in /dev.
    if (geteuid() != 0) GTEST_SKIP() << "needs root to pass the writability check on /dev/full";
    std::string model = test_tmp() + "/full-history.safetensors";
    remove(model.c_str());
    Result r = run("evolve --data " + small_dataset() + " --layers 10:softmax --generations 2 "
                   "--population 4 --top-k 2 --backend cpu --verbose 0 --history /dev/full "
                   "--save " + model);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("cannot write '/dev/full'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("saved " + model), std::string::npos) << r.out;
    EXPECT_EQ(run("info " + model).code, 0);
}

// A save that fails after the run (here its directory is removed during the run, which Ctrl-C
// then stops) puts the model in a rescue file beside the current directory and says how to move
// it into place; the exit code is 1.
TEST(Cli, AModelWhoseSaveFailsAfterTheRunIsRescued)
{
    std::string dir = small_dataset(), tmp = test_tmp();
    std::string work = tmp + "/rescue-" + std::to_string(getpid()), gone = work + "/gone";
    std::string history = work + "/history.csv", log = work + "/log.txt";
    mkdir(work.c_str(), 0755);
    mkdir(gone.c_str(), 0755);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        if (chdir(work.c_str()) != 0) _exit(120);
        execl(DEVO_CLI_PATH, "devo", "evolve", "--data", dir.c_str(), "--layers", "10:softmax",
              "--generations", "100000000", "--population", "4", "--top-k", "2", "--backend",
              "cpu", "--verbose", "0", "--save", (gone + "/m.safetensors").c_str(), "--history",
              history.c_str(), (char *)nullptr);
        _exit(121);
    }
    // Wait until the run has begun (the history has a generation), then pull the directory away.
    auto lines = [](const std::string &text) { return std::count(text.begin(), text.end(), '\n'); };
    for (int i = 0; i < 6000 && lines(read_all(history)) < 2; i++) usleep(10000);
    ASSERT_EQ(rmdir(gone.c_str()), 0);
    kill(child, SIGINT);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    std::string out = read_all(log);
    ASSERT_TRUE(WIFEXITED(status)) << out;
    EXPECT_EQ(WEXITSTATUS(status), 1) << out;
    std::string rescue = work + "/devo-rescue-" + std::to_string(child) + ".safetensors";
    EXPECT_NE(out.find("mv '" + rescue + "' '" + gone + "/m.safetensors'"), std::string::npos)
        << out;
    Result info = run("info " + rescue);
    EXPECT_EQ(info.code, 0) << info.out;
    EXPECT_NE(info.out.find("input       36"), std::string::npos) << info.out;
    EXPECT_NE(out.find("train loss"), std::string::npos) << "still reports\n" << out;
    remove(rescue.c_str());
}

} // namespace
