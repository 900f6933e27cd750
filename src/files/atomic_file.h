/*
 * atomic_file.h - replacing a file atomically: write a locked temporary
 * "TARGET.tmp-XXXXXX" beside the target, then rename it over the target.
 * The target is the path, or where its chain of symlinks leads (the links stay
 * links). A new file gets 0666 & ~umask, a replaced one keeps its mode, and
 * temporaries of this naming that no live writer holds (left by a crash or a
 * kill) are removed first.
 */
#ifndef DEVO_ATOMIC_FILE_H
#define DEVO_ATOMIC_FILE_H

#include <stdio.h>

#include "devo.h"

typedef struct devo_atomic_file {
    char *target; /* the file replaced */
    char *temp;   /* the temporary written, locked (flock) while open */
    FILE *f;      /* write here */
} devo_atomic_file;

/* The file a write to path replaces: path, or where its chain of symlinks leads (which may
 * not exist yet); malloc'd, or NULL with errno set (ELOOP for a loop). */
char *devo_atomic_target(const char *path);

/* Opens the temporary for `path`; `fn` names the caller in messages. DEVO_ERR_IO or
 * DEVO_ERR_OUT_OF_MEMORY on failure (nothing is left behind). */
devo_status devo_atomic_begin(devo_atomic_file *a, const char *path, const char *fn);

/* Flushes, syncs and renames the temporary over the target; `ok` = 0 (a write failed)
 * aborts instead. On any failure the temporary is removed and DEVO_ERR_IO names it. */
devo_status devo_atomic_commit(devo_atomic_file *a, int ok, const char *fn);

#endif /* DEVO_ATOMIC_FILE_H */
