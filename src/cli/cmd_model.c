/*
 * cmd_model.c - the commands that use a saved model: "devo eval" (loss and
 * accuracy on the train and test splits), "devo predict" (outputs as CSV) and
 * "devo info" (architecture, parameters, metadata).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli_data.h"
#include "commands.h"
#include "devo.h"
#include "names.h"
#include "nn_math.h"

/* Loads --model; prints the failure and returns 0 when it cannot. */
static int load_model(const char *path, devo_model **m)
{
    if (!path) {
        fprintf(stderr, "devo: flag '--model' is required\n");
        return 0;
    }
    if (devo_model_load(m, path) != DEVO_OK) return !cli_library_failure();
    return 1;
}

/* Reports the model's loss and accuracy on split `split` of dir; the exit code. A split whose
 * files are absent is skipped with a note when `optional`. */
static int evaluate_split(const devo_model *m, const char *dir, const char *split,
                          const char *name, int optional)
{
    devo_dataset *d = NULL;
    if (!cli_load_split(&d, dir, split, name, m, optional)) return 1;
    int code = !d || cli_report_split(name, m, d) ? 0 : 1;
    devo_dataset_free(d);
    return code;
}

int cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *data = DEVO_DEFAULT_DATA_DIR;
    const cli_flag flags[] = {
        {"model", CLI_STRING, &model, "the model file (safetensors), required"},
        {"data", CLI_STRING, &data, "IDX dataset directory (default: installed Fashion-MNIST)"},
    };
    int parsed = cli_parse(argc, argv, flags, 2, "devo eval --model MODEL [--data DIR]");
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    devo_model *m = NULL;
    if (!load_model(model, &m)) return model ? 1 : 2;
    // The test split is optional, as in devo evolve.
    int code = evaluate_split(m, data, "train", "train", 0);
    if (code == 0) code = evaluate_split(m, data, "t10k", "test", 1);
    devo_model_free(m);
    return code;
}

/* Writes index,label,predicted,output_0.. for every sample to out. */
static int write_predictions(FILE *out, const devo_model *m, const devo_dataset *d)
{
    size_t n = devo_dataset_count(d), outputs = devo_model_output_dim(m);
    float *y = malloc(n * outputs * sizeof(float));
    if (!y) {
        fprintf(stderr, "devo: out of memory for %zu outputs\n", n * outputs);
        return 0;
    }
    if (devo_model_predict(m, devo_dataset_x(d), n, y) != DEVO_OK) {
        free(y);
        return !cli_library_failure();
    }
    fprintf(out, "index,label,predicted");
    for (size_t j = 0; j < outputs; j++) fprintf(out, ",output_%zu", j);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        const float *row = y + i * outputs;
        // The outputs are activated already: argmax as accuracy counts it, or > 0.5 for one.
        size_t predicted = outputs == 1 ? row[0] > 0.5f
                                        : devo_predicted_class(DEVO_ACT_LINEAR, row, outputs);
        fprintf(out, "%zu,%g,%zu", i, (double)devo_dataset_y(d)[i], predicted);
        for (size_t j = 0; j < outputs; j++) fprintf(out, ",%.9g", (double)row[j]);
        fputc('\n', out);
    }
    free(y);
    return 1;
}

int cmd_predict(int argc, char **argv)
{
    const char *model = NULL, *data = DEVO_DEFAULT_DATA_DIR, *out_path = NULL, *split = "t10k";
    const cli_flag flags[] = {
        {"model", CLI_STRING, &model, "the model file (safetensors), required"},
        {"data", CLI_STRING, &data, "IDX dataset directory (default: installed Fashion-MNIST)"},
        {"split", CLI_STRING, &split, "which files: t10k (default) or train"},
        {"out", CLI_STRING, &out_path, "CSV to write (index,label,predicted,output_0..), "
                                       "required"},
    };
    int parsed = cli_parse(argc, argv, flags, 4,
                           "devo predict --model MODEL --out FILE.csv [--data DIR] [--split t10k]");
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    if (!out_path) {
        fprintf(stderr, "devo: flag '--out' is required\n");
        return 2;
    }
    if (strcmp(split, "t10k") != 0 && strcmp(split, "train") != 0) {
        fprintf(stderr, "devo: bad value '%s' for flag '--split' (t10k or train)\n", split);
        return 2;
    }
    devo_model *m = NULL;
    if (!load_model(model, &m)) return model ? 1 : 2;
    devo_dataset *d = NULL;
    int code = 1;
    if (cli_load_split(&d, data, split, split, m, 0)) {
        FILE *out = fopen(out_path, "w");
        if (!out) {
            fprintf(stderr, "devo: cannot write '%s': %s\n", out_path, strerror(errno));
        } else {
            int written = write_predictions(out, m, d);
            if (fclose(out) != 0 || !written) {
                if (written) fprintf(stderr, "devo: cannot write '%s'\n", out_path);
            } else {
                printf("wrote %zu predictions to %s\n", devo_dataset_count(d), out_path);
                code = 0;
            }
        }
    }
    devo_dataset_free(d);
    devo_model_free(m);
    return code;
}

int cmd_info(int argc, char **argv)
{
    const char *path = argc > 0 && strncmp(argv[0], "--", 2) != 0 ? argv[0] : NULL;
    int parsed = cli_parse(argc - (path != NULL), argv + (path != NULL), NULL, 0,
                           "devo info MODEL.safetensors");
    if (parsed != CLI_OK) return parsed == CLI_HELP ? 0 : 2;
    if (!path) {
        fprintf(stderr, "devo: info needs a model file (devo info MODEL.safetensors)\n");
        return 2;
    }
    devo_model *m = NULL;
    if (devo_model_load(&m, path) != DEVO_OK) return cli_library_failure();
    char *layers = devo_layers_text(m);
    if (!layers) {
        devo_model_free(m);
        fprintf(stderr, "devo: out of memory for the layer description\n");
        return 1;
    }
    printf("file        %s (safetensors, devo_format_version %d)\n", path, DEVO_FORMAT_VERSION);
    printf("input       %zu\n", devo_model_input_dim(m));
    size_t inputs = devo_model_input_dim(m);
    for (size_t l = 0; l < devo_model_layer_count(m); l++) {
        size_t units;
        devo_activation act;
        devo_model_layer(m, l, &units, &act);
        char name[32];
        snprintf(name, sizeof name, l ? "dense_%zu" : "dense", l);
        printf("layer %-5zu %-8s %6zu -> %-6zu %-8s %zu parameters\n", l, name, inputs, units,
               devo_activation_name(act), (inputs + 1) * units);
        inputs = units;
    }
    printf("loss        %s\n", devo_loss_name(devo_model_loss(m)));
    printf("parameters  %zu\n", devo_model_param_count(m));
    printf("metadata    devo_format_version=%d input_dim=%zu layers=%s loss=%s\n",
           DEVO_FORMAT_VERSION, devo_model_input_dim(m), layers,
           devo_loss_name(devo_model_loss(m)));
    free(layers);
    devo_model_free(m);
    return 0;
}
