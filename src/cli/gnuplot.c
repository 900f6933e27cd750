/*
 * gnuplot.c - runs gnuplot on a script (see gnuplot.h).
 */
#include "gnuplot.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

int cli_gnuplot(const char *script)
{
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) {
        fprintf(stderr, "devo: gnuplot is not installed; install it (apt-get install "
                        "gnuplot-nox) to draw plots\n");
        return 0;
    }
    FILE *pipe = popen("gnuplot", "w");
    if (!pipe) {
        fprintf(stderr, "devo: cannot start gnuplot\n");
        return 0;
    }
    fputs(script, pipe);
    int status = pclose(pipe);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "devo: gnuplot failed (exit status %d)\n",
                status == -1 ? -1 : WEXITSTATUS(status));
        return 0;
    }
    return 1;
}
