/*
 * cli_data.c - loading splits, targets and loss/accuracy reports for the devo commands
 * (see cli_data.h).
 */
#include "cli_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int cli_check_width(const devo_model *m, const devo_dataset *d, const char *name)
{
    if (devo_dataset_dim(d) == devo_model_input_dim(m)) return 1;
    fprintf(stderr, "devo: the model takes %zu inputs but the %s samples have %zu\n",
            devo_model_input_dim(m), name, devo_dataset_dim(d));
    return 0;
}

int cli_load_split(devo_dataset **out, const char *dir, const char *split, const char *name,
                   const devo_model *m, int optional)
{
    *out = NULL;
    devo_status status = devo_dataset_load_idx_dir(out, dir, split);
    if (status == DEVO_ERR_IO && optional) {
        fprintf(stderr, "devo: no %s split (%s); reporting the others only\n", name,
                devo_last_error());
        return 1;
    }
    if (status != DEVO_OK) return !cli_library_failure();
    if (!m || cli_check_width(m, *out, name)) return 1;
    devo_dataset_free(*out);
    *out = NULL;
    return 0;
}

float *cli_targets(const devo_dataset *d, const devo_model *m)
{
    size_t n = devo_dataset_count(d), outputs = devo_model_output_dim(m);
    const float *labels = devo_dataset_y(d);
    devo_loss loss = devo_model_loss(m);
    size_t width = loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY || outputs == 1 ? 1 : outputs;
    float *y = calloc(n * width, sizeof(float));
    if (!y) {
        fprintf(stderr, "devo: out of memory for %zu targets\n", n * width);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (width == 1)
            y[i] = labels[i];
        else if ((size_t)labels[i] < outputs)
            y[i * width + (size_t)labels[i]] = 1.0f;
    }
    return y;
}

int cli_library_failure(void)
{
    fprintf(stderr, "devo: %s\n", devo_last_error());
    return 1;
}

int cli_report_split(const char *name, const devo_model *m, const devo_dataset *d)
{
    if (!cli_check_width(m, d, name)) return 0;
    float *y = cli_targets(d, m);
    if (!y) return 0;
    double loss = NAN, accuracy = NAN;
    int has_loss = devo_model_loss(m) != DEVO_LOSS_NONE;
    devo_status status = devo_model_evaluate(m, devo_dataset_x(d), y, devo_dataset_count(d),
                                             has_loss ? &loss : NULL, &accuracy);
    free(y);
    if (status != DEVO_OK) return !cli_library_failure();
    printf("%-5s loss %.4f  accuracy %.4f  (%zu samples)\n", name, loss, accuracy,
           devo_dataset_count(d));
    return 1;
}
