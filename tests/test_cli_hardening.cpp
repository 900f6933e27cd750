// The second hardening round's defects of the devo command (docs/robustness.md, "Round 2"),
// each a case that once went wrong: plot writing over its own input, bench measuring rows the
// library refuses or that cannot fit, flags checked as doubles although used as floats.
#include <gtest/gtest.h>

#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "test_programs.h"

namespace {

Result run(const std::string &args) { return run_program(DEVO_CLI_PATH, args); }

std::string tmp_path(const std::string &name)
{
    return test_tmp() + "/hardening-" + std::to_string(getpid()) + "-" + name;
}

// A history of a short GA run, written by devo evolve.
std::string ga_history(const std::string &name)
{
    std::string history = tmp_path(name);
    Result r = run("evolve --data " + small_dataset() + " --layers 10:softmax --generations 3 "
                   "--verbose 0 --history " + history);
    EXPECT_EQ(r.code, 0) << r.out;
    return history;
}

// Round 2, item 7: -o naming one of the histories (by any name) is refused and the history
// stays as it was.
TEST(CliHardening, PlotRefusesAnOutputThatIsOneOfItsInputs)
{
    std::string a = ga_history("a.csv"), b = ga_history("b.csv"), link = tmp_path("link.csv");
    std::string before_a = slurp(a), before_b = slurp(b);
    unlink(link.c_str());
    ASSERT_EQ(symlink(b.c_str(), link.c_str()), 0);
    struct Case {
        std::string args, named;
    } cases[] = {
        {a + " -o " + a, a},
        {a + " " + b + " -o " + b, b},
        {a + " " + b + " -o " + link, b}, // the same file under another name
    };
    for (const Case &c : cases) {
        Result r = run("plot " + c.args);
        EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
        EXPECT_NE(r.out.find("is the history '" + c.named + "' itself"), std::string::npos)
            << r.out;
    }
    EXPECT_EQ(slurp(a), before_a);
    EXPECT_EQ(slurp(b), before_b);
}

// Round 2, items 8 and 13: bench checks each row as devo evolve would before measuring any:
// an odd population for an antithetic strategy (once a heap overflow) and a rank wider than
// a layer exit 2 naming the flag, and no row is printed.
TEST(CliHardening, BenchRefusesRowsTheLibraryRefusesNamingTheFlag)
{
    std::string dir = small_dataset();
    struct Case {
        const char *args, *flag;
    } cases[] = {
        {"--strategy openai-es --population 3", "--population"},
        {"--strategy ga,openai-es --population 8,3", "--population"},
        {"--strategy pgpe --rank 5 --layers 3:relu,10:softmax --population 8", "--rank"},
        {"--strategy snes --rank 100000 --population 8", "--rank"},
    };
    for (const Case &c : cases) {
        Result r = run("bench --data " + dir + " --backend cpu --generations 1 " + c.args);
        EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
        EXPECT_NE(r.out.find(std::string("bad value for flag '") + c.flag), std::string::npos)
            << c.args << "\n" << r.out;
        EXPECT_EQ(r.out.find("cpu ceiling"), std::string::npos) << "measured: " << r.out;
    }
}

// Round 2, item 15: a population that cannot fit in this machine's memory is refused with the
// figure before anything is allocated (it was killed by the kernel, or took minutes).
TEST(CliHardening, BenchRefusesAPopulationLargerThanMemoryWithTheFigure)
{
    Result r = run("bench --data " + small_dataset() + " --backend cpu --population 16777216 "
                   "--layers 4096:relu,10:softmax --generations 1");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("its population alone needs"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("GB of memory"), std::string::npos) << r.out;
}

// Round 2, item 14: --plot without --csv leaves no devo-bench.csv (nor any CSV) behind in the
// working directory.
TEST(CliHardening, BenchPlotWithoutCsvWritesNoFileInTheWorkingDirectory)
{
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot missing";
    std::string dir = tmp_path("bench-cwd"), png = tmp_path("bench.png");
    mkdir(dir.c_str(), 0755);
    unlink((dir + "/devo-bench.csv").c_str());
    unlink(png.c_str());
    Result r = run_program("cd " + dir + " && " + DEVO_CLI_PATH,
                           "bench --data " + small_dataset() + " --backend cpu --population 8 "
                           "--layers 10:softmax --generations 1 --plot " + png);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_FALSE(slurp(png).empty()) << "no PNG drawn";
    Result listing = run_program("ls -A", dir);
    EXPECT_EQ(listing.out, "") << "left in the working directory: " << listing.out;
}

// Round 2, item 11: the ES flags are floats where they are used: 1e-300 (0 as a float) and
// 1e39 (infinite as a float) exit 2 naming the flag.
TEST(CliHardening, EsFlagsOutsideFloatRangeExitTwoNamingTheFlag)
{
    std::string dir = small_dataset();
    for (const char *flag : {"sigma", "sigma-final", "lr", "weight-decay"})
        for (const char *value : {"1e-300", "1e39"}) {
            Result r = run("evolve --data " + dir + " --strategy openai-es --layers 10:softmax "
                           "--generations 2 --verbose 0 --" + flag + " " + value);
            EXPECT_EQ(r.code, 2) << flag << " " << value << "\n" << r.out;
            EXPECT_NE(r.out.find(std::string("bad value for flag '--") + flag + "'"),
                      std::string::npos) << r.out;
        }
}

// Round 2, item 17: --resume naming a directory says so (an I/O error, as devo info does), not
// "9223372036854775807 bytes, too short".
TEST(CliHardening, ResumeFromADirectorySaysItIsADirectory)
{
    std::string dir = tmp_path("resume-dir");
    mkdir(dir.c_str(), 0755);
    for (const std::string &extra : {std::string(""), " --checkpoint " + tmp_path("c.ckpt")}) {
        Result r = run("evolve --data " + small_dataset() + " --resume " + dir + extra);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_NE(r.out.find("is a directory"), std::string::npos) << r.out;
        EXPECT_EQ(r.out.find("too short"), std::string::npos) << r.out;
    }
}

// A dataset like small_dataset() with `train` training samples, its pixels shifted by `shift`
// (the same width, other data).
std::string other_dataset(const std::string &name, uint32_t train, unsigned shift)
{
    std::string dir = tmp_path(name);
    mkdir(dir.c_str(), 0755);
    write_split(dir, "train", train, 6);
    write_split(dir, "t10k", 100, 6);
    if (shift) { // one pixel of the first image changed
        std::string images = dir + "/train-images-idx3-ubyte", bytes = slurp(images);
        bytes[16] = (char)(bytes[16] + shift);
        FILE *f = fopen(images.c_str(), "wb");
        fwrite(bytes.data(), 1, bytes.size(), f);
        fclose(f);
    }
    return dir;
}

// Round 2, item 1: --resume without --data continues on the checkpoint's data (it trained on
// the default data set); other data of the same width is refused naming both fingerprints
// unless --other-data.
TEST(CliHardening, ResumeContinuesOnTheCheckpointsDataAndRefusesOtherData)
{
    std::string a = other_dataset("data-a", 400, 0), b = other_dataset("data-b", 400, 9);
    std::string ckpt = tmp_path("data.ckpt");
    std::string common = " --layers 10:softmax --population 8 --top-k 2 --verbose 0";
    Result r = run("evolve --data " + a + " --generations 2 --checkpoint " + ckpt + common);
    ASSERT_EQ(r.code, 0) << r.out;
    r = run("evolve --resume " + ckpt + " --generations 3 --verbose 0");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("400 samples of 36 features"), std::string::npos) << r.out;
    r = run("evolve --resume " + ckpt + " --generations 4 --verbose 0 --data " + b);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("differs from the data the state was saved with ('" + a + "'"),
              std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--other-data"), std::string::npos) << r.out;
    r = run("evolve --resume " + ckpt + " --generations 4 --verbose 0 --other-data --data " + b);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(run("evolve --other-data --data " + a).code, 2);
}

