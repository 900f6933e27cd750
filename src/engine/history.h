/*
 * history.h - a growable devo_history: the per-generation records an evolver
 * keeps (and a state file holds), appended one generation at a time. Private.
 */
#ifndef DEVO_HISTORY_H
#define DEVO_HISTORY_H

#include "devo.h"

/* Makes room for at least `count` records in h (holding `*capacity` now). */
devo_status devo_history_reserve(devo_history *h, size_t *capacity, size_t count);

/* Appends s as record h->generations; the room must have been reserved. */
void devo_history_append(devo_history *h, const devo_generation_stats *s);

/* Record g of h as statistics (max_generations left 0). */
void devo_history_row(const devo_history *h, size_t g, devo_generation_stats *s);

/* *dst (zeroed or a devo history: freed first) becomes a copy of src. */
devo_status devo_history_copy(devo_history *dst, const devo_history *src);

#endif /* DEVO_HISTORY_H */
