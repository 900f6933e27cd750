/*
 * args.h - a small table-driven parser for the devo command's flags:
 * "--name value" and "--name=value", typed targets, --help, and a message
 * naming the bad flag or value (exit code 2, the command's convention).
 */
#ifndef DEVO_CLI_ARGS_H
#define DEVO_CLI_ARGS_H

#include <stddef.h>

typedef enum cli_kind {
    CLI_SIZE,   /* size_t, decimal, >= 0 */
    CLI_INT,    /* int */
    CLI_DOUBLE, /* finite double */
    CLI_U64,    /* uint64_t */
    CLI_STRING, /* const char *, points into argv */
    CLI_SWITCH, /* int set to 1, takes no value */
    CLI_REPEAT  /* cli_strings: every occurrence is kept */
} cli_kind;

#define CLI_MAX_REPEATS 16

typedef struct cli_strings {
    const char *items[CLI_MAX_REPEATS];
    size_t count;
} cli_strings;

typedef struct cli_flag {
    const char *name; /* without the leading "--" */
    cli_kind kind;
    void *target;
    const char *help; /* one line, the default included */
} cli_flag;

enum { CLI_OK = 0, CLI_HELP = 1, CLI_USAGE_ERROR = 2 };

/* Parses argv[0..argc) (the command's own arguments) into the flags' targets.
 * Prints the usage on --help (CLI_HELP) and a message to stderr on a bad flag
 * or value (CLI_USAGE_ERROR). `usage` is the one-line synopsis. */
int cli_parse(int argc, char **argv, const cli_flag *flags, size_t count, const char *usage);

/* Prints the synopsis and every flag's help to stdout. */
void cli_print_usage(const cli_flag *flags, size_t count, const char *usage);

#endif /* DEVO_CLI_ARGS_H */
