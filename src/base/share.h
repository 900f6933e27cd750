/*
 * share.h - how P population slots are cut into R contiguous shares that
 * differ by at most one slot (the first P % R ranks hold one more), and which
 * rank holds a slot: the part of a population each MPI process evaluates and
 * holds. Header-only, no MPI: the unit tests check it directly.
 */
#ifndef DEVO_SHARE_H
#define DEVO_SHARE_H

#include <stddef.h>

/* Rank r's slots: [*first, *first + *count). */
static inline void devo_share(size_t P, int R, int r, size_t *first, size_t *count)
{
    size_t base = P / (size_t)R, extra = P % (size_t)R, rank = (size_t)r;
    *first = rank * base + (rank < extra ? rank : extra);
    *count = base + (rank < extra ? 1 : 0);
}

/* The rank whose share holds slot (< P). */
static inline int devo_share_owner(size_t slot, size_t P, int R)
{
    size_t base = P / (size_t)R, extra = P % (size_t)R;
    if (slot < extra * (base + 1)) return (int)(slot / (base + 1));
    return (int)(extra + (slot - extra * (base + 1)) / base);
}

#endif /* DEVO_SHARE_H */
