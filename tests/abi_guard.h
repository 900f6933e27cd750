/*
 * abi_guard.h - guard bytes after a struct an older program hands to devo: devo must never
 * write past the layout that program was built with (abi_v01_program.c, abi_v02_program.c).
 */
#ifndef DEVO_ABI_GUARD_H
#define DEVO_ABI_GUARD_H

#include <stdio.h>

#define GUARD 0xA5
#define GUARD_BYTES 64

/* Nonzero when all GUARD_BYTES guard bytes are intact; else says which struct was overrun. */
static int guarded(const unsigned char *guard, const char *version, const char *what)
{
    for (int i = 0; i < GUARD_BYTES; i++)
        if (guard[i] != GUARD) {
            printf("devo wrote past the end of a %s %s\n", version, what);
            return 0;
        }
    return 1;
}

#endif /* DEVO_ABI_GUARD_H */
