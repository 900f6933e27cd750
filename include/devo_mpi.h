/*
 * devo_mpi.h - devo runs spread over the processes of an MPI communicator
 * (libdevo_mpi, a static library built when MPI is found: -DDEVO_MPI). The
 * companion of devo.h, which never includes mpi.h.
 *
 * How a run is spread over R ranks: the population's P slots are cut into R
 * contiguous shares that differ by at most one slot. Each generation, every
 * rank evaluates its share, the P fitnesses are all-gathered, every rank ranks
 * them identically, the owners of the top_k elites broadcast them (k x D
 * floats), and each rank breeds only its own share: every child is drawn from
 * (seed, generation, slot), so no rank sends what another can regenerate.
 * Nothing of size P x D crosses per generation; a rank's traffic is O(P + k*D).
 * An evolution strategy's ranks send only fitnesses: each updates the same centre
 * from the P gathered ones and regenerates every perturbation; traffic O(P).
 * The result (final model, history but wall time) is bit-identical to
 * devo_fit_evolve in one process, for any rank count.
 *
 * Every function here is collective over comm. A failure on any rank (a bad
 * argument, an allocation refused, a backend error) is agreed: every rank
 * returns that rank's status with its message prefixed "rank R: ", never a hang.
 * With the CUDA backend each rank takes device local_rank % device_count (the code path
 * exists; no multi-GPU run has been made). Each rank allocates the backend's full P x D
 * population but computes only its share and the elites, so devo_evolver_ask on a spread
 * evolver shows valid rows only there; use these evolvers through devo_evolver_fit.
 */
#ifndef DEVO_MPI_H
#define DEVO_MPI_H

#include <mpi.h>

#include "devo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* devo_fit_evolve over comm. Rank 0's data is broadcast: its x, y, n, the weights of its m
 * and its options' trajectory fields (all but verbose, threads and the callbacks); other
 * ranks may pass x = y = NULL and any n. Every rank passes a compiled m of the same
 * architecture, which receives the result, and its own callbacks and hist (both get every
 * generation). Only rank 0 reports (verbose). */
devo_status devo_fit_evolve_mpi(MPI_Comm comm, devo_model *m, const float *x, const float *y,
                                size_t n, const devo_evolve_options *opt, devo_history *hist);

/* An evolver spread over comm, for devo_evolver_fit on every rank with the same data (each
 * rank loads it itself, e.g. by path). Every rank passes the same model and options
 * (DEVO_ERR_INVALID_ARGUMENT if a trajectory field differs from rank 0's). The first
 * population is made on every rank from the seed. devo_evolver_save_state on it is
 * collective: the population is gathered into rank 0, which writes the file. */
devo_status devo_evolver_create_mpi(devo_evolver **out, MPI_Comm comm, const devo_model *m,
                                    const devo_evolve_options *opt);

/* devo_evolver_load_state on every rank of comm (each reads path), spread over comm: a state
 * saved under any rank count (or by one process) resumes under any other. */
devo_status devo_evolver_load_state_mpi(devo_evolver **out, MPI_Comm comm, const char *path,
                                        const devo_evolve_options *overrides);

/* Payload bytes this rank has put into (sent) and taken from (received) the run's
 * collectives since the evolver was made: its share of fitnesses and the elites it holds,
 * others' fitnesses and the elites it lacks (and agreement words, and checkpoints'
 * population gathers). DEVO_ERR_INVALID_ARGUMENT for an evolver not made here. */
devo_status devo_evolver_mpi_traffic(const devo_evolver *e, uint64_t *sent, uint64_t *received);

/* `status` agreed over comm: DEVO_OK if every rank passes DEVO_OK, else the status of the
 * lowest failing rank with its devo_last_error() message, prefixed "rank R: ", on every rank. */
devo_status devo_mpi_agree(MPI_Comm comm, devo_status status);

#ifdef __cplusplus
}
#endif

#endif /* DEVO_MPI_H */
