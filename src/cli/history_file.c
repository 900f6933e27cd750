/*
 * history_file.c - reading back a history CSV's test accuracy (see history_file.h).
 */
#include "history_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of a history CSV: generation is the 1st, test_accuracy the 11th and last. */
#define HISTORY_COLUMNS 11

double *cli_history_test_accuracy(const char *path, size_t generations)
{
    double *out = malloc((generations ? generations : 1) * sizeof *out);
    if (!out) return NULL;
    for (size_t g = 0; g < generations; g++) out[g] = NAN;
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f) return out;
    if (!fgets(line, sizeof line, f) || strncmp(line, "generation,", 11) != 0 ||
        !strstr(line, ",test_accuracy")) {
        fclose(f);
        return out;
    }
    while (fgets(line, sizeof line, f)) {
        char *fields[HISTORY_COLUMNS], *save = NULL;
        size_t count = 0;
        for (char *p = strtok_r(line, ",\n", &save); p && count < HISTORY_COLUMNS;
             p = strtok_r(NULL, ",\n", &save))
            fields[count++] = p;
        if (count != HISTORY_COLUMNS) continue;
        char *end = NULL;
        unsigned long long g = strtoull(fields[0], &end, 10);
        double accuracy = strtod(fields[HISTORY_COLUMNS - 1], NULL);
        if (*end == '\0' && g >= 1 && g <= generations) out[g - 1] = accuracy;
    }
    fclose(f);
    return out;
}
