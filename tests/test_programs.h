// Helpers for tests that run devo's programs: run one and capture its output and exit code, and
// write a small MNIST-format dataset.
#ifndef DEVO_TEST_PROGRAMS_H
#define DEVO_TEST_PROGRAMS_H

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_paths.h"

struct Result {
    int code;
    std::string out; // stdout and stderr together
};

// Starts a program (stdout and stderr into one pipe); finish_program collects it. Several may
// run at once.
inline FILE *start_program(const std::string &program, const std::string &args)
{
    return popen((program + " " + args + " 2>&1").c_str(), "r");
}

inline Result finish_program(FILE *p)
{
    Result r{-1, ""};
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
    int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

inline Result run_program(const std::string &program, const std::string &args)
{
    return finish_program(start_program(program, args));
}

// Writes split `split` of dir: n images of side x side pixels, 10 classes whose pixels are bright
// in a class-specific band of 3, so a linear model separates them.
inline void write_split(const std::string &dir, const char *split, uint32_t n, unsigned side)
{
    std::vector<unsigned char> img = {0, 0, 8, 3, 0, 0, (unsigned char)(n >> 8), (unsigned char)n,
                                      0, 0, 0, (unsigned char)side, 0, 0, 0, (unsigned char)side};
    std::vector<unsigned char> lab = {0, 0, 8, 1, 0, 0, (unsigned char)(n >> 8), (unsigned char)n};
    for (uint32_t i = 0; i < n; i++) {
        unsigned char cls = (unsigned char)(i % 10);
        lab.push_back(cls);
        for (unsigned px = 0; px < side * side; px++)
            img.push_back((unsigned char)(px / 3 == cls ? 200 + (i * 7 + px) % 50
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

// A small MNIST-like directory: 400 train images of 6x6 and 100 test images of
// test_side x test_side (6 unless a test wants a split of another size).
inline std::string small_dataset(unsigned test_side = 6)
{
    // One directory per process and shape: ctest runs tests in parallel processes.
    std::string dir = test_tmp() + "/cli-data-" + std::to_string(getpid()) +
                      (test_side == 6 ? "" : "-t" + std::to_string(test_side));
    make_dirs(dir);
    write_split(dir, "train", 400, 6);
    write_split(dir, "t10k", 100, test_side);
    return dir;
}

// A file's bytes ("" when it cannot be read).
inline std::string slurp(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A history CSV without its seconds column (the wall time, which differs between runs).
inline std::string history_without_seconds(const std::string &path)
{
    std::istringstream in(slurp(path));
    std::string line, out;
    // seconds is the 9th of the columns (devo evolve --history's header)
    while (std::getline(in, line)) {
        size_t at = 0;
        for (int c = 0; c < 8 && at != std::string::npos; c++) at = line.find(',', at + 1);
        size_t end = at == std::string::npos ? std::string::npos : line.find(',', at + 1);
        out += at == std::string::npos ? line + "\n"
                                       : line.substr(0, at) +
                                             (end == std::string::npos ? "" : line.substr(end)) +
                                             "\n";
    }
    return out;
}

#endif // DEVO_TEST_PROGRAMS_H
