/*
 * test_mpi.c - libdevo_mpi under mpirun -np 1, 2, 3 (ctest Mpi.*): the run spread
 * over the ranks ends with the weights and history (all but wall time) of
 * devo_fit_evolve in one process, bit for bit (P = 10 over 3 ranks included), with
 * and without sample subsets and with a custom fitness, for the GA and each
 * evolution strategy (full and low rank); a rank that fails ends every rank with
 * its message; a checkpoint written under MPI resumes in one process and under
 * MPI (the GA's and an ES's); every rank's traffic per generation is O(P + k*D),
 * a low-rank ES's O(P), a full-rank ES's O(P + D) (its update sums pass rank to rank); a
 * rank's population holds only its share (plus the elites), and a full-rank ES rank draws only
 * the directions of its share.
 * Exits nonzero on any failure, naming it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devo_mpi.h"
#include "evolver.h"
#include "share.h"

static int rank, size, failures;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            fprintf(stderr, "rank %d: %s:%d: ", rank, __FILE__, __LINE__);                     \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fprintf(stderr, " (%s)\n", devo_last_error());                                     \
        }                                                                                      \
    } while (0)

enum { N = 120, INPUTS = 6, CLASSES = 3, G = 12 };
static float x[N * INPUTS], y[N];

/* The folder for temporary files: $DEVO_TEST_TMP (ctest sets it), else /tmp/devo-tests. */
static const char *test_tmp(void)
{
    const char *dir = getenv("DEVO_TEST_TMP");
    return dir && *dir ? dir : "/tmp/devo-tests";
}

static void make_data(void)
{
    uint32_t s = 99;
    for (int i = 0; i < N; i++) {
        y[i] = (float)(i % CLASSES);
        for (int j = 0; j < INPUTS; j++) {
            s = s * 1664525u + 1013904223u;
            x[i * INPUTS + j] = (float)((s >> 8) % 1000) / 1000.0f + (j == i % CLASSES);
        }
    }
}

/* A 6-30-3 network (30 units as the seed's first layer: the rank shares of P = 10 cut the
 * CPU evaluator's blocks of 8 slots, whose fitnesses must not depend on the cut). */
static devo_model *model(size_t hidden)
{
    devo_model *m = NULL;
    devo_model_create(&m, INPUTS);
    devo_model_add_dense(m, hidden, DEVO_ACT_RELU);
    devo_model_add_dense(m, CLASSES, DEVO_ACT_SOFTMAX);
    devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    devo_model_init_weights(m, 5);
    return m;
}

static devo_evolve_options options(size_t fitness_samples)
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.max_generations = G;
    o.population = 10;
    o.top_k = 3;
    o.seed = 17;
    o.threads = 1;
    o.fitness_samples = fitness_samples;
    return o;
}

static double custom(const devo_model *m, const float *xs, const float *ys, size_t n, void *user)
{
    (void)user;
    double accuracy = 0.0;
    devo_model_evaluate(m, xs, ys, n, NULL, &accuracy);
    return accuracy;
}

static int same_weights(const devo_model *a, const devo_model *b)
{
    size_t D = devo_model_param_count(a);
    float *wa = malloc(D * sizeof *wa), *wb = malloc(D * sizeof *wb);
    devo_model_get_weights(a, wa, D);
    devo_model_get_weights(b, wb, D);
    int same = D == devo_model_param_count(b) && memcmp(wa, wb, D * sizeof *wa) == 0;
    free(wa);
    free(wb);
    return same;
}

static int same_history(const devo_history *a, const devo_history *b)
{
    if (a->generations != b->generations) return 0;
    size_t bytes = a->generations * sizeof(double);
    return memcmp(a->best, b->best, bytes) == 0 && memcmp(a->mean, b->mean, bytes) == 0 &&
           memcmp(a->std, b->std, bytes) == 0 &&
           memcmp(a->population_mean, b->population_mean, bytes) == 0 &&
           memcmp(a->best_ever, b->best_ever, bytes) == 0 &&
           memcmp(a->center, b->center, bytes) == 0 && // an ES's centre; NaN for the GA
           memcmp(a->evaluations, b->evaluations, a->generations * sizeof(uint64_t)) == 0;
}

/* Traffic of `generations` generations against its bounds: at most `most` bytes a generation
 * either way, and, over several ranks, at least the fitness of the `slots` scored by the
 * other ranks (a run that was not spread moves nothing). */
