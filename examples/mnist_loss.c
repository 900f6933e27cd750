/*
 * mnist_loss.c - the seed's first example: evolve 784-30-10 on MNIST-format data
 * with the default fitness, minus the loss. deepevolution's version:
 *
 *   model.fit_evolve(x_train, y_train, max_generations=10, population=10, top_k=3)
 *
 * Usage: mnist_loss [DATA_DIR] [HISTORY_CSV]
 */
#include "mnist_common.h"

int main(int argc, char **argv)
{
    return run_mnist_example(argc, argv, DEVO_FITNESS_NEG_LOSS, "mnist_loss_history.csv");
}
