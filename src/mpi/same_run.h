/*
 * same_run.h - every rank of an MPI run checks that it runs the same run as rank 0: the
 * architecture, the starting weights, every option that shapes the trajectory, the data's
 * fingerprint, and after a resume the generation and state. A rank started with other flags, other data or a stale
 * checkpoint would hang in a collective or score the population with another network; instead
 * every rank fails with one message naming the first difference. Private to libdevo_mpi.
 */
#ifndef DEVO_MPI_SAME_RUN_H
#define DEVO_MPI_SAME_RUN_H

#include <mpi.h>

#include "evolver.h"

/* Compares text ("key=value" lines) with rank 0's, on every rank of comm: DEVO_OK on all, or
 * DEVO_ERR_INVALID_ARGUMENT on all naming the first differing line of the first rank that
 * differs ("rank R: FN: rank R's KEY=... differs from rank 0's KEY=..."). Collective. */
devo_status devo_mpi_same(MPI_Comm comm, const char *text, const char *fn);

/* The lines of the run o and m describe: the architecture and every option that shapes the
 * trajectory (threads and verbose do not). malloc'd; NULL when out of memory. */
char *devo_mpi_run_text(const devo_evolve_options *o, const devo_model *m);

/* The run's lines of o and m, then a CRC-32 of m's weights (where every individual starts):
 * an evolver about to be created. malloc'd; NULL when out of memory. */
char *devo_mpi_start_text(const devo_evolve_options *o, const devo_model *m);

/* The run's lines of e, then its generation and a CRC-32 of its state (the answer, the last
 * fitness and ranking, an ES's distribution): a loaded evolver. malloc'd; NULL when out of
 * memory. */
char *devo_mpi_state_text(const devo_evolver *e);

#endif /* DEVO_MPI_SAME_RUN_H */