static void check_traffic(const char *what, devo_evolver *e, uint64_t generations,
                          uint64_t most, size_t slots)
{
    uint64_t sent = 0, received = 0;
    CHECK(devo_evolver_mpi_traffic(e, &sent, &received) == DEVO_OK, "%s traffic", what);
    CHECK(sent / generations <= most && received / generations <= most,
          "%s traffic per generation %llu / %llu bytes, bound %llu", what,
          (unsigned long long)(sent / generations), (unsigned long long)(received / generations),
          (unsigned long long)most);
    uint64_t others = size > 1 ? 8 * (slots - (slots + (size_t)size - 1) / (size_t)size) : 0;
    CHECK(received / generations >= others && (size == 1 || sent > 0),
          "%s: received %llu bytes a generation over %d ranks, less than the others' %llu "
          "bytes of fitness: not spread", what, (unsigned long long)(received / generations),
          size, (unsigned long long)others);
}

/* devo_fit_evolve_mpi (data on rank 0 only) against devo_fit_evolve on every rank alone. */
static void spread_run_equals_one_process(const char *what, devo_evolve_options o)
{
    devo_model *alone = model(30), *spread = model(30);
    devo_history ha = {0}, hs = {0};
    CHECK(devo_fit_evolve(alone, x, y, N, &o, &ha) == DEVO_OK, "%s: one process", what);
    devo_status s = devo_fit_evolve_mpi(MPI_COMM_WORLD, spread, rank == 0 ? x : NULL,
                                        rank == 0 ? y : NULL, rank == 0 ? N : 0, &o, &hs);
    CHECK(s == DEVO_OK, "%s: spread", what);
    CHECK(same_weights(alone, spread), "%s: weights differ", what);
    CHECK(same_history(&ha, &hs), "%s: history differs", what);
    devo_history_free(&ha);
    devo_history_free(&hs);
    devo_model_free(alone);
    devo_model_free(spread);
}

/* The last rank passes another architecture: every rank gets its failure, none hangs. */
static void failing_rank_fails_every_rank(void)
{
    devo_model *m = model(rank == size - 1 && size > 1 ? 16 : 30);
    devo_evolve_options o = options(0);
    devo_status s = devo_fit_evolve_mpi(MPI_COMM_WORLD, m, x, y, N, &o, NULL);
    if (size == 1) {
        CHECK(s == DEVO_OK, "one rank has nothing to disagree with");
    } else {
        char want[32];
        snprintf(want, sizeof want, "rank %d: ", size - 1);
        CHECK(s == DEVO_ERR_INVALID_ARGUMENT, "a different model on rank %d", size - 1);
        CHECK(strstr(devo_last_error(), want) != NULL, "message names rank %d", size - 1);
    }
    // Options that differ on one rank.
    devo_evolver *e = NULL;
    o.seed = rank == size - 1 ? 18 : 17;
    s = devo_evolver_create_mpi(&e, MPI_COMM_WORLD, m, &o);
    CHECK(size == 1 ? s == DEVO_OK : s == DEVO_ERR_INVALID_ARGUMENT && e == NULL,
          "options differing on one rank");
    devo_evolver_free(e);
    devo_model_free(m);
    // Starting weights that differ on one rank (an ES's centre would differ): refused, named.
    m = model(30);
    if (rank == size - 1) devo_model_init_weights(m, 6);
    o = options(0);
    o.strategy = DEVO_STRATEGY_OPENAI_ES;
    e = NULL;
    s = devo_evolver_create_mpi(&e, MPI_COMM_WORLD, m, &o);
    CHECK(size == 1 ? s == DEVO_OK
                    : s == DEVO_ERR_INVALID_ARGUMENT && strstr(devo_last_error(), "weights="),
          "starting weights differing on one rank: %s", devo_last_error());
    devo_evolver_free(e);
    devo_model_free(m);
}

static int stop_at_five(const devo_generation_stats *s, void *user)
{
    (void)user;
    return s->generation == 5;
}

