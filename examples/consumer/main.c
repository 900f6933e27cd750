/*
 * main.c - an application that links devo as an installed package (CMake's
 * find_package(devo) or pkg-config): evolves a 2 -> 4 -> 1 network on XOR with
 * accuracy as the fitness and prints what it reached.
 */
#include <devo.h>
#include <stdio.h>

int main(void)
{
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    devo_model *m = NULL;
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.max_generations = 200;
    o.population = 64;
    o.top_k = 8;
    o.mutation_std = 0.3;
    o.init_std = 1.0;
    o.fitness = DEVO_FITNESS_ACCURACY;
    o.verbose = 0;
    o.seed = 3;
    double accuracy = 0;
    if (devo_model_create(&m, 2) || devo_model_add_dense(m, 4, DEVO_ACT_TANH) ||
        devo_model_add_dense(m, 1, DEVO_ACT_SIGMOID) ||
        devo_model_compile(m, DEVO_LOSS_BINARY_CROSSENTROPY) ||
        devo_fit_evolve(m, x, y, 4, &o, NULL) ||
        devo_model_evaluate(m, x, y, 4, NULL, &accuracy)) {
        fprintf(stderr, "devo: %s\n", devo_last_error());
        devo_model_free(m);
        return 1;
    }
    printf("devo %s: XOR accuracy %.2f\n", devo_version_string(), accuracy);
    devo_model_free(m);
    return 0;
}
