/*
 * commands.h - the subcommands of the devo tool. Each takes its own
 * arguments (after the subcommand's name) and returns the process exit code:
 * 0 success, 1 a runtime failure (the library's message printed), 2 bad usage.
 */
#ifndef DEVO_CLI_COMMANDS_H
#define DEVO_CLI_COMMANDS_H

/* The installed Fashion-MNIST (Debian's dataset-fashion-mnist). */
#define DEVO_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

int cmd_evolve(int argc, char **argv);

#endif /* DEVO_CLI_COMMANDS_H */
