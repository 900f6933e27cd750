/*
 * args.c - the devo command's flag parser (see args.h).
 */
#include "args.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_print_usage(const cli_flag *flags, size_t count, const char *usage)
{
    printf("usage: %s\n\noptions:\n", usage);
    for (size_t i = 0; i < count; i++) {
        char name[64];
        snprintf(name, sizeof name, "--%s%s", flags[i].name,
                 flags[i].kind == CLI_SWITCH ? "" : " V");
        printf("  %-26s %s\n", name, flags[i].help);
    }
    printf("  %-26s %s\n", "--help", "show this help");
}

static int parse_value(const cli_flag *flag, const char *text)
{
    char *end = NULL;
    errno = 0;
    switch (flag->kind) {
    case CLI_SIZE:
    case CLI_U64: {
        if (text[0] == '-' || text[0] == '\0') return 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || *end) return 0;
        if (flag->kind == CLI_SIZE) {
            if (v > SIZE_MAX) return 0;
            *(size_t *)flag->target = (size_t)v;
        } else {
            *(uint64_t *)flag->target = (uint64_t)v;
        }
        return 1;
    }
    case CLI_INT: {
        long v = strtol(text, &end, 10);
        if (errno || *end || text[0] == '\0' || v < -2147483647L || v > 2147483647L) return 0;
        *(int *)flag->target = (int)v;
        return 1;
    }
    case CLI_DOUBLE: {
        double v = strtod(text, &end);
        if (errno || *end || text[0] == '\0' || !isfinite(v)) return 0;
        *(double *)flag->target = v;
        return 1;
    }
    case CLI_STRING: *(const char **)flag->target = text; return 1;
    case CLI_REPEAT: {
        cli_strings *list = flag->target;
        if (list->count == CLI_MAX_REPEATS) return 0;
        list->items[list->count++] = text;
        return 1;
    }
    case CLI_SWITCH: return 0;
    }
    return 0;
}

int cli_parse(int argc, char **argv, const cli_flag *flags, size_t count, const char *usage)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_print_usage(flags, count, usage);
            return CLI_HELP;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "devo: unexpected argument '%s' (see --help)\n", arg);
            return CLI_USAGE_ERROR;
        }
        const char *name = arg + 2, *equals = strchr(name, '=');
        size_t name_len = equals ? (size_t)(equals - name) : strlen(name);
        const cli_flag *flag = NULL;
        for (size_t f = 0; f < count; f++)
            if (strlen(flags[f].name) == name_len && strncmp(flags[f].name, name, name_len) == 0)
                flag = &flags[f];
        if (!flag) {
            fprintf(stderr, "devo: unknown flag '--%.*s' (see --help)\n", (int)name_len, name);
            return CLI_USAGE_ERROR;
        }
        if (flag->kind == CLI_SWITCH) {
            if (equals) {
                fprintf(stderr, "devo: flag '--%s' takes no value\n", flag->name);
                return CLI_USAGE_ERROR;
            }
            *(int *)flag->target = 1;
            continue;
        }
        const char *value = equals ? equals + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            fprintf(stderr, "devo: flag '--%s' needs a value\n", flag->name);
            return CLI_USAGE_ERROR;
        }
        if (!parse_value(flag, value)) {
            fprintf(stderr, "devo: bad value '%s' for flag '--%s'\n", value, flag->name);
            return CLI_USAGE_ERROR;
        }
    }
    return CLI_OK;
}
