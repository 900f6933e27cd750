// The verbose output of a run (src/engine/report.c): the time left for any ETA, huge and non-finite
// ones included (a cast of a huge double to int was undefined behaviour), and the plain lines
// that replace the '\r' progress bar when stderr is not a terminal.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <string>

extern "C" {
#include "report.h"
}

namespace {

std::string eta(double seconds)
{
    char buf[32];
    devo_format_eta(seconds, buf, sizeof buf);
    return buf;
}

TEST(Report, EtaOfAnyLengthIsFormattedWithoutOverflow)
{
    EXPECT_EQ(eta(0.0), "00:00");
    EXPECT_EQ(eta(59.9), "00:59");
    EXPECT_EQ(eta(61.0), "01:01");
    EXPECT_EQ(eta(3599.5), "59:59");
    EXPECT_EQ(eta(3600.0), "1:00:00");
    EXPECT_EQ(eta(1e7), "2777:46:40");
    EXPECT_EQ(eta(9999.0 * 3600 + 3598.5), "9999:59:58");
    EXPECT_EQ(eta(9999.0 * 3600 + 3599.0), ">9999h");
    for (double huge : {1e10, 4.3e18, 1e300, DBL_MAX}) EXPECT_EQ(eta(huge), ">9999h") << huge;
    for (double unknown : {(double)NAN, (double)INFINITY, -(double)INFINITY, -1.0, -1e300})
        EXPECT_EQ(eta(unknown), "--:--") << unknown;
}

// Runs body with stderr sent to a file (not a terminal) and returns what it wrote.
template <typename Body> std::string capture_stderr(Body body)
{
    fflush(stderr);
    int saved = dup(fileno(stderr));
    FILE *f = tmpfile();
    dup2(fileno(f), fileno(stderr));
    body();
    fflush(stderr);
    dup2(saved, fileno(stderr));
    close(saved);
    std::string text;
    rewind(f);
    for (int c; (c = fgetc(f)) != EOF;) text += (char)c;
    fclose(f);
    return text;
}

devo_generation_stats generation(size_t g, size_t total, double seconds)
{
    devo_generation_stats s{};
    s.generation = g;
    s.max_generations = total;
    s.best = -0.25;
    s.seconds = seconds;
    return s;
}

TEST(Report, AHugeEtaIsClampedInTheProgressLine)
{
    // One generation of 4294967294 in a billion seconds: 4.3e18 s left.
    std::string out = capture_stderr([] {
        devo_generation_stats s = generation(1, 4294967294u, 1e9);
        devo_report_generation(&s, 2);
        devo_report_finish(2);
    });
    EXPECT_NE(out.find("1/4294967294 best -0.25  0.00 gen/s  >9999h left\n"), std::string::npos)
        << out;
}

size_t count(const std::string &text, char c)
{
    return (size_t)std::count(text.begin(), text.end(), c);
}

TEST(Report, OffATerminalProgressIsAPlainLineEveryFewSeconds)
{
    // 100 generations of half a second: the first, one per 5 s, and the last; no '\r'.
    std::string out = capture_stderr([] {
        for (size_t g = 1; g <= 100; g++) {
            devo_generation_stats s = generation(g, 100, 0.5 * (double)g);
            devo_report_generation(&s, 2);
        }
        devo_report_finish(2);
    });
    EXPECT_EQ(count(out, '\r'), 0u) << out;
    EXPECT_EQ(count(out, '\n'), 11u) << out; // at 0.5, 5.5, 10.5, ..., 45.5 s, and 50 s
    EXPECT_NE(out.find("[#"), std::string::npos) << out;
    EXPECT_NE(out.find("] 100/100 best -0.25  2.00 gen/s  00:00 left\n"), std::string::npos) << out;
    // A run stopped early (Ctrl-C) still ends with its last generation's line.
    out = capture_stderr([] {
        for (size_t g = 1; g <= 7; g++) {
            devo_generation_stats s = generation(g, 100, 0.1 * (double)g);
            devo_report_generation(&s, 2);
        }
        devo_report_finish(2);
    });
    EXPECT_EQ(count(out, '\n'), 2u) << out;
    EXPECT_NE(out.find("] 1/100 "), std::string::npos) << out;
    EXPECT_NE(out.find("] 7/100 "), std::string::npos) << out;
}

} // namespace
