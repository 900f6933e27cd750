// Where tests write and read files, decided at run time rather than compiled in, so that the test
// binary runs from anywhere (the GPU check runs it from an unpacked bundle on a machine that has
// neither this build folder nor this source folder at their paths here):
//   test_tmp()          $DEVO_TEST_TMP, else $TMPDIR/devo-tests, else /tmp/devo-tests; created
//                       with all its parents on every call (ctest sets it to build/tests/tmp)
//   test_source(REL)    $DEVO_TEST_SOURCE/REL, else the source tree's path compiled in
//                       (DEVO_SOURCE_DIR), for the few inputs that live in the source tree
#ifndef DEVO_TEST_PATHS_H
#define DEVO_TEST_PATHS_H

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>

// Creates dir and every missing parent (mkdir -p); throws naming the folder when it cannot.
inline void make_dirs(const std::string &dir)
{
    for (size_t at = dir.find('/', 1);; at = dir.find('/', at + 1)) {
        std::string part = dir.substr(0, at);
        if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
            throw std::runtime_error("cannot create the test folder " + part);
        if (at == std::string::npos) return;
    }
}

inline std::string test_tmp()
{
    const char *set = getenv("DEVO_TEST_TMP");
    const char *tmpdir = getenv("TMPDIR");
    std::string dir = set && *set       ? std::string(set)
                      : tmpdir && *tmpdir ? std::string(tmpdir) + "/devo-tests"
                                          : std::string("/tmp/devo-tests");
    make_dirs(dir);
    return dir;
}

inline std::string test_source(const std::string &relative)
{
    const char *set = getenv("DEVO_TEST_SOURCE");
    return std::string(set && *set ? set : DEVO_SOURCE_DIR) + "/" + relative;
}

#endif // DEVO_TEST_PATHS_H