/* Saved under MPI at generation 5, resumed in one process and under MPI: the full run. */
static void checkpoint_resumes_anywhere(void)
{
    devo_evolve_options o = options(0);
    devo_model *full = model(30);
    devo_history hf = {0};
    devo_fit_evolve(full, x, y, N, &o, &hf);

    char path[256];
    snprintf(path, sizeof path, "%s/mpi-state-%d-%d", test_tmp(), size, (int)getppid());
    if (rank == 0) {
        char command[300];
        snprintf(command, sizeof command, "mkdir -p '%s'", test_tmp());
        CHECK(system(command) == 0, "mkdir");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    devo_model *m = model(30);
    devo_evolver *e = NULL;
    devo_evolve_options first = o;
    first.max_generations = 5;
    CHECK(devo_evolver_create_mpi(&e, MPI_COMM_WORLD, m, &first) == DEVO_OK, "create");
    CHECK(devo_evolver_fit(e, m, x, y, N, NULL) == DEVO_OK, "first 5 generations");
    size_t P = 10, k = 3, D = devo_model_param_count(m);
    // Per generation: fitness shares, k elites, a few agreement words: O(P + k*D), < P*D;
    // the elites keep their fitness, so the P - k children's cross.
    check_traffic("ga", e, 5, 8 * P + 4 * k * D + 64, P - k);
    CHECK(devo_evolver_save_state(e, path) == DEVO_OK, "collective save");
    devo_evolver_free(e);

    devo_evolve_options more = o;
    if (rank == 0) { // one process resumes what the ranks saved
        devo_evolver *alone = NULL;
        devo_history h = {0};
        CHECK(devo_evolver_load_state(&alone, path, &more) == DEVO_OK, "load alone");
        CHECK(devo_evolver_fit(alone, m, x, y, N, &h) == DEVO_OK, "resume alone");
        CHECK(same_weights(full, m) && same_history(&hf, &h), "resumed alone differs");
        devo_history_free(&h);
        devo_evolver_free(alone);
    }
    devo_model *again = model(30);
    devo_history h = {0};
    CHECK(devo_evolver_load_state_mpi(&e, MPI_COMM_WORLD, path, &more) == DEVO_OK, "load spread");
    CHECK(devo_evolver_fit(e, again, x, y, N, &h) == DEVO_OK, "resume spread");
    CHECK(same_weights(full, again) && same_history(&hf, &h), "resumed spread differs");
    devo_evolver_free(e);
    devo_history_free(&h);
    devo_history_free(&hf);
    devo_model_free(again);
    devo_model_free(m);
    devo_model_free(full);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) unlink(path);
}

/* An ES saved under MPI at generation 5 (only fitnesses crossed) resumes in one process. */
static void es_checkpoint_resumes_anywhere(void)
{
    devo_evolve_options o = options(0);
    o.strategy = DEVO_STRATEGY_PGPE;
    o.perturbation_rank = 1;
    devo_model *full = model(16), *m = model(16);
    devo_history hf = {0}, h = {0};
    devo_fit_evolve(full, x, y, N, &o, &hf);
    char path[256];
    snprintf(path, sizeof path, "%s/mpi-es-state-%d-%d", test_tmp(), size, (int)getppid());
    devo_evolver *e = NULL;
    devo_evolve_options first = o;
    first.on_generation = stop_at_five;
    CHECK(devo_evolver_create_mpi(&e, MPI_COMM_WORLD, m, &first) == DEVO_OK, "es create");
    CHECK(devo_evolver_fit(e, m, x, y, N, NULL) == DEVO_OK, "es first 5 generations");
    size_t P = 10;
    check_traffic("es", e, 5, 8 * P + 64, P);
    CHECK(devo_evolver_save_state(e, path) == DEVO_OK, "es collective save");
    devo_evolver_free(e);
    if (rank == 0) {
        devo_evolver *alone = NULL;
        CHECK(devo_evolver_load_state(&alone, path, &o) == DEVO_OK, "es load alone");
        CHECK(devo_evolver_fit(alone, m, x, y, N, &h) == DEVO_OK, "es resume alone");
        CHECK(same_weights(full, m) && same_history(&hf, &h), "es resumed alone differs");
        devo_history_free(&h);
        devo_evolver_free(alone);
    }
    devo_history_free(&hf);
    devo_model_free(m);
    devo_model_free(full);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) unlink(path);
}

/* A rank's device allocates only its part of the population: the k elites' rows, its share of
 * the other P - k slots (share.h: P / ranks rounded up at most), and, spread over several
 * ranks, room for the k elites it receives; a full-rank ES, only its share (no elites). Its
 * run still ends as the one-process run does (spread_run_equals_one_process). */