// Round 2, item 18: resuming onto fewer samples than the checkpoint's --fitness-samples names
// the checkpoint's value and the data's size, not a flag the user cannot give.
TEST(CliHardening, ResumeOntoFewerSamplesNamesTheCheckpointsValueAndTheDataSize)
{
    std::string a = other_dataset("data-400", 400, 0), small = other_dataset("data-200", 200, 0);
    std::string ckpt = tmp_path("samples.ckpt");
    Result r = run("evolve --data " + a + " --generations 2 --fitness-samples 300 --layers "
                   "10:softmax --population 8 --top-k 2 --verbose 0 --checkpoint " + ckpt);
    ASSERT_EQ(r.code, 0) << r.out;
    r = run("evolve --resume " + ckpt + " --generations 3 --other-data --data " + small);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("scores 300 samples a generation"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("only 200 training samples"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("bad value for flag"), std::string::npos) << r.out;
}

// Round 2, item 5: --checkpoint (or --save) through a dangling symlink or a symlink loop is
// refused before the run, as the write would fail after it.
TEST(CliHardening, OutputsThroughDanglingOrLoopingSymlinksAreRefusedBeforeTheRun)
{
    std::string dangling = tmp_path("dangling.ckpt"), loop_a = tmp_path("loop-a"),
                loop_b = tmp_path("loop-b"), model = tmp_path("symlinked.safetensors");
    for (const std::string &p : {dangling, loop_a, loop_b, model}) unlink(p.c_str());
    ASSERT_EQ(symlink("/nonexistent-devo-dir/run.ckpt", dangling.c_str()), 0);
    ASSERT_EQ(symlink(loop_b.c_str(), loop_a.c_str()), 0);
    ASSERT_EQ(symlink(loop_a.c_str(), loop_b.c_str()), 0);
    std::string run_args = "evolve --data " + small_dataset() + " --layers 10:softmax "
                           "--generations 3 --verbose 1 --save " + model;
    for (const std::string &flag : {" --checkpoint " + dangling, " --checkpoint " + loop_a}) {
        Result r = run(run_args + flag);
        EXPECT_EQ(r.code, 1) << flag << "\n" << r.out;
        EXPECT_NE(r.out.find("cannot write --checkpoint"), std::string::npos) << r.out;
        EXPECT_EQ(r.out.find("[Generation"), std::string::npos) << "the run started: " << r.out;
    }
    Result r = run("evolve --data " + small_dataset() + " --generations 1 --save " + dangling);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("cannot write --save"), std::string::npos) << r.out;
}

