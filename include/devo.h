/*
 * devo.h - the one public header of devo, a genetic algorithm that evolves the
 * weights of dense feed-forward networks (Keras' Sequential of Dense layers),
 * on the CPU (OpenBLAS) and, when built with it, on NVIDIA GPUs (CUDA).
 *
 * devo implements the algorithm of the Python package deepevolution 0.0.4
 * (model.fit_evolve(x, y)) with its defaults, without its bugs.
 *
 * Conventions, valid for every declaration below:
 *  - Every fallible call returns a devo_status; DEVO_OK is 0. On failure,
 *    devo_last_error() gives a message for this thread naming what was wrong.
 *    Output parameters are left untouched on failure unless stated.
 *  - Objects are opaque handles created through an out-parameter and destroyed
 *    by a *_free function that accepts NULL.
 *  - Matrices are row-major float32. "n x d" means n rows of d floats.
 *    Inputs x and built-in-loss targets y must be finite: a NaN or Inf is
 *    DEVO_ERR_INVALID_ARGUMENT naming its row and column (one linear scan per
 *    call). NaN arising inside a network propagates as in Keras.
 *  - The library never prints unless asked (devo_evolve_options.verbose),
 *    never exits and never aborts on bad input.
 *  - Threads: calls on different objects may run concurrently, with one
 *    exception: the CPU backend sets OpenBLAS's process-wide thread count
 *    around its own work and restores it after, so two CPU runs at once in
 *    one process race on that setting (their results stay correct).
 */
#ifndef DEVO_H
#define DEVO_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define DEVO_API __declspec(dllexport)
#elif defined(__GNUC__)
#define DEVO_API __attribute__((visibility("default")))
#else
#define DEVO_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ version */
#define DEVO_VERSION_MAJOR 0
#define DEVO_VERSION_MINOR 3
#define DEVO_VERSION_PATCH 0

/* The runtime version, "MAJOR.MINOR.PATCH"; a static string. */
DEVO_API const char *devo_version_string(void);

/* ------------------------------------------------------------------- errors */
/* Stable numbered codes: new codes are only ever appended. */
typedef enum devo_status {
    DEVO_OK = 0,
    DEVO_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a size or value out of range, a call out of order */
    DEVO_ERR_OUT_OF_MEMORY = 2,    /* an allocation failed or would exceed what the device holds */
    DEVO_ERR_IO = 3,               /* a file could not be opened, read or written */
    DEVO_ERR_FORMAT = 4,           /* a file's content is malformed */
    DEVO_ERR_UNSUPPORTED = 5,      /* not built in, no device, or an option the backend lacks */
    DEVO_ERR_BACKEND = 6,          /* the backend (BLAS, CUDA) failed */
    DEVO_ERR_NUMERIC = 7,          /* every fitness was NaN, or a similar numeric dead end */
    DEVO_ERR_INTERNAL = 8,         /* a bug in devo: please report it */
    DEVO_ERR_CALLBACK = 9          /* since 0.3: a callback asked the run to stop with an error */
} devo_status;

/* A short constant name for a status ("DEVO_ERR_FORMAT"); never NULL. */
DEVO_API const char *devo_status_string(devo_status status);

/* The message of the last failure in the calling thread ("" if none). The
 * string is owned by devo and valid until the next devo call in this thread. */
DEVO_API const char *devo_last_error(void);

/* -------------------------------------------------------------------- model */
typedef struct devo_model devo_model;

typedef enum devo_activation {
    DEVO_ACT_LINEAR = 0,
    DEVO_ACT_RELU = 1,
    DEVO_ACT_TANH = 2,
    DEVO_ACT_SIGMOID = 3,
    DEVO_ACT_SOFTMAX = 4
} devo_activation;

/* Target layouts: the sparse loss takes n class indices stored as floats
 * (y is n x 1); every other loss, DEVO_LOSS_NONE included, takes n x outputs. */
