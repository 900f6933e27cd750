/*
 * cli_data.h - what the devo commands share about data: the targets a model's
 * loss expects from a dataset's labels, and reporting loss and accuracy.
 */
#ifndef DEVO_CLI_DATA_H
#define DEVO_CLI_DATA_H

#include "devo.h"

/* The installed Fashion-MNIST (Debian's dataset-fashion-mnist). */
#define DEVO_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

/* Targets in the layout m's loss expects: class indices for the sparse loss and for a
 * single output, one-hot rows otherwise. NULL when out of memory (message printed).
 * The caller frees the result. */
float *cli_targets(const devo_dataset *d, const devo_model *m);

/* Prints "NAME  loss L  accuracy A  (N samples)"; 0 on a failure (message printed). */
int cli_report_split(const char *name, const devo_model *m, const devo_dataset *d);

/* Prints "devo: " and the library's last error to stderr; returns exit code 1. */
int cli_library_failure(void);

#endif /* DEVO_CLI_DATA_H */
