/*
 * history_file.h - what "devo evolve --history" wrote before: a resumed run rewrites its
 * history from the checkpoint, which has no test accuracy, so the recorded column is read
 * back from the file first.
 */
#ifndef DEVO_CLI_HISTORY_FILE_H
#define DEVO_CLI_HISTORY_FILE_H

#include <stddef.h>

/* The test_accuracy column of the history CSV at path for generations 1..generations, as
 * out[g - 1] (generations doubles, malloc'd; free it): NaN for a generation the file lacks,
 * and all NaN when the file is absent or not a devo history. NULL when out of memory. */
double *cli_history_test_accuracy(const char *path, size_t generations);

#endif /* DEVO_CLI_HISTORY_FILE_H */
