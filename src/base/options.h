/*
 * options.h - validation of devo_evolve_options and where a run may run (CPU or CUDA).
 */
#ifndef DEVO_OPTIONS_H
#define DEVO_OPTIONS_H

#include "device.h"

/* Checks every field the engine uses; `fn` names the caller in the message. */
devo_status devo_options_check(const devo_evolve_options *o, const char *fn);

/* Nonzero when o scores individuals with the caller's function (fitness_fn or
 * batch_fitness_fn) rather than a built-in fitness. */
int devo_options_custom_fitness(const devo_evolve_options *o);

/* Where o runs: DEVO_BACKEND_CPU or DEVO_BACKEND_CUDA (AUTO: CUDA when built and a device is
 * present); DEVO_ERR_UNSUPPORTED, saying why, when o asks for CUDA and it cannot run. */
devo_status devo_options_resolve_backend(const devo_evolve_options *o, devo_backend *out);

/* The device o runs on: the CPU's, or CUDA's (devo_options_resolve_backend). */
devo_status devo_options_device_table(const devo_evolve_options *o, const devo_device_i **out);

/* The CUDA device this process's backends use (0 unless set: libdevo_mpi gives each rank
 * local_rank % device_count). Process-wide. */
int devo_options_device(void);
void devo_options_set_device(int device);

#endif /* DEVO_OPTIONS_H */