typedef enum devo_loss {
    DEVO_LOSS_NONE = 0, /* no built-in loss: only a custom or accuracy fitness */
    DEVO_LOSS_MSE = 1,  /* mean over outputs of (y - t)^2, mean over samples */
    DEVO_LOSS_BINARY_CROSSENTROPY = 2,      /* mean over outputs, targets in [0,1] */
    DEVO_LOSS_CATEGORICAL_CROSSENTROPY = 3, /* one-hot (or probability) targets */
    DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 4 /* integer class indices */
} devo_loss;

/* Creates an empty model whose inputs have input_dim features (> 0).
 * *out receives the model; free it with devo_model_free. */
DEVO_API devo_status devo_model_create(devo_model **out, size_t input_dim);

/* Appends a dense layer of `units` (> 0) outputs with activation `act`.
 * DEVO_ERR_INVALID_ARGUMENT after devo_model_compile. */
DEVO_API devo_status devo_model_add_dense(devo_model *m, size_t units, devo_activation act);

/* Fixes the architecture (at least one layer), sets the loss, and draws Keras'
 * default initial weights (Glorot-uniform kernels, zero biases) from seed 0.
 * Compiling twice is an error. */
DEVO_API devo_status devo_model_compile(devo_model *m, devo_loss loss);

/* Draws the initial weights again (Glorot-uniform kernels, zero biases) from
 * `seed`; the same seed gives the same weights. Needs a compiled model. */
DEVO_API devo_status devo_model_init_weights(devo_model *m, uint64_t seed);

/* Shape queries; 0 for NULL. param_count and output_dim are 0 before a layer is added. */
DEVO_API size_t devo_model_param_count(const devo_model *m);
DEVO_API size_t devo_model_input_dim(const devo_model *m);
DEVO_API size_t devo_model_output_dim(const devo_model *m);
DEVO_API size_t devo_model_layer_count(const devo_model *m);
/* Units and activation of layer `index` (0-based); DEVO_ERR_INVALID_ARGUMENT out of range.
 * Either output pointer may be NULL. */
DEVO_API devo_status devo_model_layer(const devo_model *m, size_t index, size_t *units,
                                      devo_activation *act);
/* The compiled loss; DEVO_LOSS_NONE before compile or for NULL. */
DEVO_API devo_loss devo_model_loss(const devo_model *m);
/* Nonzero once compiled. */
DEVO_API int devo_model_is_compiled(const devo_model *m);

/* The weights as one flat vector of param_count floats, layer by layer, each
 * layer's kernel (inputs x units, row-major, Keras' order) then its bias.
 * `count` must equal devo_model_param_count(m). The model must be compiled. */
DEVO_API devo_status devo_model_get_weights(const devo_model *m, float *dst, size_t count);
DEVO_API devo_status devo_model_set_weights(devo_model *m, const float *src, size_t count);

/* Forward pass: x is n x input_dim, y (caller-allocated) is n x output_dim. */
DEVO_API devo_status devo_model_predict(const devo_model *m, const float *x, size_t n, float *y);

/* Loss and accuracy over n samples (targets laid out as devo_loss says).
 * Accuracy: argmax of the output against the class index (sparse) or the
 * target row's argmax; with one output, (output > 0.5) == (target > 0.5). A sample
 * with a NaN output is never counted right.
 * Either result pointer may be NULL; asking for the loss of a DEVO_LOSS_NONE
 * model is DEVO_ERR_INVALID_ARGUMENT. */
DEVO_API devo_status devo_model_evaluate(const devo_model *m, const float *x, const float *y,
                                         size_t n, double *loss, double *accuracy);

/* Saves a compiled model as safetensors: an 8-byte little-endian header length,
 * a JSON header, then raw little-endian F32 tensors, one kernel (inputs x units)
 * and one bias (units) per layer, named as Keras names them ("dense/kernel",
 * "dense/bias", "dense_1/kernel", ...). __metadata__ holds the architecture
 * ("input_dim", "layers" as "30:relu,10:softmax", "loss") and "devo_format_version".
 * Writes a temporary file "PATH.tmp-XXXXXX" in the same directory and renames
 * it over `path`, so a crash never leaves a half-written model under the final
 * name. A new file gets 0666 & ~umask; a replaced file keeps its mode. If `path`
 * is a symlink, the file it points to is written (created if the link dangles)
 * and the link stays a link. Temporaries of that naming left by a killed save
 * are removed (never one a live save holds: writers lock theirs). A non-finite
 * weight is DEVO_ERR_NUMERIC naming the tensor and element (nothing is written). */