// Round 2, item 6: a checkpoint write that fails mid-run (its folder moved away) stops the run but
// still saves the --save model on its own, healthy file system, and says the run cannot be
// resumed from the lost checkpoint.
TEST(CliHardening, ACheckpointFailingMidRunStillSavesTheModel)
{
    std::string dir = tmp_path("ckpt-dir"), model = tmp_path("kept.safetensors");
    mkdir(dir.c_str(), 0755);
    unlink(model.c_str());
    FILE *p = start_program(DEVO_CLI_PATH, "evolve --data " + small_dataset() + " --layers "
                            "8:relu,10:softmax --generations 3000 --checkpoint-every 1 "
                            "--checkpoint " + dir + "/run.ckpt --save " + model);
    ASSERT_NE(p, nullptr);
    std::string out;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        out += line;
        if (out.find("[Generation 3 /") != std::string::npos) break;
    }
    // The folder goes at once (a rename: an rm -rf races the writer's temporaries).
    std::string gone = dir + ".gone";
    ASSERT_EQ(system(("rm -rf " + gone).c_str()), 0);
    ASSERT_EQ(rename(dir.c_str(), gone.c_str()), 0);
    Result r = finish_program(p);
    ASSERT_EQ(system(("rm -rf " + gone).c_str()), 0);
    r.out = out + r.out;
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(r.out.find("[Generation 3000 /"), std::string::npos) << "the run went on";
    EXPECT_NE(r.out.find("saved " + model), std::string::npos) << r.out;
    EXPECT_FALSE(slurp(model).empty()) << "the model was dropped";
    EXPECT_NE(r.out.find("is gone: this run cannot be resumed"), std::string::npos) << r.out;
}

