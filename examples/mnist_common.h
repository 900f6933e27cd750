/*
 * mnist_common.h - what the seed's two MNIST examples share: load an MNIST-format
 * directory, build Flatten(28x28) -> Dense(30, relu) -> Dense(10, softmax) with
 * sparse categorical cross-entropy, run fit_evolve(x_train, y_train,
 * max_generations=10, population=10, top_k=3) with a given fitness, print the
 * final accuracy and save the history as CSV. Uses only the public API.
 */
#ifndef DEVO_EXAMPLES_MNIST_COMMON_H
#define DEVO_EXAMPLES_MNIST_COMMON_H

#include <devo.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, devo_last_error());
    return 1;
}

static void save_history(const devo_history *h, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return;
    }
    fprintf(f, "generation,best,mean,std,best_ever\n");
    for (size_t g = 0; g < h->generations; g++)
        fprintf(f, "%zu,%.6f,%.6f,%.6f,%.6f\n", g + 1, h->best[g], h->mean[g], h->std[g],
                h->best_ever[g]);
    fclose(f);
    printf("history saved to %s\n", path);
}

/* argv[1]: the data directory (default: the installed Fashion-MNIST); argv[2]: the history CSV
 * (default: `name` in $TMPDIR, or /tmp: a run leaves nothing in the working directory). */
static int run_mnist_example(int argc, char **argv, devo_fitness fitness, const char *name)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    char history[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(history, sizeof history, "%s/%s", tmp && *tmp ? tmp : "/tmp", name);
    if (argc > 2) snprintf(history, sizeof history, "%s", argv[2]);
    devo_dataset *train = NULL, *test = NULL;
    if (devo_dataset_load_idx_dir(&train, dir, "train")) return fail("train data");
    if (devo_dataset_load_idx_dir(&test, dir, "t10k")) test = NULL; // the test split is optional

    devo_model *model = NULL;
    devo_model_create(&model, devo_dataset_dim(train));   // Flatten(input_shape=(28, 28))
    devo_model_add_dense(model, 30, DEVO_ACT_RELU);         // Dense(30, activation='relu')
    devo_model_add_dense(model, 10, DEVO_ACT_SOFTMAX);      // Dense(10, activation='softmax')
    devo_model_compile(model, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);

    devo_evolve_options options;
    devo_evolve_options_init(&options);
    options.max_generations = 10;
    options.population = 10;
    options.top_k = 3;
    options.fitness = fitness;
    devo_history history_data = {0};
    if (devo_fit_evolve(model, devo_dataset_x(train), devo_dataset_y(train),
                        devo_dataset_count(train), &options, &history_data))
        return fail("fit_evolve");

    const devo_dataset *report = test ? test : train;
    double accuracy = 0;
    if (devo_model_evaluate(model, devo_dataset_x(report), devo_dataset_y(report),
                            devo_dataset_count(report), NULL, &accuracy))
        return fail("evaluate");
    printf("final %s accuracy: %.4f\n", test ? "test" : "train", accuracy);
    save_history(&history_data, history);

    devo_history_free(&history_data);
    devo_model_free(model);
    devo_dataset_free(train);
    devo_dataset_free(test);
    return 0;
}

#endif /* DEVO_EXAMPLES_MNIST_COMMON_H */
