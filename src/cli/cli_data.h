/*
 * cli_data.h - what the devo commands share about data: loading a split and checking
 * that its samples have the model's width, the targets a model's loss expects from a
 * dataset's labels, and reporting loss and accuracy.
 */
#ifndef DEVO_CLI_DATA_H
#define DEVO_CLI_DATA_H

#include "devo.h"

/* The installed Fashion-MNIST (Debian's dataset-fashion-mnist). */
#define DEVO_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

/* Loads split `split` ("train", "t10k") of dir into *out; `name` names it in messages ("test").
 * With m, checks that its samples have m's input width (the library reads every array with it).
 * An `optional` split whose files are absent (DEVO_ERR_IO) leaves *out NULL with a note and
 * succeeds. Returns 0 (message printed, *out NULL) on a failure. */
int cli_load_split(devo_dataset **out, const char *dir, const char *split, const char *name,
                   const devo_model *m, int optional);

/* 1 when d's samples have m's input width; otherwise prints which split differs and returns 0. */
int cli_check_width(const devo_model *m, const devo_dataset *d, const char *name);

/* Targets in the layout m's loss expects: class indices for the sparse loss and for a
 * single output, one-hot rows otherwise. NULL when out of memory (message printed).
 * The caller frees the result. */
float *cli_targets(const devo_dataset *d, const devo_model *m);

/* Prints "NAME  loss L  accuracy A  (N samples)" after checking d's width; 0 on a failure
 * (message printed). */
int cli_report_split(const char *name, const devo_model *m, const devo_dataset *d);

/* Prints "devo: " and the library's last error to stderr; returns exit code 1. */
int cli_library_failure(void);

#endif /* DEVO_CLI_DATA_H */
