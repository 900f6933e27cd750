/*
 * mnist_accuracy.c - the seed's second example: the same run with accuracy as the
 * fitness, which no gradient can follow. deepevolution's version:
 *
 *   model.fit_evolve(x_train, y_train, max_generations=10, population=10, top_k=3,
 *                    fitness_func=lambda m, X, Y: m.evaluate(X, Y)[1])
 *
 * Usage: mnist_accuracy [DATA_DIR] [HISTORY_CSV]
 */
#include "mnist_common.h"

int main(int argc, char **argv)
{
    return run_mnist_example(argc, argv, DEVO_FITNESS_ACCURACY, "mnist_accuracy_history.csv");
}
