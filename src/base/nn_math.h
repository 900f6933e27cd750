/*
 * nn_math.h - the per-element and per-sample arithmetic of a dense network:
 * activations, and one sample's loss and correctness from the last layer's
 * pre-activations. Header-only, C11 and CUDA C, so both backends compute the
 * same formulas. Loss semantics follow Keras: softmax with a cross-entropy
 * and sigmoid with binary cross-entropy are computed from the logits (as
 * tf.keras does for those pairs); other pairs clip probabilities to
 * [1e-7, 1 - 1e-7], and the categorical losses normalise them to sum 1.
 */
#ifndef DEVO_NN_MATH_H
#define DEVO_NN_MATH_H

#include <math.h>
#include <stddef.h>

#include "devo.h"
#include "own_math.h"

#ifdef __CUDACC__
#define DEVO_NN_HD static __host__ __device__ inline
#else
#define DEVO_NN_HD static inline
#endif

#define DEVO_LOSS_EPSILON 1e-7

/* An elementwise activation (not softmax, which needs the whole row). */
DEVO_NN_HD float devo_activate(devo_activation act, float z)
{
    switch (act) {
    case DEVO_ACT_RELU: return z < 0.0f ? 0.0f : z; // NaN stays NaN, as in Keras
    case DEVO_ACT_TANH: return tanhf(z);
    case DEVO_ACT_SIGMOID: return 1.0f / (1.0f + expf(-z));
    default: return z;
    }
}

/* Applies `act` in place to one row of `units` values (softmax included). */
DEVO_NN_HD void devo_activate_row(devo_activation act, float *row, size_t units)
{
    if (act != DEVO_ACT_SOFTMAX) {
        for (size_t j = 0; j < units; j++) row[j] = devo_activate(act, row[j]);
        return;
    }
    float top = row[0];
    for (size_t j = 1; j < units; j++) top = row[j] > top ? row[j] : top;
    float sum = 0.0f;
    for (size_t j = 0; j < units; j++) {
        row[j] = expf(row[j] - top);
        sum += row[j];
    }
    for (size_t j = 0; j < units; j++) row[j] /= sum;
}

/* The log-sum-exp top + log_sum of a row from its maximum top, the sum of e^(z_i - top) and
 * log_sum = devo_log_positive(sum); NaN for a NaN sum. */
DEVO_NN_HD double devo_log_sum_exp_from(float top, float sum, float log_sum)
{
    return sum == sum ? (double)top + (double)log_sum : (double)sum;
}

/* log(sum(exp(z))) of a row, computed stably: top + log(sum_i e^(z_i - top)) for the row's
 * maximum top, the exponentials, their sum (in order i) and its log in float with
 * own_math.h's exp and log, so that every CPU instruction set (cpu/metrics.c's vector
 * loops) and CUDA give the same bits; NaN when a z_i is NaN or top is infinite. */
DEVO_NN_HD double devo_log_sum_exp(const float *z, size_t outputs)
{
    float top = z[0];
    for (size_t i = 1; i < outputs; i++) top = z[i] > top ? z[i] : top;
    float sum = 0.0f;
    for (size_t i = 0; i < outputs; i++) sum += devo_exp_nonpositive(z[i] - top);
    return devo_log_sum_exp_from(top, sum, devo_log_positive(sum));
}

/* The activated value of output j of a row of logits z (softmax needs the row). */
DEVO_NN_HD double devo_output_value(devo_activation act, const float *z, size_t outputs, size_t j)
{
    if (act != DEVO_ACT_SOFTMAX) return (double)devo_activate(act, z[j]);
    return exp((double)z[j] - devo_log_sum_exp(z, outputs));
}

DEVO_NN_HD double devo_clip_probability(double p)
{
    if (!(p > DEVO_LOSS_EPSILON)) return p != p ? p : DEVO_LOSS_EPSILON;
    return p < 1.0 - DEVO_LOSS_EPSILON ? p : 1.0 - DEVO_LOSS_EPSILON;
}

/* The value argmax compares for output j: the logit for softmax (monotonic), else the activation. */
DEVO_NN_HD double devo_class_score(devo_activation act, const float *z, size_t j)
{
    return act == DEVO_ACT_SOFTMAX ? (double)z[j] : (double)devo_activate(act, z[j]);
}