DEVO_API devo_status devo_model_save(const devo_model *m, const char *path);

/* Loads a model saved by devo_model_save (or any safetensors file with the same
 * metadata and tensors). Everything is validated before use: header length
 * against the file size, the JSON, the metadata, dtypes, shapes against the
 * architecture, offsets in bounds, not overlapping, and covering every byte of
 * the data section, finite values. Anything wrong is DEVO_ERR_FORMAT naming the
 * problem; a missing or unreadable file is DEVO_ERR_IO. *out gets a compiled model. */
DEVO_API devo_status devo_model_load(devo_model **out, const char *path);

/* The safetensors format version devo writes ("devo_format_version" in __metadata__). */
#define DEVO_FORMAT_VERSION 1

/* A deep copy of a model (architecture, loss, weights). */
DEVO_API devo_status devo_model_clone(const devo_model *m, devo_model **out);

/* Frees a model; NULL is fine. */
DEVO_API void devo_model_free(devo_model *m);

/* ---------------------------------------------------------------- evolution */
typedef enum devo_fitness {
    DEVO_FITNESS_NEG_LOSS = 0, /* minus the compiled loss: the default */
    DEVO_FITNESS_ACCURACY = 1
} devo_fitness;

typedef enum devo_backend {
    DEVO_BACKEND_AUTO = 0, /* CUDA when built and a device is present, else CPU */
    DEVO_BACKEND_CPU = 1,
    DEVO_BACKEND_CUDA = 2
} devo_backend;

typedef enum devo_precision {
    DEVO_PRECISION_FP32 = 0, /* the default */
    DEVO_PRECISION_TF32 = 1, /* CUDA only */
    DEVO_PRECISION_BF16 = 2  /* GEMM operands rounded to BF16, FP32 accumulation: CUDA, and
                                CPUs with AVX512-BF16 or AMX-BF16 (oneDNN) */
} devo_precision;

/* What one generation looked like; passed to on_generation and kept in the history. */
typedef struct devo_generation_stats {
    size_t generation;      /* from 1 */
    size_t max_generations; /* the run's planned number (0 in ask/tell) */
    double best;            /* best elite fitness */
    double mean;            /* mean of the top_k elite fitnesses (the seed's "score") */
    double std;             /* sample std (ddof=1) of the elites; 0 when top_k == 1 */
    double population_mean; /* mean over every individual with a non-NaN fitness */
    double best_ever;       /* best `best` so far in this run */
    uint64_t evaluations;   /* individual fitness evaluations so far (cumulative) */
    double seconds;         /* wall time since the run started */
    double center;          /* ES strategies: the centre's fitness on this generation's samples
                               (NaN in ask/tell, where devo does not score); NaN for the GA */
    const devo_model *model; /* devo_fit_evolve's on_generation only (else NULL): the run's
                               answer so far (the centre, or the GA's best), borrowed for the
                               call: evaluate it on held-out data, save it */
} devo_generation_stats;

/* How a run searches. The GA is SEED.md's algorithm; the others are evolution
 * strategies: a Gaussian search distribution (centre, per-parameter sigma) whose
 * centre is what they return (devo_fit_evolve, devo_evolver_best). Their distribution
 * and update stay on the host; they evaluate on the backend the options choose, CPU or
 * CUDA, in DEVO_PRECISION_FP32 only. */
typedef enum devo_strategy {
    DEVO_STRATEGY_GA = 0,        /* truncation selection, crossover, mutation: the default */
    DEVO_STRATEGY_OPENAI_ES = 1, /* Salimans et al. 2017: antithetic, centred ranks, Adam,
                                    weight decay; sigma constant */
    DEVO_STRATEGY_PGPE = 2,      /* Sehnke et al. 2010, symmetric sampling, per-parameter sigma,
                                    ClipUp steps on the centre (Toklu et al. 2020) */
    DEVO_STRATEGY_SNES = 3       /* separable NES (Schaul et al. 2011): rank utilities,
                                    natural-gradient steps on centre and per-parameter sigma */
} devo_strategy;

