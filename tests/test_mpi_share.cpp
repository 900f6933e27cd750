// The cut of P population slots into R contiguous shares (src/base/share.h, no MPI needed):
// the shares tile [0, P) in rank order, differ by at most one slot, and devo_share_owner
// names the rank whose share holds each slot.
#include <gtest/gtest.h>

#include "share.h"

TEST(MpiShare, SharesTileThePopulationAndDifferByAtMostOne)
{
    for (size_t P = 1; P <= 40; P++) {
        for (int R = 1; R <= 9; R++) {
            size_t next = 0, smallest = P, largest = 0;
            for (int r = 0; r < R; r++) {
                size_t first, count;
                devo_share(P, R, r, &first, &count);
                ASSERT_EQ(first, next) << P << " " << R << " " << r;
                for (size_t s = first; s < first + count; s++)
                    ASSERT_EQ(devo_share_owner(s, P, R), r) << P << " " << R << " " << s;
                next = first + count;
                smallest = std::min(smallest, count);
                largest = std::max(largest, count);
            }
            EXPECT_EQ(next, P) << P << " " << R;
            EXPECT_LE(largest - smallest, 1u) << P << " " << R;
        }
    }
}
