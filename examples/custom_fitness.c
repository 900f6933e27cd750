/*
 * custom_fitness.c - a fitness no gradient can follow, through fitness_fn: the
 * worst per-class recall (plus a tenth of the mean recall, which breaks the ties
 * while some class is never predicted), so evolution lifts the class the
 * network handles worst instead of the average. Each generation judges every
 * individual on a fresh random 2,048 training images (fitness_samples).
 *
 * Usage: custom_fitness [DATA_DIR] [GENERATIONS=100]
 */
#include <devo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { CLASSES = 10 };

/* The smallest recall over the classes present in y (class indices), from the outputs;
 * *mean receives the mean recall over those classes. */
static double worst_recall(const float *outputs, const float *y, size_t n, double *mean)
{
    size_t hits[CLASSES] = {0}, seen[CLASSES] = {0};
    for (size_t i = 0; i < n; i++) {
        const float *row = outputs + i * CLASSES;
        size_t predicted = 0;
        for (size_t j = 1; j < CLASSES; j++)
            if (row[j] > row[predicted]) predicted = j;
        size_t label = (size_t)y[i];
        seen[label]++;
        hits[label] += predicted == label;
    }
    double worst = 1.0, sum = 0.0;
    size_t present = 0;
    for (size_t c = 0; c < CLASSES; c++) {
        if (!seen[c]) continue;
        double recall = (double)hits[c] / (double)seen[c];
        worst = recall < worst ? recall : worst;
        sum += recall;
        present++;
    }
    *mean = present ? sum / (double)present : 0.0;
    return worst;
}

/* The custom fitness: devo calls it once per individual and generation. */
static double worst_recall_fitness(const devo_model *candidate, const float *x, const float *y,
                                   size_t n, void *user)
{
    float *outputs = user; // room for fitness_samples x CLASSES outputs
    if (devo_model_predict(candidate, x, n, outputs) != DEVO_OK) return NAN; // ranks last
    double mean = 0.0, worst = worst_recall(outputs, y, n, &mean);
    return worst + 0.1 * mean;
}

static int report(const char *when, const devo_model *m, const devo_dataset *d)
{
    size_t n = devo_dataset_count(d);
    float *outputs = malloc(n * CLASSES * sizeof(float));
    double accuracy = 0;
    if (!outputs || devo_model_predict(m, devo_dataset_x(d), n, outputs) ||
        devo_model_evaluate(m, devo_dataset_x(d), devo_dataset_y(d), n, NULL, &accuracy)) {
        free(outputs);
        return 1;
    }
    double mean = 0.0, worst = worst_recall(outputs, devo_dataset_y(d), n, &mean);
    printf("%s: accuracy %.4f, worst class recall %.4f, mean class recall %.4f\n", when,
           accuracy, worst, mean);
    free(outputs);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    size_t generations = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
    devo_dataset *train = NULL;
    if (devo_dataset_load_idx_dir(&train, dir, "train")) {
        fprintf(stderr, "%s\n", devo_last_error());
        return 1;
    }
    devo_model *model = NULL;
    devo_model_create(&model, devo_dataset_dim(train));
    devo_model_add_dense(model, 30, DEVO_ACT_RELU);
    devo_model_add_dense(model, CLASSES, DEVO_ACT_SOFTMAX);
    devo_model_compile(model, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);

    devo_evolve_options options;
    devo_evolve_options_init(&options);
    options.max_generations = generations;
    options.population = 32;
    options.top_k = 8;
    options.mutation_std = 0.02;
    options.fitness_samples = devo_dataset_count(train) < 2048 ? devo_dataset_count(train) : 2048;
    options.verbose = 1;
    options.seed = 1;
    float *outputs = malloc(options.fitness_samples * CLASSES * sizeof(float));
    options.fitness_fn = worst_recall_fitness;
    options.fitness_user = outputs;

    int failed = !outputs || report("before", model, train);
    if (!failed && devo_fit_evolve(model, devo_dataset_x(train), devo_dataset_y(train),
                                   devo_dataset_count(train), &options, NULL)) {
        fprintf(stderr, "%s\n", devo_last_error());
        failed = 1;
    }
    if (!failed) failed = report("after", model, train);
    free(outputs);
    devo_model_free(model);
    devo_dataset_free(train);
    return failed;
}
