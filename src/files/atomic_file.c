/*
 * atomic_file.c - devo_atomic_begin and devo_atomic_commit (see atomic_file.h).
 * A writer holds flock(LOCK_EX) on its temporary until the rename; a cleaner
 * removes a temporary only when it can take that lock, so it never removes a
 * live one, and a writer that lost its file to a cleaner (before it locked)
 * notices and starts again under a new name.
 */
#define _DEFAULT_SOURCE /* flock */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

#define DEVO_TEMP_TAG ".tmp-"
#define DEVO_TEMP_SUFFIX 6 /* characters after the tag */
#define DEVO_MAX_SYMLINKS 40
#define DEVO_TEMP_ATTEMPTS 100

static const char suffix_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* The directory part of path ("." when none), malloc'd. */
static char *directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(len + 1);
    if (dir) {
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    return dir;
}

char *devo_atomic_target(const char *path)
{
    char *current = strdup(path);
    for (int hops = 0; current && hops <= DEVO_MAX_SYMLINKS; hops++) {
        struct stat st;
        if (lstat(current, &st) != 0 || !S_ISLNK(st.st_mode)) return current;
        size_t size = (size_t)st.st_size + 1;
        char *link = malloc(size + 1);
        ssize_t len = link ? readlink(current, link, size) : -1;
        if (len < 0 || (size_t)len >= size) {
            free(link);
            free(current);
            if (len >= 0) errno = ENAMETOOLONG; // the link changed under us
            return NULL;
        }
        link[len] = '\0';
        char *next = NULL, *dir = link[0] == '/' ? NULL : directory_of(current);
        if (link[0] == '/') next = strdup(link);
        else if (dir && (next = malloc(strlen(dir) + strlen(link) + 2)))
            sprintf(next, "%s/%s", dir, link);
        free(dir);
        free(link);
        free(current);
        current = next;
    }
    if (current) {
        free(current);
        errno = ELOOP;
    }
    return NULL;
}

/* Whether name is base + ".tmp-" + 6 characters of the suffix alphabet. */
static int is_temp_of(const char *name, const char *base)
{
    size_t len = strlen(base), tag = strlen(DEVO_TEMP_TAG);
    if (strncmp(name, base, len) != 0 || strncmp(name + len, DEVO_TEMP_TAG, tag) != 0) return 0;
    const char *suffix = name + len + tag;
    if (strlen(suffix) != DEVO_TEMP_SUFFIX) return 0;
    return strspn(suffix, suffix_alphabet) == DEVO_TEMP_SUFFIX;
}

/* Removes target's temporaries that no writer holds. Best effort: errors are ignored. */
static void remove_stale_temps(const char *target)
{
    char *dir = directory_of(target);
    const char *slash = strrchr(target, '/'), *base = slash ? slash + 1 : target;
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *entry;
    while (d && (entry = readdir(d)) != NULL) {
        if (!is_temp_of(entry->d_name, base)) continue;
        char *temp = malloc(strlen(dir) + strlen(entry->d_name) + 2);
        if (!temp) break;
        sprintf(temp, "%s/%s", dir, entry->d_name);
        int fd = open(temp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        struct stat held, named;
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &held) == 0 &&
            lstat(temp, &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev && S_ISREG(held.st_mode))
            unlink(temp);
        if (fd >= 0) close(fd);
        free(temp);
    }
    if (d) closedir(d);
    free(dir);
}

/* A fresh 6-character suffix: not a random draw of a run, only a name unlikely to be taken. */
static void next_suffix(char *out)
{
    static _Thread_local uint64_t counter;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t z = ((uint64_t)getpid() << 32) ^ (uint64_t)now.tv_nsec ^
                 ((uint64_t)now.tv_sec << 20) ^ (++counter * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull; // splitmix64's finaliser
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (int i = 0; i < DEVO_TEMP_SUFFIX; i++) {
        out[i] = suffix_alphabet[z % (sizeof suffix_alphabet - 1)];
        z /= sizeof suffix_alphabet - 1;
    }
    out[DEVO_TEMP_SUFFIX] = '\0';
}

/* Creates and locks a new temporary beside target into a->temp; the fd, or -1 with errno. */
static int create_temp(devo_atomic_file *a)
{
    for (int attempt = 0; attempt < DEVO_TEMP_ATTEMPTS; attempt++) {
        char suffix[DEVO_TEMP_SUFFIX + 1];
        next_suffix(suffix);
        sprintf(a->temp, "%s%s%s", a->target, DEVO_TEMP_TAG, suffix);
        int fd = open(a->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666); // umask applies
        if (fd < 0) {
            if (errno == EEXIST) continue;
            return -1;
        }
        struct stat held, named;
        if (flock(fd, LOCK_EX) == 0 && fstat(fd, &held) == 0 && lstat(a->temp, &named) == 0 &&
            held.st_ino == named.st_ino && held.st_dev == named.st_dev)
            return fd;
        close(fd); // a cleaner took it between open and flock: try another name
    }
    errno = EEXIST;
    return -1;
}

devo_status devo_atomic_begin(devo_atomic_file *a, const char *path, const char *fn)
{
    memset(a, 0, sizeof *a);
    a->target = devo_atomic_target(path);
    if (!a->target)
        return devo_fail(errno == ENOMEM ? DEVO_ERR_OUT_OF_MEMORY : DEVO_ERR_IO,
                         "%s: cannot follow the symlinks of %s: %s", fn, path, strerror(errno));
    a->temp = malloc(strlen(a->target) + strlen(DEVO_TEMP_TAG) + DEVO_TEMP_SUFFIX + 1);
    if (!a->temp) {
        free(a->target);
        return devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    }
    struct stat existing;
    int exists = stat(a->target, &existing) == 0;
    if (exists && S_ISDIR(existing.st_mode)) {
        devo_status status =
            devo_fail(DEVO_ERR_IO, "%s: %s is a directory; name a file to write", fn, path);
        free(a->target);
        free(a->temp);
        return status;
    }
    remove_stale_temps(a->target);
    int fd = create_temp(a);
    if (fd >= 0 && exists) fchmod(fd, existing.st_mode & 07777);
    a->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!a->f) {
        int saved_errno = errno;
        if (fd >= 0) {
            unlink(a->temp);
            close(fd);
        }
        devo_status status = devo_fail(DEVO_ERR_IO, "%s: cannot create %s%sXXXXXX: %s", fn,
                                       a->target, DEVO_TEMP_TAG, strerror(saved_errno));
        free(a->target);
        free(a->temp);
        return status;
    }
    return DEVO_OK;
}

devo_status devo_atomic_commit(devo_atomic_file *a, int ok, const char *fn)
{
    devo_status status = DEVO_OK;
    ok = ok && fflush(a->f) == 0 && fsync(fileno(a->f)) == 0;
    int saved_errno = errno;
    // The rename happens while the lock is held, so no cleaner sees a finished temporary.
    if (!ok)
        status = devo_fail(DEVO_ERR_IO, "%s: cannot write %s: %s", fn, a->temp,
                           strerror(saved_errno));
    else if (rename(a->temp, a->target) != 0)
        status = devo_fail(DEVO_ERR_IO, "%s: cannot rename %s to %s: %s", fn, a->temp,
                           a->target, strerror(errno));
    if (fclose(a->f) != 0 && status == DEVO_OK)
        status = devo_fail(DEVO_ERR_IO, "%s: cannot write %s: %s", fn, a->target,
                           strerror(errno));
    if (status != DEVO_OK) unlink(a->temp);
    free(a->target);
    free(a->temp);
    memset(a, 0, sizeof *a);
    return status;
}