// Round 2, item 3: a run whose ES diverges (a huge weight decay and learning rate make Adam's
// moment infinite in generation 2) stops naming the divergence, keeps the last good checkpoint
// (generation 1: it loads and resumes) and saves the last good generation's model.
TEST(CliHardening, ADivergingRunStopsAndKeepsTheLastGoodCheckpointAndModel)
{
    std::string ckpt = tmp_path("diverge.ckpt"), model = tmp_path("diverge.safetensors");
    unlink(ckpt.c_str());
    unlink(model.c_str());
    std::string data = small_dataset();
    Result r = run("evolve --data " + data + " --layers 10:softmax --strategy openai-es "
                   "--population 8 --generations 20 --checkpoint-every 1 --weight-decay 1e18 "
                   "--lr 1000 --verbose 0 --checkpoint " + ckpt + " --save " + model);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("openai-es diverged at generation 2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("saved " + model), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("checkpoint of generation 1 in " + ckpt + "; resume with"),
              std::string::npos) << r.out;
    EXPECT_EQ(run("info " + model).code, 0);
    Result resumed = run("evolve --resume " + ckpt + " --generations 20 --verbose 0");
    EXPECT_NE(resumed.out.find("resuming " + ckpt + " at generation 2"), std::string::npos)
        << resumed.out;
    EXPECT_NE(resumed.out.find("diverged at generation 2"), std::string::npos) << resumed.out;
}

// Column c (0-based) of every data row of a CSV.
std::vector<std::string> column(const std::string &csv, size_t c)
{
    std::vector<std::string> out;
    std::istringstream in(slurp(csv));
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string field;
        for (size_t i = 0; i <= c && std::getline(fields, field, ','); i++) {}
        out.push_back(field);
    }
    return out;
}

// Round 2, item 9: a resume keeps the test accuracy its history recorded (it rewrote every
// one as nan) and takes --test-every (it was refused with --resume).
TEST(CliHardening, ResumeKeepsTheRecordedTestAccuracyAndTakesTestEvery)
{
    std::string ckpt = tmp_path("accuracy.ckpt"), history = tmp_path("accuracy.csv");
    std::string data = small_dataset();
    Result r = run("evolve --data " + data + " --layers 10:softmax --population 8 "
                   "--generations 4 --verbose 0 --test-every 2 --checkpoint " + ckpt +
                   " --history " + history);
    ASSERT_EQ(r.code, 0) << r.out;
    std::vector<std::string> before = column(history, 10);
    ASSERT_EQ(before.size(), 4u);
    ASSERT_NE(before[1], "nan");
    ASSERT_NE(before[3], "nan");
    r = run("evolve --resume " + ckpt + " --generations 6 --verbose 0 --test-every 2 "
            "--history " + history);
    ASSERT_EQ(r.code, 0) << r.out;
    std::vector<std::string> after = column(history, 10);
    ASSERT_EQ(after.size(), 6u);
    for (size_t g = 0; g < 4; g++) EXPECT_EQ(after[g], before[g]) << "generation " << g + 1;
    EXPECT_NE(after[5], "nan") << "--test-every on the resumed generations";
}

// Round 2, item 12: several histories plot each run's centre if it has values, else its best:
// two GA histories (centre all nan) drew nothing and failed; a GA beside an ES drew no GA curve.
TEST(CliHardening, PlotOfSeveralRunsDrawsEachRunsCentreOrElseItsBest)
{
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot missing";
    std::string ga1 = ga_history("ga1.csv"), ga2 = ga_history("ga2.csv");
    std::string es = tmp_path("es.csv"), png = tmp_path("runs.png");
    Result r = run("evolve --data " + small_dataset() + " --layers 10:softmax --generations 3 "
                   "--strategy pgpe --population 8 --verbose 0 --history " + es);
    ASSERT_EQ(r.code, 0) << r.out;
    for (const std::string &pair : {ga1 + " " + ga2, ga1 + " " + es}) {
        unlink(png.c_str());
        r = run("plot " + pair + " -o " + png);
        EXPECT_EQ(r.code, 0) << pair << "\n" << r.out;
        EXPECT_FALSE(slurp(png).empty()) << pair;
        EXPECT_EQ(r.out.find("no valid points"), std::string::npos) << pair << "\n" << r.out;
    }
}

} // namespace