static void rank_holds_only_its_share(const char *what, devo_evolve_options o)
{
    o.backend = DEVO_BACKEND_CPU; // the CUDA device still holds every slot (device.h)
    devo_model *m = model(30);
    devo_evolver *e = NULL;
    CHECK(devo_evolver_create_mpi(&e, MPI_COMM_WORLD, m, &o) == DEVO_OK, "%s: create", what);
    if (e) {
        devo_device_traffic t;
        e->device->traffic(e->device_ctx, &t);
        size_t k = o.strategy == DEVO_STRATEGY_GA ? o.top_k : 0, first, share;
        devo_share(o.population - k, size, rank, &first, &share);
        size_t want = k + share + (size > 1 ? k : 0);
        CHECK(t.rows == want, "%s: %zu population rows held, want %zu (k %zu + share %zu%s)",
              what, t.rows, want, k, share, size > 1 ? " + k received" : "");
        size_t ceiling = (o.population + (size_t)size - 1) / (size_t)size + 2 * k;
        CHECK(t.rows <= ceiling, "%s: %zu rows exceed P / ranks rounded up + 2k = %zu", what,
              t.rows, ceiling);
        if (o.strategy != DEVO_STRATEGY_GA) { // the directions of its slots, a pair's at most
            size_t dirs = o.population / 2, most = (dirs + (size_t)size - 1) / (size_t)size + 1;
            CHECK(t.directions <= most && (size == 1 || t.directions < dirs),
                  "%s: %zu of %zu directions drawn on %d ranks", what, t.directions, dirs, size);
        }
    }
    devo_evolver_free(e);
    devo_model_free(m);
}

/* A full-rank ES's ranks draw only their own directions, so their update sums pass rank to
 * rank (2 D floats each way, and the finished ones to every rank): per generation
 * O(P + D) bytes, far below the P x D population. */
static void full_rank_es_traffic_is_fitness_and_sums(void)
{
    devo_evolve_options o = options(0);
    o.population = 64;
    o.max_generations = 3;
    o.strategy = DEVO_STRATEGY_OPENAI_ES;
    o.backend = DEVO_BACKEND_CPU;
    devo_model *m = model(30);
    devo_evolver *e = NULL;
    CHECK(devo_evolver_create_mpi(&e, MPI_COMM_WORLD, m, &o) == DEVO_OK, "es create");
    CHECK(e && devo_evolver_fit(e, m, x, y, N, NULL) == DEVO_OK, "es 3 generations");
    uint64_t sent = 0, received = 0;
    CHECK(e && devo_evolver_mpi_traffic(e, &sent, &received) == DEVO_OK, "es traffic");
    size_t P = o.population, D = devo_model_param_count(m), bound = 8 * P + 64 + 32 * D;
    CHECK(sent / 3 <= bound && received / 3 <= bound,
          "full-rank es traffic per generation %llu / %llu bytes, bound %zu, P*D is %zu bytes",
          (unsigned long long)(sent / 3), (unsigned long long)(received / 3), bound, 4 * P * D);
    if (size > 1) CHECK(received > 0, "full-rank es: nothing received over %d ranks", size);
    devo_evolver_free(e);
    devo_model_free(m);
}

int main(void)
{
    MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    make_data();
    spread_run_equals_one_process("all samples", options(0));
    spread_run_equals_one_process("sample subsets", options(50));
    devo_evolve_options c = options(40);
    c.fitness_fn = custom;
    spread_run_equals_one_process("custom fitness", c);
    // Evolution strategies: only fitnesses cross; every rank updates the same centre.
    devo_evolve_options es = options(0);
    es.strategy = DEVO_STRATEGY_OPENAI_ES;
    es.sigma_final = 0.01;
    spread_run_equals_one_process("openai-es", es);
    es.strategy = DEVO_STRATEGY_PGPE;
    es.perturbation_rank = 1;
    spread_run_equals_one_process("pgpe rank 1", es);
    es = options(50);
    es.strategy = DEVO_STRATEGY_SNES;
    spread_run_equals_one_process("snes, sample subsets", es);
    es.perturbation_rank = 2;
    spread_run_equals_one_process("snes rank 2", es);
    devo_evolve_options big = options(0);
    big.population = 64;
    big.top_k = 4;
    rank_holds_only_its_share("ga, P = 64", big);
    big.strategy = DEVO_STRATEGY_OPENAI_ES;
    rank_holds_only_its_share("openai-es, P = 64", big);
    full_rank_es_traffic_is_fitness_and_sums();
    failing_rank_fails_every_rank();
    checkpoint_resumes_anywhere();
    es_checkpoint_resumes_anywhere();
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("%s: %d failures over %d ranks\n", all ? "FAILED" : "passed", all, size);
    MPI_Finalize();
    return all != 0;
}
