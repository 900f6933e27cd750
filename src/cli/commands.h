/*
 * commands.h - the subcommands of the devo tool. Each takes its own
 * arguments (after the subcommand's name) and returns the process exit code:
 * 0 success, 1 a runtime failure (the library's message printed), 2 bad usage.
 */
#ifndef DEVO_CLI_COMMANDS_H
#define DEVO_CLI_COMMANDS_H

int cmd_evolve(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif /* DEVO_CLI_COMMANDS_H */