/* A custom fitness, higher is better, need not be differentiable. `candidate`
 * holds one individual's weights (borrowed for the call); x and y are the
 * samples it is judged on (all of them, or this generation's subset). */
typedef double (*devo_fitness_fn)(const devo_model *candidate, const float *x, const float *y,
                                  size_t n, void *user);

/* A batched custom fitness (since 0.3), higher is better: one call scores `population`
 * individuals from their outputs, (population, n, outputs) floats (each individual's activated
 * outputs on the same n samples), against y, the n targets of those samples laid out as the
 * caller gave them (n x the target width the model's loss implies; n x outputs for
 * DEVO_LOSS_NONE). Write the population fitnesses to fitness and return 0; nonzero stops the
 * run with DEVO_ERR_CALLBACK (the model unchanged). One call per generation (an evolution
 * strategy: one more, population 1, for its centre), so it costs one forward pass of the
 * population plus the callback: the fast way to a fitness devo does not have built in.
 * output_dim is the model's output width. */
typedef int (*devo_batch_fitness_fn)(const float *outputs, const float *y, size_t population,
                                     size_t n, size_t output_dim, double *fitness, void *user);

/* Called after each generation; return nonzero to stop the run cleanly. */
typedef int (*devo_generation_fn)(const devo_generation_stats *stats, void *user);

typedef struct devo_evolve_options {
    size_t max_generations;   /* 100 */
    size_t population;        /* 16: individuals per generation, >= 2 */
    size_t top_k;             /* 4: elites kept, 1..population */
    double mutation_rate;     /* 0.2: per-weight probability of mutation, in [0,1] */
    double mutation_std;      /* 0.03: std of the additive Gaussian mutation, in [0, FLT_MAX] */
    double init_std;          /* 0.03: std of the noise that makes the first population, in [0, FLT_MAX] */
    int verbose;              /* 1: 0 silent, 1 one line per generation (stdout), 2 progress bar (stderr) */
    devo_fitness fitness;     /* DEVO_FITNESS_NEG_LOSS */
    devo_fitness_fn fitness_fn; /* NULL; non-NULL replaces `fitness` */
    void *fitness_user;       /* passed to fitness_fn */
    size_t batch_size;        /* 1024: samples per evaluation chunk; bounds memory */
    size_t fitness_samples;   /* 0: all n samples each generation; k > 0: a fresh random subset of
                                 k samples each generation (elites re-evaluated on it) */
    uint64_t seed;            /* 0: every random draw of a run comes from it */
    devo_backend backend;     /* DEVO_BACKEND_AUTO */
    int threads;              /* 0: all cores; CPU backend threads */
    devo_generation_fn on_generation; /* NULL */
    void *on_generation_user;
    devo_precision precision; /* DEVO_PRECISION_FP32 */
    /* Fields since 0.2 (see "ABI" below). The GA ignores them; mutation_*, init_std and
     * top_k are the GA's (top_k also sets which individuals the statistics call elites). */
    devo_strategy strategy;   /* DEVO_STRATEGY_GA */
    double learning_rate;     /* 0: the strategy's default; OpenAI-ES: Adam step (0.01),
                                 PGPE: ClipUp step (0.15), SNES: centre step (1); >= 0 */
    double sigma;             /* 0: the strategy's default (OpenAI-ES 0.02, PGPE 0.05, SNES
                                 0.05): the initial std of the perturbations; >= 0 */
    size_t perturbation_rank; /* 0: full-rank Gaussian perturbations; r >= 1: every kernel is
                                 perturbed by A B^T / sqrt(r), A (inputs, r), B (units, r)
                                 Gaussian, biases by full Gaussian noise; r <= min(inputs, units)
                                 of every layer */
    double weight_decay;      /* 0: L2 pull of the centre, lambda in g - lambda * centre
                                 (PGPE: centre -= step * lambda * centre after ClipUp); >= 0 */
    double sigma_final;       /* 0: no schedule; else sigma (and OpenAI-ES/PGPE's learning rate
                                 in proportion) decays geometrically to this by max_generations */
    /* Fields since 0.3: */
    devo_batch_fitness_fn batch_fitness_fn; /* NULL; non-NULL replaces `fitness` (not with
                                 fitness_fn, nor spread over MPI processes); the outputs
                                 buffer holds population x samples x outputs floats */
    void *batch_fitness_user; /* passed to batch_fitness_fn */
} devo_evolve_options;

