/*
 * output_path.h - the devo command's output files: checking before a long run that a
 * path can be written (--save, --history, and any later output flag), and saving a model
 * so that a write failing after the run does not lose it.
 */
#ifndef DEVO_CLI_OUTPUT_PATH_H
#define DEVO_CLI_OUTPUT_PATH_H

#include "devo.h"

/* 1 when a file can be written at `path`: it is not a directory, its directory exists and
 * takes a new file (probed by creating and removing "PATH.tmp-XXXXXX", the model writer's
 * own temporary name, so nothing is left behind), and an existing file there is writable.
 * Otherwise prints "devo: cannot write --FLAG 'PATH': why" and returns 0. */
int cli_check_writable(const char *flag, const char *path);

/* Saves m to path and prints "saved PATH". When that fails (the directory went away, the
 * disk filled during the run), saves m as devo-rescue-PID.safetensors in the current
 * directory, or else in $TMPDIR or /tmp, and prints the command that moves it into place;
 * when that fails too, prints how to get the model again. Returns 1 only when path was
 * written. */
int cli_save_model(const devo_model *m, const char *path);

#endif /* DEVO_CLI_OUTPUT_PATH_H */
