/*
 * cli_mpi.c - "devo evolve" under mpirun (see cli_mpi.h). DEVO_HAVE_MPI is
 * defined when devo was built with MPI.
 */
#include "cli_mpi.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef DEVO_HAVE_MPI
#include "devo_mpi.h"

static int active = 0, rank = 0, size = 1;

void cli_mpi_start(void)
{
    // Open MPI's mpirun (or any PMI launcher) marks its processes in the environment.
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK")) return;
    MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    active = 1;
    if (rank != 0 && !freopen("/dev/null", "w", stdout)) fclose(stdout);
}

int cli_mpi_finish(int code)
{
    if (!active) return code;
    fflush(stdout);
    fflush(stderr);
    if (code != 0) MPI_Abort(MPI_COMM_WORLD, code); // no rank may be left in a collective
    MPI_Finalize();
    return code;
}

int cli_mpi_root(void) { return rank == 0; }

devo_status cli_mpi_agree(devo_status status)
{
    return active ? devo_mpi_agree(MPI_COMM_WORLD, status) : status;
}

int cli_mpi_max(int value)
{
    if (active) MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return value;
}

int cli_mpi_any(int flag) { return cli_mpi_max(flag != 0); }

devo_status cli_evolver_create(devo_evolver **out, const devo_model *m,
                               const devo_evolve_options *opt)
{
    return active ? devo_evolver_create_mpi(out, MPI_COMM_WORLD, m, opt)
                  : devo_evolver_create(out, m, opt);
}

devo_status cli_evolver_load_state(devo_evolver **out, const char *path,
                                   const devo_evolve_options *opt)
{
    return active ? devo_evolver_load_state_mpi(out, MPI_COMM_WORLD, path, opt)
                  : devo_evolver_load_state(out, path, opt);
}

void cli_mpi_report(const devo_evolver *e, size_t generations)
{
    uint64_t sent = 0, received = 0;
    size_t P = 0, D = 0;
    if (!active || generations == 0 || devo_evolver_mpi_traffic(e, &sent, &received) != DEVO_OK ||
        devo_evolver_ask((devo_evolver *)e, NULL, &P, &D) != DEVO_OK)
        return;
    printf("mpi   %d ranks; rank 0 per generation: sent %.0f B, received %.0f B "
           "(P x D = %zu x %zu floats = %.0f B)\n", size, (double)sent / (double)generations,
           (double)received / (double)generations, P, D, 4.0 * (double)P * (double)D);
}
#else
void cli_mpi_start(void) {}
int cli_mpi_finish(int code) { return code; }
int cli_mpi_root(void) { return 1; }
devo_status cli_mpi_agree(devo_status status) { return status; }
int cli_mpi_max(int value) { return value; }
int cli_mpi_any(int flag) { return flag; }
devo_status cli_evolver_create(devo_evolver **out, const devo_model *m,
                               const devo_evolve_options *opt)
{
    return devo_evolver_create(out, m, opt);
}
devo_status cli_evolver_load_state(devo_evolver **out, const char *path,
                                   const devo_evolve_options *opt)
{
    return devo_evolver_load_state(out, path, opt);
}
void cli_mpi_report(const devo_evolver *e, size_t generations)
{
    (void)e;
    (void)generations;
}
#endif
