/*
 * gnuplot.c - runs gnuplot on a script with its strings as arguments (see gnuplot.h).
 */
#include "gnuplot.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char *cli_gnuplot_file_name(const char *path)
{
    const char *prefix = path[0] == '/' ? "" : "./";
    size_t size = strlen(prefix) + strlen(path) + 1;
    char *name = malloc(size);
    if (name) snprintf(name, size, "%s%s", prefix, path);
    return name;
}

/* Writes all of text to fd; 0 on a failure (gnuplot gone: SIGPIPE is ignored meanwhile). */
static int write_all(int fd, const char *text)
{
    void (*previous)(int) = signal(SIGPIPE, SIG_IGN);
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t wrote = write(fd, text, left);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) break;
        text += wrote;
        left -= (size_t)wrote;
    }
    signal(SIGPIPE, previous);
    return left == 0;
}

/* Starts gnuplot with the read end of `pipe_fds` as stdin; its pid, or -1 (message printed). */
static pid_t start_gnuplot(const int pipe_fds[2], const char *const *args, size_t count)
{
    char *argv[13] = {"gnuplot", "-c", "/dev/stdin"};
    for (size_t i = 0; i < count; i++) argv[3 + i] = (char *)args[i];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
    pid_t pid;
    int error = posix_spawnp(&pid, "gnuplot", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error == ENOENT) {
        fprintf(stderr, "devo: gnuplot is not installed; install it (apt-get install "
                        "gnuplot-nox) to draw plots\n");
        return -1;
    }
    if (error) {
        fprintf(stderr, "devo: cannot start gnuplot: %s\n", strerror(error));
        return -1;
    }
    return pid;
}

int cli_gnuplot_run(const char *script, const char *const *args, size_t count, const char *output)
{
    if (count > 9) return 0; // gnuplot has ARG1..ARG9
    if (output) unlink(output); // so that a stale file is not taken for gnuplot's
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
        fprintf(stderr, "devo: cannot start gnuplot: %s\n", strerror(errno));
        return 0;
    }
    pid_t pid = start_gnuplot(pipe_fds, args, count);
    close(pipe_fds[0]);
    int written = pid > 0 && write_all(pipe_fds[1], script);
    close(pipe_fds[1]);
    if (pid <= 0) return 0;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return 0;
    if (!written || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "devo: gnuplot failed (%s %d); its message is above\n",
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return 0;
    }
    struct stat st;
    if (output && (stat(output, &st) != 0 || st.st_size == 0)) {
        fprintf(stderr, "devo: gnuplot exited 0 but did not write '%s'\n", output);
        return 0;
    }
    return 1;
}