/* ABI: programs built against devo 0.1's header, whose devo_evolve_options,
 * devo_generation_stats and devo_history end before the fields marked "since 0.2",
 * and against 0.2's, whose devo_evolve_options ends before the fields "since 0.3",
 * keep working with this library: the calls that read or write those structs are
 * versioned below (the older symbols remain and see their own layouts; 0.1's run the GA). */
#define devo_evolve_options_init devo_evolve_options_init_v3
#define devo_fit_evolve devo_fit_evolve_v3
#define devo_evolver_create devo_evolver_create_v3
#define devo_evolver_stats devo_evolver_stats_v2
#define devo_history_free devo_history_free_v2
#define devo_evolver_load_state devo_evolver_load_state_v3
#define devo_state_options devo_state_options_v3
#define devo_evolver_options devo_evolver_options_v3

/* Fills *o with the defaults above (deepevolution's). NULL is ignored. */
DEVO_API void devo_evolve_options_init(devo_evolve_options *o);

/* Per-generation records of a run; every array has `generations` entries. */
typedef struct devo_history {
    size_t generations;
    double *best;
    double *mean;
    double *std;
    double *population_mean;
    double *best_ever;
    uint64_t *evaluations;
    double *seconds;
    double *center; /* since 0.2: the centre's fitness (NaN for the GA) */
} devo_history;

/* Frees the arrays of *h and zeroes it; NULL is fine. The struct itself is the caller's. */
DEVO_API void devo_history_free(devo_history *h);

/* The seed's fit_evolve: evolves m's weights on x (n x inputs) and y (targets
 * as devo_loss says). `hist` may be NULL; otherwise it must be zeroed or hold
 * a previous devo history (its arrays are freed first) and is filled with one
 * entry per generation run. On return, also when stopped early by
 * on_generation, m holds the best individual of the last evaluated generation.
 * DEVO_ERR_NUMERIC if every fitness of a generation is NaN (m is then unchanged). */
DEVO_API devo_status devo_fit_evolve(devo_model *m, const float *x, const float *y, size_t n,
                                     const devo_evolve_options *opt, devo_history *hist);

/* -------------------------------------------------------------- ask / tell */
/* For loops outside devo (reinforcement learning, simulators): ask for the
 * population, score every individual yourself, tell the scores. */
typedef struct devo_evolver devo_evolver;

/* Creates an evolver whose first population is made from m's weights
 * (individual 0 unchanged, the others plus N(0, init_std) noise). Uses
 * population, top_k, mutation_rate, mutation_std, init_std, seed, backend,
 * threads and precision from opt (NULL: defaults). m is not kept. */
DEVO_API devo_status devo_evolver_create(devo_evolver **out, const devo_model *m,
                                         const devo_evolve_options *opt);

/* A host view of the current population: *weights is population x dim floats,
 * row i is individual i laid out as devo_model_get_weights. The view is owned
 * by the evolver and valid until the next tell or free. Any output may be NULL. */
DEVO_API devo_status devo_evolver_ask(devo_evolver *e, const float **weights, size_t *population,
                                      size_t *dim);

/* Tells the P fitnesses of the current population (higher is better, NaN
 * ranks last): selects the top_k, then makes the next generation (the elites
 * unchanged in rows 0..top_k-1, then the children). DEVO_ERR_NUMERIC if every
 * score is NaN (the population does not change). */
DEVO_API devo_status devo_evolver_tell(devo_evolver *e, const double *fitness);

