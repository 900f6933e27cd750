/*
 * cli_mpi.h - "devo evolve" under mpirun: when devo was built with MPI and the
 * environment says mpirun started it, the run is spread over MPI_COMM_WORLD
 * (libdevo_mpi) by itself. Every rank loads the data by path; rank 0 alone
 * prints to stdout and writes --save and --history; checkpoints are written by
 * rank 0. A failure on any rank ends every rank (MPI_Abort) with that rank's
 * message: no rank is left waiting. Without MPI these are one-process no-ops.
 */
#ifndef DEVO_CLI_MPI_H
#define DEVO_CLI_MPI_H

#include "devo.h"

/* Starts MPI when run under mpirun (and built with it); nonzero ranks' stdout is dropped. */
void cli_mpi_start(void);

/* Ends MPI: MPI_Finalize after exit code 0, MPI_Abort(code) otherwise. Returns code. */
int cli_mpi_finish(int code);

/* Nonzero in the process that writes files and prints (rank 0, or the only process). */
int cli_mpi_root(void);

/* status agreed over the ranks (the first failing rank's, message prefixed). */
devo_status cli_mpi_agree(devo_status status);

/* The largest of every rank's value. */
int cli_mpi_max(int value);

/* Nonzero when flag is nonzero on any rank. */
int cli_mpi_any(int flag);

/* devo_evolver_create and devo_evolver_load_state, spread over the ranks under mpirun. */
devo_status cli_evolver_create(devo_evolver **out, const devo_model *m,
                               const devo_evolve_options *opt);
devo_status cli_evolver_load_state(devo_evolver **out, const char *path,
                                   const devo_evolve_options *opt);

/* Under mpirun: prints the ranks and rank 0's traffic per generation beside P x D. */
void cli_mpi_report(const devo_evolver *e, size_t generations);

#endif /* DEVO_CLI_MPI_H */
