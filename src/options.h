/*
 * options.h - validation of devo_evolve_options and the choice of backend.
 */
#ifndef DEVO_OPTIONS_H
#define DEVO_OPTIONS_H

#include "backend.h"

/* Checks every field the engine uses; `fn` names the caller in the message. */
devo_status devo_options_check(const devo_evolve_options *o, const char *fn);

/* The backend table for o->backend (AUTO: CUDA when built and a device is present). */
devo_status devo_options_backend(const devo_evolve_options *o, const devo_backend_i **out);

/* The CUDA device this process's backends use (0 unless set: libdevo_mpi gives each rank
 * local_rank % device_count). Process-wide. */
int devo_options_device(void);
void devo_options_set_device(int device);

#endif /* DEVO_OPTIONS_H */
