/*
 * abi.h - what the entry points kept for older headers share (abi_v1.c, abi_v2.c): an older
 * program's devo_evolve_options is a prefix of today's, `bytes` long. Private.
 */
#ifndef DEVO_ABI_H
#define DEVO_ABI_H

#include <stddef.h>

#include "devo.h"

/* The defaults' first `bytes` bytes into o (an older program's options); NULL is ignored. */
void devo_abi_options_init(void *o, size_t bytes);

/* Today's options from an older program's (its `bytes`, today's defaults after them) in *full;
 * NULL for NULL (the defaults). */
const devo_evolve_options *devo_abi_widen(const void *opt, size_t bytes,
                                          devo_evolve_options *full);

#endif /* DEVO_ABI_H */
