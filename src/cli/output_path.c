/*
 * output_path.c - checking output paths before a run and rescuing a model whose save
 * fails after it (see output_path.h).
 */
#include "output_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

/* Prints "devo: cannot write --FLAG 'PATH': " and the reason; returns 0. */
static int refuse(const char *flag, const char *path, const char *why, const char *detail)
{
    fprintf(stderr, "devo: cannot write --%s '%s': %s%s\n", flag, path, why, detail);
    return 0;
}

/* 1 when the directory path names a file in exists ("." for a bare name). */
static int parent_exists(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(len + 2);
    if (!dir) return 0;
    snprintf(dir, len + 2, "%.*s", (int)len, len ? path : ".");
    struct stat st;
    int exists = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    return exists;
}

/* Checks that `path`, the file a write to `shown` replaces, can be written beside. */
static int check_target(const char *flag, const char *shown, const char *path)
{
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return refuse(flag, shown, "it is a directory; name a file in it", "");
    size_t size = strlen(path) + sizeof ".tmp-XXXXXX";
    char *probe = malloc(size);
    if (!probe) return refuse(flag, shown, "out of memory", "");
    snprintf(probe, size, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(probe);
    int error = errno;
    if (fd >= 0) {
        close(fd);
        unlink(probe);
    }
    free(probe);
    if (fd < 0 && error == ENOENT && !parent_exists(path))
        return refuse(flag, shown, strcmp(shown, path) ? "the directory its link leads to does "
                                                         "not exist"
                                                       : "its directory does not exist", "");
    if (fd < 0) return refuse(flag, shown, "cannot create a file beside it: ", strerror(error));
    if (exists && access(path, W_OK) != 0)
        return refuse(flag, shown, "the file is not writable: ", strerror(errno));
    return 1;
}

/* Checks the file a write to path really replaces (check_target); path names it. */
static int check_target(const char *flag, const char *path, const char *target);

int cli_check_writable(const char *flag, const char *path)
{
    if (path[0] == '\0') return refuse(flag, path, "the path is empty", "");
    // The write follows symlinks (atomic_file.h): probe where it will really go.
    char *target = devo_atomic_target(path);
    if (!target)
        return refuse(flag, path, "its symlinks lead nowhere: ", strerror(errno));
    int ok = check_target(flag, path, target);
    free(target);
    return ok;
}

/* Prints path in single quotes as a POSIX shell reads it back ("'it'\''s'"). */
static void print_shell_quoted(const char *path)
{
    putc('\'', stderr);
    for (const char *c = path; *c; c++) {
        if (*c == '\'') fputs("'\\''", stderr);
        else putc(*c, stderr);
    }
    putc('\'', stderr);
}

/* Writes m to a rescue file; returns its malloc'ed path, or NULL when no place took it. */
static char *save_rescue(const devo_model *m)
{
    char cwd[4096];
    const char *tmp = getenv("TMPDIR");
    const char *dirs[] = {getcwd(cwd, sizeof cwd), tmp && tmp[0] ? tmp : "/tmp", "/tmp"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (!dirs[i]) continue;
        size_t size = strlen(dirs[i]) + 64;
        char *rescue = malloc(size);
        if (!rescue) return NULL;
        snprintf(rescue, size, "%s/devo-rescue-%ld.safetensors", dirs[i], (long)getpid());
        if (devo_model_save(m, rescue) == DEVO_OK) return rescue;
        free(rescue);
    }
    return NULL;
}

int cli_save_model(const devo_model *m, const char *path)
{
    if (devo_model_save(m, path) == DEVO_OK) {
        printf("saved %s\n", path);
        return 1;
    }
    fprintf(stderr, "devo: %s\n", devo_last_error());
    char *rescue = save_rescue(m);
    if (rescue) {
        fprintf(stderr, "devo: the evolved model is saved in %s instead; to put it in place:\n"
                        "  mv ", rescue);
        print_shell_quoted(rescue);
        putc(' ', stderr);
        print_shell_quoted(path);
        putc('\n', stderr);
        free(rescue);
    } else {
        fprintf(stderr, "devo: no directory took the model either (the current one, $TMPDIR, "
                        "/tmp); the same command with the same --seed and a writable --save "
                        "evolves it again\n");
    }
    return 0;
}