/* The statistics of the last told generation into *stats.
 * DEVO_ERR_INVALID_ARGUMENT before the first tell. */
DEVO_API devo_status devo_evolver_stats(const devo_evolver *e, devo_generation_stats *stats);

/* Runs every individual on its own inputs in one batched call: x is
 * population x rows x inputs, y (caller-allocated) is population x rows x outputs. */
DEVO_API devo_status devo_evolver_forward(devo_evolver *e, const float *x, size_t rows, float *y);

/* Since 0.3: runs every individual of the current population on the same inputs: x is
 * n x inputs, y (caller-allocated) is population x n x outputs, the activated outputs
 * (individual i's are y + i n outputs). On the CPU a full-rank population takes the path
 * of the built-in fitness (one GEMM per block of individuals for the first layer). An
 * evolver spread over MPI processes: DEVO_ERR_UNSUPPORTED. */
DEVO_API devo_status devo_evolver_predict(devo_evolver *e, const float *x, size_t n, float *y);

/* Copies the best individual of the last told generation into dst (a model of
 * the same architecture) and its fitness into *fitness (may be NULL).
 * DEVO_ERR_INVALID_ARGUMENT before the first tell. */
DEVO_API devo_status devo_evolver_best(const devo_evolver *e, devo_model *dst, double *fitness);

/* Generations told so far. */
DEVO_API size_t devo_evolver_generation(const devo_evolver *e);

/* Frees an evolver; NULL is fine. */
DEVO_API void devo_evolver_free(devo_evolver *e);

/* Number of CUDA devices usable by devo; 0 when CUDA is not built in or none is present. */
DEVO_API int devo_cuda_device_count(void);

/* Nonzero when `backend` can run here (AUTO always can). */
DEVO_API int devo_backend_available(devo_backend backend);

/* ------------------------------------------------------- checkpoint / resume */
/* devo_fit_evolve's loop on an existing evolver: runs its generations
 * devo_evolver_generation(e) + 1 .. max_generations of its options on x, y (as
 * devo_fit_evolve takes them), so an evolver from devo_evolver_load_state
 * continues the saved run exactly. Each generation is selected and bred before
 * on_generation is called, so a state saved there resumes bit for bit. `m`
 * (same architecture) gets the best individual of the last generation; `hist`
 * (may be NULL; zeroed or a devo history) gets every generation of the run,
 * the resumed ones included. */
DEVO_API devo_status devo_evolver_fit(devo_evolver *e, devo_model *m, const float *x,
                                      const float *y, size_t n, devo_history *hist);

/* Saves everything that decides the rest of e's run to `path` (safetensors; see
 * docs/checkpoint.md): the architecture, the strategy, the GA's population
 * (P x D) or an ES's centre, sigma and optimiser state, the last fitnesses and
 * ranking, the best individual (an ES: its centre), the generation, the seed
 * and every option (the minibatch sampler's position is the generation:
 * subsets are drawn from (seed, generation)), the history so far, best_ever and
 * the evaluation count, and a format version (DEVO_STATE_VERSION). Written to a
 * temporary file in the same directory, fsync'd, then renamed over `path`. */
DEVO_API devo_status devo_evolver_save_state(const devo_evolver *e, const char *path);

/* Creates *out from a state saved by devo_evolver_save_state; the next generation it makes is
 * the one the saved run would have made. Every part of the file is validated first (anything
 * wrong is DEVO_ERR_FORMAT naming it; an unreadable file DEVO_ERR_IO). `overrides` NULL: the
 * saved options (no callbacks). Otherwise only fields that cannot change the trajectory may
 * differ from the saved ones: max_generations, verbose, threads, on_generation and
 * on_generation_user, fitness_user, batch_fitness_user, and the custom fitness: one of
 * fitness_fn and batch_fitness_fn must be set exactly when the saved run had a custom fitness
 * (the caller vouches it is the same function). Any other
 * difference is DEVO_ERR_INVALID_ARGUMENT naming the field (max_generations too for an ES
 * with sigma_final, whose schedule spans the saved max_generations). Version 1 (GA) files
 * still load. */
