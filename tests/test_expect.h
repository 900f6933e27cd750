// expect_error: a call failed with the wanted status and a message naming every given word.
#ifndef DEVO_TEST_EXPECT_H
#define DEVO_TEST_EXPECT_H

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "devo.h"

inline void expect_error(devo_status got, devo_status want,
                         const std::vector<std::string> &mentions)
{
    EXPECT_EQ(got, want) << devo_status_string(got) << ": " << devo_last_error();
    for (const std::string &word : mentions)
        EXPECT_NE(std::string(devo_last_error()).find(word), std::string::npos)
            << "message '" << devo_last_error() << "' does not mention '" << word << "'";
}

#endif // DEVO_TEST_EXPECT_H
