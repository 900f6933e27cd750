/*
 * checkpoint.h - "devo evolve"'s checkpoints: when to write one (every N
 * generations, or after every generation that took more than a second, and
 * at the end), and --resume: which flags it allows and the options it continues
 * with. The path is checked for writing before a run by cli_check_writable.
 */
#ifndef DEVO_CLI_CHECKPOINT_H
#define DEVO_CLI_CHECKPOINT_H

#include <stddef.h>

#include "devo.h"

typedef struct cli_checkpoint {
    const char *path;       /* NULL: no checkpoints */
    size_t every;           /* 0: after every generation that took more than a second */
    devo_evolver *evolver;  /* the running evolver */
    double previous_seconds; /* the run's wall time at the previous generation */
    int failed;             /* a write failed (message printed): the run stops */
    int written;            /* path holds a checkpoint of this run (or the one resumed) */
    size_t written_generation; /* ... of this generation */
} cli_checkpoint;

/* After generation s: writes the checkpoint when one is due. Returns 0 when a write failed
 * (message printed; c->failed set). */
int cli_checkpoint_generation(cli_checkpoint *c, const devo_generation_stats *s);

/* Writes the checkpoint now (the end of a run); 0 on failure (message printed). */
int cli_checkpoint_write(cli_checkpoint *c);

/* Nonzero when argv (the command's arguments) holds --NAME or --NAME=VALUE. */
int cli_flag_given(int argc, char **argv, const char *name);

/* Nonzero when every flag in argv may be given with --resume (data, generations, threads,
 * verbose, save, history, checkpoint, checkpoint-every, resume, other-data, test-every); else
 * prints which flag the checkpoint fixes and returns 0. */
int cli_resume_flags_ok(int argc, char **argv);

/* The options to resume `path` with: the saved ones, with --generations, --threads and
 * --verbose taken from `parsed` when argv gives them. 0 on failure (message printed). */
int cli_resume_options(const char *path, int argc, char **argv,
                       const devo_evolve_options *parsed, devo_evolve_options *out);

#endif /* DEVO_CLI_CHECKPOINT_H */