DEVO_API devo_status devo_evolver_load_state(devo_evolver **out, const char *path,
                                             const devo_evolve_options *overrides);

/* The options a state file was saved with (callbacks NULL), read from its header only,
 * validated as devo_evolver_load_state does: a base for its overrides. */
DEVO_API devo_status devo_state_options(const char *path, devo_evolve_options *opt);

/* Names the data e is fitted on (the CLI: its --data directory; NULL keeps the name), kept in
 * its state file beside the data's fingerprint (a CRC-32 of n, x and y that devo_evolver_fit
 * takes). The first devo_evolver_fit of an evolver loaded from a state file refuses data whose
 * fingerprint differs from the saved one (DEVO_ERR_INVALID_ARGUMENT naming both) unless
 * accept_other_data is nonzero. */
DEVO_API devo_status devo_evolver_set_data(devo_evolver *e, const char *name,
                                           int accept_other_data);

/* The data name a state file was saved with into name (size bytes, NUL-terminated; "" when it
 * has none: ask/tell, or a file older than version 3). DEVO_ERR_INVALID_ARGUMENT when it does
 * not fit. */
DEVO_API devo_status devo_state_data(const char *path, char *name, size_t size);

/* The evolver's options (as created, loaded or overridden). */
DEVO_API devo_status devo_evolver_options(const devo_evolver *e, devo_evolve_options *opt);

/* A new model (free it with devo_model_free) of e's architecture and loss holding the best
 * individual of the last told generation (before any: the weights e was created from). */
DEVO_API devo_status devo_evolver_model(const devo_evolver *e, devo_model **out);

/* A copy of e's history (one entry per told or evolved generation) into *hist
 * (zeroed or a devo history, freed first). */
DEVO_API devo_status devo_evolver_history(const devo_evolver *e, devo_history *hist);

/* The state file version devo writes ("devo_state_version" in __metadata__). */
#define DEVO_STATE_VERSION 3

/* ------------------------------------------------------------------ datasets */
typedef struct devo_dataset devo_dataset;

/* Loads an IDX pair (the MNIST family): images are unsigned-byte IDX of rank
 * 2 to 4 (n x d1 [x d2 [x d3]]), labels unsigned-byte IDX of rank 1 (n),
 * each plain or gzip-compressed (detected by content). Everything is
 * validated (magic, rank, dimensions, sizes against the real data, matching
 * counts); anything malformed is DEVO_ERR_FORMAT naming the file and offset.
 * Sizes are checked before data is inflated: a plain file must hold exactly
 * the declared bytes; a gzip file declaring over 16 MiB may not declare more
 * than 256 times its own size (a gzip bomb: DEVO_ERR_FORMAT naming both sizes).
 * Memory peaks at the floats of the result. A directory is DEVO_ERR_IO. */
DEVO_API devo_status devo_dataset_load_idx(devo_dataset **out, const char *images_path,
                                           const char *labels_path);

/* Loads `split` ("train" or "t10k", any prefix) from directory dir: the files
 * SPLIT-images-idx3-ubyte and SPLIT-labels-idx1-ubyte, each with or without ".gz". */
DEVO_API devo_status devo_dataset_load_idx_dir(devo_dataset **out, const char *dir,
                                               const char *split);

/* n x dim floats, pixels scaled to [0,1]; owned by the dataset. NULL for NULL. */
DEVO_API const float *devo_dataset_x(const devo_dataset *d);
/* n class indices stored as floats; owned by the dataset. NULL for NULL. */
DEVO_API const float *devo_dataset_y(const devo_dataset *d);
DEVO_API size_t devo_dataset_count(const devo_dataset *d);
DEVO_API size_t devo_dataset_dim(const devo_dataset *d);
/* 1 + the largest label (the number of classes it implies). */
DEVO_API size_t devo_dataset_classes(const devo_dataset *d);
/* Frees a dataset; NULL is fine. */
DEVO_API void devo_dataset_free(devo_dataset *d);

#ifdef __cplusplus
}
#endif

#endif /* DEVO_H */
