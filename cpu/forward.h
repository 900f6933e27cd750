/*
 * forward.h - the CPU reference forward pass of a population of networks
 * that share one architecture, on OpenBLAS sgemm, or in BF16 on oneDNN (gemm_bf16.h) as the
 * CUDA device defines it: every GEMM's operands (samples, weights, hidden activations)
 * rounded to BF16, FP32 accumulation, FP32 bias, activation and results. It computes the
 * last layer's pre-activations ("logits"); callers apply the output activation or a loss.
 * Not for: selection or variation (device.c), or single-model helpers.
 */
#ifndef DEVO_FORWARD_CPU_H
#define DEVO_FORWARD_CPU_H

#include "gemm_bf16.h"
#include "model.h"

/* Work space (one per thread) for forwarding up to max_individuals individuals
 * on up to max_rows samples at a time. */
typedef struct devo_cpu_forward {
    const devo_model *arch; /* borrowed: the layers */
    size_t max_rows;
    size_t max_individuals;
    float *buffers[2]; /* ping-pong activations, each max_individuals * max_rows * max_units */
    float *bias;       /* (max_individuals * units0): first-layer biases side by side */
    /* BF16 (devo_cpu_forward_use_bf16), else NULL: the GEMMs' work space, and buffers[i]'s
     * hidden activations rounded, the next layer's operand (same layout). */
    devo_bf16_gemm *bf16;
    devo_bf16 *operands[2];
    devo_status status; /* BF16: DEVO_OK, or the first failed GEMM's status (then sticky) */
} devo_cpu_forward;

/* Where individual p's logits for sample r are: base + p * individual_stride + r * row_stride,
 * output_dim floats each. */
typedef struct devo_logits_view {
    const float *base;
    size_t individual_stride;
    size_t row_stride;
} devo_logits_view;

/* Bytes of work space devo_cpu_forward_init allocates for these sizes (packed kernels not
 * included). */
size_t devo_cpu_forward_bytes(const devo_model *arch, size_t max_rows, size_t max_individuals);

devo_status devo_cpu_forward_init(devo_cpu_forward *f, const devo_model *arch, size_t max_rows,
                                  size_t max_individuals);
void devo_cpu_forward_release(devo_cpu_forward *f);

/* Makes f's GEMMs BF16 ones (single-threaded oneDNN): devo_cpu_forward_block_bf16 then runs.
 * DEVO_ERR_UNSUPPORTED when this CPU or build has no BF16 GEMMs (gemm_bf16.h). */
devo_status devo_cpu_forward_use_bf16(devo_cpu_forward *f);

/* Floats of the packed first-layer kernels of `count` individuals. */
size_t devo_cpu_packed_floats(const devo_model *arch, size_t count);

/* Packs the first-layer kernels of `count` individuals, w is (count, D), side
 * by side into packed (inputs, count * units0) for devo_cpu_forward_shared. */
void devo_cpu_pack_first_layer(const devo_model *arch, const float *w, size_t count,
                               float *packed);

/* Packs the first-layer kernels of `count` individuals, w is (count, D), into the columns of
 * slots slot .. slot + count - 1 of packed (inputs, slots * units0); the other slots' columns
 * are zero (for devo_cpu_forward_block). */
void devo_cpu_pack_block(const devo_model *arch, const float *w, size_t slot, size_t count,
                         size_t slots, float *packed);

/* devo_cpu_pack_block for elements of `size` bytes (4: FP32, 2: BF16 rows and packed). */
void devo_cpu_pack_block_of(const devo_model *arch, const void *w, size_t size, size_t slot,
                            size_t count, size_t slots, void *packed);

/* Every individual on the same samples: x is (rows, inputs), w is (count, D),
 * packed is devo_cpu_pack_first_layer of w. The first layer is one sgemm:
 * x (rows, inputs) times packed (inputs, count * units0). */
devo_logits_view devo_cpu_forward_shared(devo_cpu_forward *f, const float *w, size_t count,
                                         const float *packed, const float *x, size_t rows);

/* As devo_cpu_forward_shared, for the `count` individuals w (count, D) in slots slot .. of a
 * block of `slots`: the first layer is always the full sgemm x (rows, inputs) times packed
 * (inputs, slots * units0) (devo_cpu_pack_block), so each individual's first-layer outputs
 * depend only on its slot, never on which other slots are filled; the later layers run
 * only for the `count` individuals, whose view this returns. */
devo_logits_view devo_cpu_forward_block(devo_cpu_forward *f, const float *w, size_t slot,
                                        size_t count, size_t slots, const float *packed,
                                        const float *x, size_t rows);

/* devo_cpu_forward_block in BF16 (f made so by devo_cpu_forward_use_bf16): w16 (count, D) is
 * w rounded to BF16, packed16 devo_cpu_pack_block_of of w16, x16 (rows, inputs) the samples
 * rounded; biases come from w. f->status says whether every GEMM ran. */
devo_logits_view devo_cpu_forward_block_bf16(devo_cpu_forward *f, const float *w,
                                             const devo_bf16 *w16, size_t slot, size_t count,
                                             size_t slots, const devo_bf16 *packed16,
                                             const devo_bf16 *x16, size_t rows);

/* Every individual on its own samples: x is (count, rows, inputs), w is (count, D). */
devo_logits_view devo_cpu_forward_own(devo_cpu_forward *f, const float *w, size_t count,
                                      const float *x, size_t rows);

/* devo_cpu_forward_own in BF16 (f made so by devo_cpu_forward_use_bf16): w16 and x16 are w
 * and x rounded to BF16; biases come from w. f->status says whether every GEMM ran. */
devo_logits_view devo_cpu_forward_own_bf16(devo_cpu_forward *f, const float *w,
                                           const devo_bf16 *w16, size_t count,
                                           const devo_bf16 *x16, size_t rows);

/* Writes individual p's activated outputs for `rows` samples of the view to y (rows, outputs). */
void devo_cpu_write_outputs(const devo_model *arch, devo_logits_view view, size_t p, size_t rows,
                            float *y);

#endif /* DEVO_FORWARD_CPU_H */
