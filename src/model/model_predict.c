/*
 * model_predict.c - devo_model_predict and devo_model_evaluate: one model on the
 * CPU reference forward pass (forward.c), in chunks of samples. Apart from
 * model.c so that the forward pass depends on the model and not the other way.
 */
#include "check_data.h"
#include "error.h"
#include "forward.h"
#include "metrics.h"
#include "model.h"

/* Samples per forward chunk in predict and evaluate: bounds their work space. */
#define DEVO_MODEL_CHUNK_ROWS 1024

/* Runs the model on n samples in chunks, calling visit for each chunk's logits. */
typedef void (*chunk_visitor)(const devo_model *m, devo_logits_view view, size_t first,
                              size_t rows, void *state);

static devo_status forward_chunks(const devo_model *m, const float *x, size_t n,
                                  chunk_visitor visit, void *state, const char *fn)
{
    devo_cpu_forward f;
    size_t rows_max = n < DEVO_MODEL_CHUNK_ROWS ? n : DEVO_MODEL_CHUNK_ROWS;
    devo_status status = devo_cpu_forward_init(&f, m, rows_max, 1);
    if (status != DEVO_OK) return devo_fail(status, "%s: %s", fn, devo_last_error());
    // One individual: its first-layer kernel is already laid out as the packed matrix.
    const float *kernel = m->weights + m->layers[0].kernel_offset;
    for (size_t first = 0; first < n; first += rows_max) {
        size_t rows = n - first < rows_max ? n - first : rows_max;
        devo_logits_view view =
            devo_cpu_forward_shared(&f, m->weights, 1, kernel, x + first * m->input_dim, rows);
        visit(m, view, first, rows, state);
    }
    devo_cpu_forward_release(&f);
    return DEVO_OK;
}

static void write_outputs(const devo_model *m, devo_logits_view view, size_t first, size_t rows,
                          void *state)
{
    float *y = state;
    devo_cpu_write_outputs(m, view, 0, rows, y + first * devo_model_output_dim(m));
}

static devo_status check_samples(const devo_model *m, const float *x, size_t n, const char *fn)
{
    DEVO_TRY(devo_model_check_compiled(m, fn));
    if (!x) return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: x is NULL", fn);
    if (n == 0) return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: n must be > 0", fn);
    return devo_check_finite(x, n, m->input_dim, "x", fn);
}

devo_status devo_model_predict(const devo_model *m, const float *x, size_t n, float *y)
{
    DEVO_TRY(check_samples(m, x, n, "devo_model_predict"));
    DEVO_REQUIRE_NONNULL(y, "devo_model_predict");
    return forward_chunks(m, x, n, write_outputs, y, "devo_model_predict");
}

typedef struct evaluate_state {
    const float *y;
    double loss_sum;
    size_t correct;
} evaluate_state;

static void accumulate_metrics(const devo_model *m, devo_logits_view view, size_t first,
                               size_t rows, void *state)
{
    evaluate_state *s = state;
    devo_cpu_accumulate_metrics(m, view, 0, rows, s->y + first * devo_model_target_width(m),
                                &s->loss_sum, &s->correct);
}

devo_status devo_model_evaluate(const devo_model *m, const float *x, const float *y, size_t n,
                                double *loss, double *accuracy)
{
    const char *fn = "devo_model_evaluate";
    DEVO_TRY(check_samples(m, x, n, fn));
    DEVO_REQUIRE_NONNULL(y, fn);
    if (loss && m->loss == DEVO_LOSS_NONE)
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: the model was compiled with "
                                                    "DEVO_LOSS_NONE; it has no loss to report", fn);
    DEVO_TRY(devo_model_check_targets(m, y, n, fn));
    evaluate_state s = {y, 0.0, 0};
    DEVO_TRY(forward_chunks(m, x, n, accumulate_metrics, &s, fn));
    if (loss) *loss = s.loss_sum / (double)n;
    if (accuracy) *accuracy = (double)s.correct / (double)n;
    return DEVO_OK;
}