/* Index of the predicted class: argmax of the activated outputs (first on ties); `outputs`
 * (no class) when an output is NaN, so a NaN row never counts as a right prediction. */
DEVO_NN_HD size_t devo_predicted_class(devo_activation act, const float *z, size_t outputs)
{
    size_t best = 0;
    double best_score = devo_class_score(act, z, 0);
    for (size_t j = 0; j < outputs; j++) {
        double score = devo_class_score(act, z, j);
        if (score != score) return outputs;
        if (score > best_score) {
            best_score = score;
            best = j;
        }
    }
    return best;
}

/* Whether the predicted class (devo_predicted_class) is the target row t's: its class
 * index (sparse) or the index of its largest value. */
DEVO_NN_HD int devo_class_correct(devo_loss loss, size_t predicted, const float *t,
                                  size_t outputs)
{
    if (loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) return predicted == (size_t)t[0];
    size_t target = 0;
    for (size_t j = 1; j < outputs; j++)
        if (t[j] > t[target]) target = j;
    return predicted == target;
}

/* Whether one sample is classified right. t is the target row (sparse: one class index).
 * A NaN output is never right. */
DEVO_NN_HD int devo_sample_correct(devo_activation act, devo_loss loss, const float *z,
                                   size_t outputs, const float *t)
{
    if (outputs == 1) {
        double y = devo_output_value(act, z, 1, 0);
        return y == y && (y > 0.5) == (t[0] > 0.5f);
    }
    return devo_class_correct(loss, devo_predicted_class(act, z, outputs), t, outputs);
}

/* A softmax output's (sparse) categorical cross-entropy from the logits z and their
 * log-sum-exp lse: -sum_j t_j log p_j with log p_j = z_j - lse (sparse: t[0] is the class). */
DEVO_NN_HD double devo_softmax_crossentropy(devo_loss loss, const float *z, size_t outputs,
                                            const float *t, double lse)
{
    if (loss == DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) return lse - (double)z[(size_t)t[0]];
    double total = 0.0;
    for (size_t j = 0; j < outputs; j++) total -= (double)t[j] * ((double)z[j] - lse);
    return total;
}

/* One sample's loss from the last layer's pre-activations z (outputs values). */
DEVO_NN_HD double devo_sample_loss(devo_activation act, devo_loss loss, const float *z,
                                   size_t outputs, const float *t)
{
    double total = 0.0;
    switch (loss) {
    case DEVO_LOSS_MSE:
        for (size_t j = 0; j < outputs; j++) {
            double d = devo_output_value(act, z, outputs, j) - (double)t[j];
            total += d * d;
        }
        return total / (double)outputs;
    case DEVO_LOSS_BINARY_CROSSENTROPY:
        for (size_t j = 0; j < outputs; j++) {
            double target = t[j];
            if (act == DEVO_ACT_SIGMOID) {
                double logit = z[j];
                total += (logit > 0.0 ? logit : 0.0) - logit * target + log1p(exp(-fabs(logit)));
            } else {
                double p = devo_clip_probability(devo_output_value(act, z, outputs, j));
                total -= target * log(p) + (1.0 - target) * log(1.0 - p);
            }
        }
        return total / (double)outputs;
    case DEVO_LOSS_CATEGORICAL_CROSSENTROPY:
        if (act == DEVO_ACT_SOFTMAX)
            return devo_softmax_crossentropy(loss, z, outputs, t, devo_log_sum_exp(z, outputs));
        {
            double sum = 0.0;
            for (size_t j = 0; j < outputs; j++) sum += devo_output_value(act, z, outputs, j);
            for (size_t j = 0; j < outputs; j++) {
                double p = devo_clip_probability(devo_output_value(act, z, outputs, j) / sum);
                total -= (double)t[j] * log(p);
            }
            return total;
        }
    case DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY: {
        size_t c = (size_t)t[0];
        if (act == DEVO_ACT_SOFTMAX)
            return devo_softmax_crossentropy(loss, z, outputs, t, devo_log_sum_exp(z, outputs));
        double sum = 0.0;
        for (size_t j = 0; j < outputs; j++)
            sum += devo_clip_probability(devo_output_value(act, z, outputs, j));
        return -log(devo_clip_probability(devo_output_value(act, z, outputs, c)) / sum);
    }
    default: return 0.0;
    }
}

#endif /* DEVO_NN_MATH_H */
