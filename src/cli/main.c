/*
 * main.c - the devo command: dispatches to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "commands.h"
#include "devo.h"

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: devo <command> [options]\n\n"
            "Evolves the weights of neural networks with a genetic algorithm.\n\n"
            "commands:\n"
            "  evolve    evolve a dense network on an IDX (MNIST-format) dataset\n"
            "  eval      loss and accuracy of a saved model on the train and test splits\n"
            "  predict   a saved model's outputs for every sample, as CSV\n"
            "  info      a saved model's architecture, parameters and metadata\n"
            "  plot      draw the fitness curves of a history CSV as a PNG (gnuplot)\n"
            "  bench     measure throughput against the hardware ceiling\n\n"
            "'devo <command> --help' describes a command; 'devo --version' prints the version.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(command, "--version") == 0) {
        printf("devo %s\n", devo_version_string());
        return 0;
    }
    if (strcmp(command, "evolve") == 0) return cmd_evolve(argc - 2, argv + 2);
    if (strcmp(command, "eval") == 0) return cmd_eval(argc - 2, argv + 2);
    if (strcmp(command, "predict") == 0) return cmd_predict(argc - 2, argv + 2);
    if (strcmp(command, "info") == 0) return cmd_info(argc - 2, argv + 2);
    if (strcmp(command, "plot") == 0) return cmd_plot(argc - 2, argv + 2);
    if (strcmp(command, "bench") == 0) return cmd_bench(argc - 2, argv + 2);
    fprintf(stderr, "devo: unknown command '%s' (see devo --help)\n", command);
    return 2;
}
