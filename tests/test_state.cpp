// Evolver state files: a run saved and resumed continues bit for bit (weights and history but
// wall time), on 1 and 2 threads, with and without sample subsets, through devo_evolver_fit and
// through ask/tell, for the GA and every ES strategy (full and low rank); a version-1 GA file
// still loads; the overrides that may and may not change; and every validation failure of the
// loader, each on a good file with one thing broken.
#include <gtest/gtest.h>
#include <jansson.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "devo.h"
#include "test_paths.h"

namespace {

struct Data {
    std::vector<float> x, y;
    size_t n = 96, inputs = 5;
};

Data data()
{
    Data d;
    uint32_t s = 777;
    for (size_t i = 0; i < d.n; i++) {
        d.y.push_back((float)(i % 3));
        for (size_t j = 0; j < d.inputs; j++) {
            s = s * 1664525u + 1013904223u;
            d.x.push_back((float)((s >> 8) % 1000) / 1000.0f + (j == i % 3 ? 1.0f : 0.0f));
        }
    }
    return d;
}

devo_model *model()
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, 5), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 6, DEVO_ACT_RELU), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 3, DEVO_ACT_SOFTMAX), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    EXPECT_EQ(devo_model_init_weights(m, 3), DEVO_OK);
    return m;
}

devo_evolve_options options(size_t generations, int threads, size_t fitness_samples,
                            devo_strategy strategy = DEVO_STRATEGY_GA, size_t rank = 0)
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.max_generations = generations;
    o.population = 10;
    o.top_k = 3;
    o.seed = 42;
    o.threads = threads;
    o.fitness_samples = fitness_samples;
    o.strategy = strategy;
    o.perturbation_rank = rank;
    if (strategy != DEVO_STRATEGY_GA) { // every schedule and optimiser field in play
        o.sigma_final = 0.01;
        o.weight_decay = 0.001;
    }
    return o;
}

std::string temp_path(const std::string &name)
{
    return test_tmp() + "/state-" + std::to_string(getpid()) + "-" + name;
}

std::vector<float> weights(const devo_model *m)
{
    std::vector<float> w(devo_model_param_count(m));
    EXPECT_EQ(devo_model_get_weights(m, w.data(), w.size()), DEVO_OK);
    return w;
}

// Every history column but the wall time, as bits.
void expect_same_history(const devo_history &a, const devo_history &b)
{
    ASSERT_EQ(a.generations, b.generations);
    for (size_t g = 0; g < a.generations; g++) {
        EXPECT_EQ(std::memcmp(&a.best[g], &b.best[g], 8), 0) << g;
        EXPECT_EQ(std::memcmp(&a.mean[g], &b.mean[g], 8), 0) << g;
        EXPECT_EQ(std::memcmp(&a.std[g], &b.std[g], 8), 0) << g;
        EXPECT_EQ(std::memcmp(&a.population_mean[g], &b.population_mean[g], 8), 0) << g;
        EXPECT_EQ(std::memcmp(&a.best_ever[g], &b.best_ever[g], 8), 0) << g;
        EXPECT_EQ(std::memcmp(&a.center[g], &b.center[g], 8), 0) << g;
        EXPECT_EQ(a.evaluations[g], b.evaluations[g]) << g;
    }
}

// The uninterrupted run against one saved at generation `stop` (from on_generation) and resumed
// on the other thread count.
void expect_exact_resume(int threads, size_t fitness_samples, size_t stop,
                         devo_strategy strategy = DEVO_STRATEGY_GA, size_t rank = 0)
{
    Data d = data();
    const size_t G = 9;
    devo_model *whole = model();
    devo_history full{};
    devo_evolve_options o = options(G, threads, fitness_samples, strategy, rank);
    ASSERT_EQ(devo_fit_evolve(whole, d.x.data(), d.y.data(), d.n, &o, &full), DEVO_OK);

    std::string path = temp_path("resume.devostate");
    devo_model *part = model();
    devo_evolver *e = nullptr;
    struct Saver {
        devo_evolver **e;
        std::string path;
        size_t stop;
    } saver{&e, path, stop};
    devo_evolve_options first = o; // the same run, saved at `stop` and stopped there
    first.on_generation = [](const devo_generation_stats *s, void *user) {
        Saver *v = (Saver *)user;
        if (s->generation != v->stop) return 0;
        EXPECT_EQ(devo_evolver_save_state(*v->e, v->path.c_str()), DEVO_OK) << devo_last_error();
        return 1;
    };
    first.on_generation_user = &saver;
    ASSERT_EQ(devo_evolver_create(&e, part, &first), DEVO_OK) << devo_last_error();
    if (stop == 0) ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK);
    else ASSERT_EQ(devo_evolver_fit(e, part, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
    devo_evolver_free(e);

    devo_evolve_options more;
    ASSERT_EQ(devo_state_options(path.c_str(), &more), DEVO_OK) << devo_last_error();
    EXPECT_EQ(more.strategy, strategy);
    EXPECT_EQ(more.perturbation_rank, rank);
    more.threads = 3 - threads; // resumed on the other thread count
    devo_evolver *r = nullptr;
    ASSERT_EQ(devo_evolver_load_state(&r, path.c_str(), &more), DEVO_OK) << devo_last_error();
    EXPECT_EQ(devo_evolver_generation(r), stop);
    devo_history resumed{};
    ASSERT_EQ(devo_evolver_fit(r, part, d.x.data(), d.y.data(), d.n, &resumed), DEVO_OK);
    EXPECT_EQ(weights(part), weights(whole));
    expect_same_history(full, resumed);
    devo_evolver_free(r);
    devo_history_free(&full);
    devo_history_free(&resumed);
    devo_model_free(whole);
    devo_model_free(part);
    unlink(path.c_str());
}

TEST(StateFile, ResumedRunIsBitIdenticalOneThread) { expect_exact_resume(1, 0, 4); }
TEST(StateFile, ResumedRunIsBitIdenticalTwoThreads) { expect_exact_resume(2, 0, 5); }
TEST(StateFile, ResumedRunWithSampleSubsetsIsBitIdentical) { expect_exact_resume(2, 40, 3); }
TEST(StateFile, ResumeFromTheFirstPopulation) { expect_exact_resume(1, 0, 0); }
TEST(StateFile, OpenAiEsResumesBitIdentically)
{
    expect_exact_resume(1, 0, 4, DEVO_STRATEGY_OPENAI_ES);
    expect_exact_resume(2, 40, 3, DEVO_STRATEGY_OPENAI_ES, 1);
}
TEST(StateFile, PgpeResumesBitIdentically)
{
    expect_exact_resume(2, 0, 5, DEVO_STRATEGY_PGPE);
    expect_exact_resume(1, 0, 3, DEVO_STRATEGY_PGPE, 1);
    expect_exact_resume(1, 0, 0, DEVO_STRATEGY_PGPE, 2);
}
TEST(StateFile, SnesResumesBitIdentically)
{
    expect_exact_resume(1, 0, 4, DEVO_STRATEGY_SNES);
    expect_exact_resume(2, 0, 2, DEVO_STRATEGY_SNES, 1);
}

// A version-1 file (written before the ES strategies; the fuzz corpus's) loads and runs.
TEST(StateFile, VersionOneGaStateStillLoads)
{
    std::string path = test_source("tests/fuzz/corpus/state_load/generation3.ckpt");
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), nullptr), DEVO_OK) << devo_last_error();
    EXPECT_EQ(devo_evolver_generation(e), 3u);
    devo_history h{};
    ASSERT_EQ(devo_evolver_history(e, &h), DEVO_OK);
    ASSERT_EQ(h.generations, 3u);
    EXPECT_TRUE(std::isnan(h.center[2]));
    devo_history_free(&h);
    devo_evolve_options o;
    ASSERT_EQ(devo_evolver_options(e, &o), DEVO_OK);
    EXPECT_EQ(o.strategy, DEVO_STRATEGY_GA);
    devo_evolver_free(e);
}

// ask/tell on an ES: the saved and loaded evolver asks the same population and, told the same,
// moves its centre the same.
TEST(StateFile, EsAskTellStateRoundTrips)
{
    devo_model *m = model();
    devo_evolve_options o = options(0, 1, 0, DEVO_STRATEGY_OPENAI_ES, 1);
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
    std::vector<double> f(10);
    for (int g = 0; g < 3; g++) {
        for (size_t i = 0; i < f.size(); i++) f[i] = std::sin((double)(i * 7 + g));
        ASSERT_EQ(devo_evolver_tell(e, f.data()), DEVO_OK);
    }
    std::string path = temp_path("es-asktell.devostate");
    ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK) << devo_last_error();
    devo_evolver *r = nullptr;
    ASSERT_EQ(devo_evolver_load_state(&r, path.c_str(), nullptr), DEVO_OK) << devo_last_error();
    for (int g = 0; g < 2; g++) {
        const float *a, *b;
        size_t P, D;
        ASSERT_EQ(devo_evolver_ask(e, &a, &P, &D), DEVO_OK);
        ASSERT_EQ(devo_evolver_ask(r, &b, nullptr, nullptr), DEVO_OK);
        EXPECT_EQ(std::memcmp(a, b, P * D * sizeof(float)), 0) << g;
        devo_model *ma = nullptr, *mb = nullptr;
        ASSERT_EQ(devo_evolver_model(e, &ma), DEVO_OK);
        ASSERT_EQ(devo_evolver_model(r, &mb), DEVO_OK);
        EXPECT_EQ(weights(ma), weights(mb)) << g;
        devo_model_free(ma);
        devo_model_free(mb);
        ASSERT_EQ(devo_evolver_tell(e, f.data()), DEVO_OK);
        ASSERT_EQ(devo_evolver_tell(r, f.data()), DEVO_OK);
    }
    devo_evolver_free(e);
    devo_evolver_free(r);
    devo_model_free(m);
    unlink(path.c_str());
}

TEST(StateFile, AskTellStateRoundTripsPopulationAndStatistics)
{
    devo_model *m = model();
    devo_evolve_options o = options(0, 1, 0);
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    std::vector<double> f(10);
    for (int g = 0; g < 3; g++) {
        for (size_t i = 0; i < f.size(); i++) f[i] = std::sin((double)(i * 7 + g));
        ASSERT_EQ(devo_evolver_tell(e, f.data()), DEVO_OK);
    }
    std::string path = temp_path("asktell.devostate");
    ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK);
    devo_evolver *r = nullptr;
    ASSERT_EQ(devo_evolver_load_state(&r, path.c_str(), nullptr), DEVO_OK) << devo_last_error();
    const float *a, *b;
    size_t P, D;
    ASSERT_EQ(devo_evolver_ask(e, &a, &P, &D), DEVO_OK);
    ASSERT_EQ(devo_evolver_ask(r, &b, nullptr, nullptr), DEVO_OK);
    EXPECT_EQ(std::memcmp(a, b, P * D * sizeof(float)), 0);
    devo_generation_stats sa, sb;
    ASSERT_EQ(devo_evolver_stats(e, &sa), DEVO_OK);
    ASSERT_EQ(devo_evolver_stats(r, &sb), DEVO_OK);
    EXPECT_EQ(sa.best, sb.best);
    EXPECT_EQ(sa.evaluations, sb.evaluations);
    EXPECT_EQ(sa.generation, sb.generation);
    // One more tell on each makes the same next generation.
    ASSERT_EQ(devo_evolver_tell(e, f.data()), DEVO_OK);
    ASSERT_EQ(devo_evolver_tell(r, f.data()), DEVO_OK);
    ASSERT_EQ(devo_evolver_ask(e, &a, nullptr, nullptr), DEVO_OK);
    ASSERT_EQ(devo_evolver_ask(r, &b, nullptr, nullptr), DEVO_OK);
    EXPECT_EQ(std::memcmp(a, b, P * D * sizeof(float)), 0);
    devo_history h{};
    ASSERT_EQ(devo_evolver_history(r, &h), DEVO_OK);
    EXPECT_EQ(h.generations, 4u);
    devo_history_free(&h);
    devo_evolver_free(e);
    devo_evolver_free(r);
    devo_model_free(m);
    unlink(path.c_str());
}

// A saved state of 2 generations, for the override and corruption tests.
std::string saved_state(const std::string &name, devo_strategy strategy = DEVO_STRATEGY_GA)
{
    Data d = data();
    devo_model *m = model();
    devo_evolve_options o = options(2, 1, 0, strategy);
    devo_evolver *e = nullptr;
    EXPECT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    EXPECT_EQ(devo_evolver_fit(e, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
    std::string path = temp_path(name);
    EXPECT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK);
    devo_evolver_free(e);
    devo_model_free(m);
    return path;
}

// One override of a trajectory field, and the field the refusal must name.
struct Change {
    const char *field;
    std::function<void(devo_evolve_options &)> apply;
};

void expect_changes_refused(const std::string &path, const devo_evolve_options &saved,
                            const std::vector<Change> &changes)
{
    for (const Change &c : changes) {
        devo_evolve_options bad = saved;
        c.apply(bad);
        devo_evolver *e = nullptr;
        EXPECT_EQ(devo_evolver_load_state(&e, path.c_str(), &bad), DEVO_ERR_INVALID_ARGUMENT)
            << c.field;
        EXPECT_NE(std::string(devo_last_error()).find(c.field), std::string::npos)
            << c.field << ": " << devo_last_error();
        EXPECT_EQ(e, nullptr);
    }
}

TEST(StateFile, OnlyTrajectoryFreeOptionsMayBeOverridden)
{
    std::string path = saved_state("overrides.devostate");
    devo_evolve_options saved;
    ASSERT_EQ(devo_state_options(path.c_str(), &saved), DEVO_OK);
    EXPECT_EQ(saved.population, 10u);
    EXPECT_EQ(saved.seed, 42u);
    devo_evolver *e = nullptr;
    devo_evolve_options ok = saved;
    ok.max_generations = 50;
    ok.verbose = 2;
    ok.threads = 2;
    ok.on_generation = [](const devo_generation_stats *, void *) { return 0; };
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), &ok), DEVO_OK) << devo_last_error();
    devo_evolve_options got;
    ASSERT_EQ(devo_evolver_options(e, &got), DEVO_OK);
    EXPECT_EQ(got.max_generations, 50u);
    EXPECT_EQ(got.threads, 2);
    devo_evolver_free(e);
    std::vector<Change> changes = {
        {"population", [](devo_evolve_options &o) { o.population = 11; }},
        {"top_k", [](devo_evolve_options &o) { o.top_k = 2; }},
        {"mutation_rate", [](devo_evolve_options &o) { o.mutation_rate = 0.3; }},
        {"mutation_std", [](devo_evolve_options &o) { o.mutation_std = 0.1; }},
        {"init_std", [](devo_evolve_options &o) { o.init_std = 0.1; }},
        {"fitness", [](devo_evolve_options &o) { o.fitness = DEVO_FITNESS_ACCURACY; }},
        {"batch_size", [](devo_evolve_options &o) { o.batch_size = 7; }},
        {"fitness_samples", [](devo_evolve_options &o) { o.fitness_samples = 5; }},
        {"seed", [](devo_evolve_options &o) { o.seed = 1; }},
        {"backend", [](devo_evolve_options &o) { o.backend = DEVO_BACKEND_CPU; }},
        {"precision", [](devo_evolve_options &o) { o.precision = DEVO_PRECISION_BF16; }},
        {"fitness_fn",
         [](devo_evolve_options &o) {
             o.fitness_fn = [](const devo_model *, const float *, const float *, size_t, void *) {
                 return 0.0;
             };
         }},
    };
    expect_changes_refused(path, saved, changes);
    devo_evolve_options bad = saved;
    bad.verbose = 9; // overridable, but still checked
    EXPECT_EQ(devo_evolver_load_state(&e, path.c_str(), &bad), DEVO_ERR_INVALID_ARGUMENT);
    unlink(path.c_str());
}

TEST(StateFile, EsOptionsCannotBeOverridden)
{
    std::string path = saved_state("es-overrides.devostate", DEVO_STRATEGY_PGPE);
    devo_evolve_options saved;
    ASSERT_EQ(devo_state_options(path.c_str(), &saved), DEVO_OK) << devo_last_error();
    EXPECT_EQ(saved.strategy, DEVO_STRATEGY_PGPE);
    EXPECT_EQ(saved.sigma_final, 0.01);
    devo_evolver *e = nullptr;
    devo_evolve_options ok = saved;
    ok.threads = 2;
    ok.verbose = 1;
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), &ok), DEVO_OK) << devo_last_error();
    devo_evolver_free(e);
    std::vector<Change> changes = {
        {"strategy", [](devo_evolve_options &o) { o.strategy = DEVO_STRATEGY_SNES; }},
        {"learning_rate", [](devo_evolve_options &o) { o.learning_rate = 0.2; }},
        {"sigma", [](devo_evolve_options &o) { o.sigma = 0.2; }},
        {"perturbation_rank", [](devo_evolve_options &o) { o.perturbation_rank = 1; }},
        {"weight_decay", [](devo_evolve_options &o) { o.weight_decay = 0.0; }},
        {"sigma_final", [](devo_evolve_options &o) { o.sigma_final = 0.0; }},
        // the sigma schedule spans the saved max_generations
        {"max_generations", [](devo_evolve_options &o) { o.max_generations = 50; }},
    };
    expect_changes_refused(path, saved, changes);
    unlink(path.c_str());
}

TEST(StateFile, CustomFitnessMustBeGivenBackOnLoad)
{
    Data d = data();
    devo_model *m = model();
    devo_evolve_options o = options(2, 1, 0);
    o.fitness_fn = [](const devo_model *, const float *, const float *y, size_t n, void *) {
        return (double)y[n - 1];
    };
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    ASSERT_EQ(devo_evolver_fit(e, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
    std::string path = temp_path("custom.devostate");
    ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK);
    devo_evolver_free(e);
    e = nullptr;
    EXPECT_EQ(devo_evolver_load_state(&e, path.c_str(), nullptr), DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(devo_last_error()).find("fitness_fn"), std::string::npos);
    devo_evolve_options again;
    ASSERT_EQ(devo_state_options(path.c_str(), &again), DEVO_OK);
    again.fitness_fn = o.fitness_fn;
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), &again), DEVO_OK) << devo_last_error();
    devo_evolver_free(e);
    devo_model_free(m);
    unlink(path.c_str());
}

TEST(StateFile, ArgumentAndIoErrors)
{
    devo_evolver *e = nullptr;
    EXPECT_EQ(devo_evolver_load_state(nullptr, "x", nullptr), DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(devo_evolver_load_state(&e, nullptr, nullptr), DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(devo_evolver_load_state(&e, "/nonexistent/state", nullptr), DEVO_ERR_IO);
    EXPECT_EQ(devo_evolver_save_state(nullptr, "x"), DEVO_ERR_INVALID_ARGUMENT);
    devo_evolve_options o;
    EXPECT_EQ(devo_state_options("/nonexistent/state", &o), DEVO_ERR_IO);
    EXPECT_EQ(devo_evolver_options(nullptr, &o), DEVO_ERR_INVALID_ARGUMENT);
    std::string path = saved_state("io.devostate");
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), nullptr), DEVO_OK);
    EXPECT_EQ(devo_evolver_save_state(e, "/nonexistent/dir/state"), DEVO_ERR_IO);
    devo_history h{};
    EXPECT_EQ(devo_evolver_history(e, nullptr), DEVO_ERR_INVALID_ARGUMENT);
    devo_model *other = nullptr;
    ASSERT_EQ(devo_model_create(&other, 5), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(other, 3, DEVO_ACT_SOFTMAX), DEVO_OK);
    ASSERT_EQ(devo_model_compile(other, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    Data d = data();
    EXPECT_EQ(devo_evolver_fit(e, other, d.x.data(), d.y.data(), d.n, &h),
              DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(devo_evolver_fit(nullptr, other, d.x.data(), d.y.data(), d.n, &h),
              DEVO_ERR_INVALID_ARGUMENT);
    devo_model_free(other);
    devo_evolver_free(e);
    unlink(path.c_str());
}

// ---------------------------------------------------------------- corrupt files

std::string read_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const std::string &path, const std::string &bytes)
{
    std::ofstream(path, std::ios::binary) << bytes;
}

// A file: header length, header, data.
std::string assemble(const std::string &header, const std::string &data)
{
    std::string out(8, '\0');
    uint64_t len = header.size();
    for (int i = 0; i < 8; i++) out[i] = (char)(len >> (8 * i));
    return out + header + data;
}

struct Parts {
    json_t *root;
    std::string data;
};

Parts split(const std::string &file)
{
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--) len = len << 8 | (unsigned char)file[i];
    json_error_t err;
    json_t *root = json_loadb(file.data() + 8, len, 0, &err);
    return {root, file.substr(8 + len)};
}

std::string dump(json_t *root)
{
    char *text = json_dumps(root, JSON_COMPACT);
    std::string s(text);
    free(text);
    return s;
}

// Element i of a tensor's data as the bytes of type T.
template <typename T> void poke(Parts &p, const char *tensor, size_t i, T value)
{
    json_t *span = json_object_get(json_object_get(p.root, tensor), "data_offsets");
    size_t at = (size_t)json_integer_value(json_array_get(span, 0)) + i * sizeof(T);
    std::memcpy(&p.data[at], &value, sizeof(T));
}

void set_meta(Parts &p, const char *key, const char *value)
{
    json_object_set_new(json_object_get(p.root, "__metadata__"), key, json_string(value));
}

void expect_refused(const std::string &good, const std::string &bytes, const char *needle,
                    devo_status expected = DEVO_ERR_FORMAT)
{
    std::string path = good + ".bad";
    write_file(path, bytes);
    devo_evolver *e = nullptr;
    EXPECT_EQ(devo_evolver_load_state(&e, path.c_str(), nullptr), expected) << needle;
    EXPECT_EQ(e, nullptr);
    EXPECT_NE(std::string(devo_last_error()).find(needle), std::string::npos)
        << "wanted '" << needle << "' in: " << devo_last_error();
    unlink(path.c_str());
}

// The data section's CRC-32 into the header (after an edit of the data: so that the check
// behind the checksum is the one tested).
void stamp_checksum(Parts &p)
{
    char crc[16];
    snprintf(crc, sizeof crc, "%08lx",
             crc32(0L, (const Bytef *)p.data.data(), (uInt)p.data.size()) & 0xffffffffUL);
    set_meta(p, "data_crc32", crc);
}

// Breaks one thing of the good file's header or data, and expects the loader to name it.
void expect_refused_edit(const std::string &good, const char *needle,
                         const std::function<void(Parts &)> &edit)
{
    Parts p = split(read_file(good));
    ASSERT_NE(p.root, nullptr);
    edit(p);
    stamp_checksum(p);
    expect_refused(good, assemble(dump(p.root), p.data), needle);
    json_decref(p.root);
}

// Round 2, item 10: a small file declaring a 2^31-input layer is refused before the layer's
// weights are allocated (it allocated 8.4 GB first, or aborted under ASan). The load runs in
// a child whose address space is capped at 1 GiB (not under ASan, whose shadow needs more; an
// allocation that large aborts there instead).
TEST(StateFile, AHugeDeclaredLayerIsRefusedBeforeItsWeightsAreAllocated)
{
    std::string good = saved_state("huge.devostate"), path = good + ".huge";
    Parts p = split(read_file(good));
    ASSERT_NE(p.root, nullptr);
    set_meta(p, "input_dim", "2147483648");
    write_file(path, assemble(dump(p.root), p.data));
    json_decref(p.root);
    pid_t child = fork();
    if (child == 0) {
#if !defined(__SANITIZE_ADDRESS__)
        struct rlimit cap = {1ul << 30, 1ul << 30};
        setrlimit(RLIMIT_AS, &cap);
#endif
        devo_evolver *e = nullptr;
        devo_status status = devo_evolver_load_state(&e, path.c_str(), nullptr);
        int named = std::string(devo_last_error()).find("'best'") != std::string::npos;
        _exit(status == DEVO_ERR_FORMAT && named ? 0 : 10 + (int)status);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status)) << "the loader crashed";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "exit 10 + the status; 12: out of memory";
    unlink(path.c_str());
}

TEST(StateFile, EveryMalformedFileIsRefusedWithItsReason)
{
    std::string good = saved_state("corrupt.devostate");
    std::string bytes = read_file(good);
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_load_state(&e, good.c_str(), nullptr), DEVO_OK);
    devo_evolver_free(e);

    // The container.
    expect_refused(good, bytes.substr(0, 5), "too short");
    expect_refused(good, bytes.substr(0, bytes.size() - 4), "tensor");
    expect_refused(good, assemble("{\"a\":", ""), "bad JSON");
    expect_refused(good, assemble("[1,2]", ""), "not an object");
    expect_refused(good, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}", "header length");
    expect_refused_edit(good, "__metadata__", [](Parts &p) { json_object_del(p.root, "__metadata__"); });
    expect_refused_edit(good, "not a string", [](Parts &p) {
        json_object_set_new(json_object_get(p.root, "__metadata__"), "seed", json_integer(3));
    });
    expect_refused_edit(good, "not covered", [](Parts &p) { p.data += std::string(8, '\0'); });
    expect_refused_edit(good, "leave a gap", [](Parts &p) {
        json_t *t = json_object_get(p.root, "best"); // moved 8 bytes on: a gap, then past the end
        json_int_t begin = json_integer_value(json_array_get(json_object_get(t, "data_offsets"), 0));
        json_object_set_new(t, "data_offsets", json_pack("[II]", begin + 8, begin + 8 + 4 * 57));
        p.data += std::string(8, '\0');
    });
    expect_refused_edit(good, "dtype", [](Parts &p) {
        json_object_set_new(json_object_get(p.root, "best"), "dtype", json_string("F16"));
    });
    expect_refused_edit(good, "data_offsets", [](Parts &p) {
        json_object_set_new(json_object_get(p.root, "best"), "data_offsets", json_pack("[ii]", 0, 4));
    });
    expect_refused_edit(good, "bad shape", [](Parts &p) {
        json_object_set_new(json_object_get(p.root, "best"), "shape", json_pack("[i,i,i]", 1, 1, 1));
    });
    expect_refused_edit(good, "overlap", [](Parts &p) {
        json_t *a = json_object_get(json_object_get(p.root, "fitness"), "data_offsets");
        json_t *b = json_object_get(json_object_get(p.root, "history/mean"), "data_offsets");
        json_t *copy = json_deep_copy(a);
        json_object_set_new(json_object_get(p.root, "history/mean"), "data_offsets",
                            json_pack("[II]", json_integer_value(json_array_get(copy, 0)),
                                      json_integer_value(json_array_get(copy, 0)) +
                                          json_integer_value(json_array_get(b, 1)) -
                                          json_integer_value(json_array_get(b, 0))));
        json_decref(copy);
    });

    // The metadata.
    expect_refused_edit(good, "devo_state_version", [](Parts &p) { set_meta(p, "devo_state_version", "4"); });
    expect_refused_edit(good, "keys", [](Parts &p) { set_meta(p, "devo_state_version", "1"); });
    expect_refused_edit(good, "keys", [](Parts &p) { set_meta(p, "extra", "1"); });
    expect_refused_edit(good, "strategy", [](Parts &p) { set_meta(p, "strategy", "cmaes"); });
    expect_refused_edit(good, "population", [](Parts &p) { set_meta(p, "population", "1O"); });
    expect_refused_edit(good, "mutation_rate", [](Parts &p) { set_meta(p, "mutation_rate", "x"); });
    expect_refused_edit(good, "mutation_rate", [](Parts &p) { set_meta(p, "mutation_rate", "2"); });
    expect_refused_edit(good, "init_std", [](Parts &p) { set_meta(p, "init_std", "inf"); });
    expect_refused_edit(good, "top_k", [](Parts &p) { set_meta(p, "top_k", "11"); });
    expect_refused_edit(good, "fitness", [](Parts &p) { set_meta(p, "fitness", "mse"); });
    expect_refused_edit(good, "custom_fitness", [](Parts &p) { set_meta(p, "custom_fitness", "2"); });
    expect_refused_edit(good, "backend", [](Parts &p) { set_meta(p, "backend", "tpu"); });
    expect_refused_edit(good, "precision", [](Parts &p) { set_meta(p, "precision", "fp8"); });
    expect_refused_edit(good, "verbose", [](Parts &p) { set_meta(p, "verbose", "-1"); });
    expect_refused_edit(good, "seed", [](Parts &p) { set_meta(p, "seed", "18446744073709551616"); });
    expect_refused_edit(good, "input_dim", [](Parts &p) { set_meta(p, "input_dim", "0"); });
    expect_refused_edit(good, "bogus", [](Parts &p) { set_meta(p, "layers", "6:bogus,3:softmax"); });
    expect_refused_edit(good, "loss", [](Parts &p) { set_meta(p, "loss", "hinge"); });
    expect_refused_edit(good, "best_ever", [](Parts &p) { set_meta(p, "best_ever", "nan"); });
    expect_refused_edit(good, "elapsed_seconds", [](Parts &p) { set_meta(p, "elapsed_seconds", "-1"); });
    expect_refused_edit(good, "generation", [](Parts &p) { set_meta(p, "generation", "4294967295"); });

    // The tensors against the metadata.
    expect_refused_edit(good, "13 tensors, a version 3 ga state has 12", [](Parts &p) {
        json_object_set_new(p.root, "extra", json_pack("{s:s,s:[i],s:[I,I]}", "dtype", "F32", "shape",
                                                       0, "data_offsets", (json_int_t)p.data.size(),
                                                       (json_int_t)p.data.size()));
    });
    expect_refused_edit(good, "'history/std' is missing", [](Parts &p) {
        json_object_set(p.root, "history/stdev", json_object_get(p.root, "history/std"));
        json_object_del(p.root, "history/std");
    });
    expect_refused_edit(good, "'population' is not F32 of shape [10, 57]", [](Parts &p) {
        json_t *t = json_object_get(p.root, "population");
        json_object_set_new(t, "shape", json_pack("[i,i]", 57, 10));
    });
    expect_refused_edit(good, "'history/evaluations' is not I64 of shape [3]", [](Parts &p) {
        set_meta(p, "generation", "3");
        set_meta(p, "best_ever", "1");
    });

    // The values.
    expect_refused_edit(good, "non-finite", [](Parts &p) { poke(p, "population", 7, INFINITY); });
    expect_refused_edit(good, "non-finite", [](Parts &p) { poke(p, "best", 0, NAN); });
    expect_refused_edit(good, "permutation", [](Parts &p) { poke<int64_t>(p, "order", 0, 10); });
    expect_refused_edit(good, "permutation", [](Parts &p) {
        poke<int64_t>(p, "order", 0, 1);
        poke<int64_t>(p, "order", 1, 1);
    });
    expect_refused_edit(good, "child 5", [](Parts &p) { poke(p, "fitness", 5, 0.5); });
    expect_refused_edit(good, "decreases", [](Parts &p) { poke<int64_t>(p, "history/evaluations", 0, 1000); });
    expect_refused_edit(good, "disagrees", [](Parts &p) { poke(p, "history/best_ever", 1, 3.0); });
    unlink(good.c_str());
}

TEST(StateFile, EveryMalformedEsFileIsRefusedWithItsReason)
{
    for (devo_strategy strategy : {DEVO_STRATEGY_OPENAI_ES, DEVO_STRATEGY_PGPE, DEVO_STRATEGY_SNES}) {
        std::string good = saved_state("corrupt-es.devostate", strategy);
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_load_state(&e, good.c_str(), nullptr), DEVO_OK) << devo_last_error();
        devo_evolver_free(e);
        expect_refused_edit(good, "strategy", [](Parts &p) { set_meta(p, "strategy", "cma-es"); });
        expect_refused_edit(good, "sigma", [](Parts &p) { set_meta(p, "sigma", "-1"); });
        expect_refused_edit(good, "perturbation_rank", [](Parts &p) { set_meta(p, "perturbation_rank", "9"); });
        expect_refused_edit(good, "'es/sigma' entry 4 is 0", [](Parts &p) { poke(p, "es/sigma", 4, 0.0f); });
        expect_refused_edit(good, "'es/sigma' entry 0 is -0.5", [](Parts &p) { poke(p, "es/sigma", 0, -0.5f); });
        expect_refused_edit(good, "'es/center' entry 2", [](Parts &p) { poke(p, "es/center", 2, NAN); });
        expect_refused_edit(good, "'es/told' (3)", [](Parts &p) { poke<int64_t>(p, "es/told", 0, 3); });
        expect_refused_edit(good, "'es/told' is negative", [](Parts &p) { poke<int64_t>(p, "es/told", 0, -1); });
        expect_refused_edit(good, "'es/center' is missing", [](Parts &p) {
            json_object_set(p.root, "es/centre", json_object_get(p.root, "es/center"));
            json_object_del(p.root, "es/center");
        });
        expect_refused_edit(good, "'es/sigma' is not F32 of shape [57]", [](Parts &p) {
            json_object_set_new(json_object_get(p.root, "es/sigma"), "shape", json_pack("[i,i]", 3, 19));
        });
        // A GA file's population where the ES state should be, and the reverse.
        expect_refused_edit(good, "'population' is missing", [](Parts &p) { set_meta(p, "strategy", "ga"); });
        if (strategy == DEVO_STRATEGY_OPENAI_ES) {
            expect_refused_edit(good, "'es/adam_v' entry 1 is -1", [](Parts &p) { poke(p, "es/adam_v", 1, -1.0f); });
            expect_refused_edit(good, "'es/adam_m' entry 0 is inf", [](Parts &p) { poke(p, "es/adam_m", 0, INFINITY); });
            expect_refused_edit(good, "'es/adam_steps' is negative", [](Parts &p) { poke<int64_t>(p, "es/adam_steps", 0, -2); });
        }
        if (strategy == DEVO_STRATEGY_PGPE) {
            expect_refused_edit(good, "'es/velocity' is missing", [](Parts &p) {
                json_object_set(p.root, "es/speed", json_object_get(p.root, "es/velocity"));
                json_object_del(p.root, "es/velocity");
            });
            // SNES keeps no velocity: a PGPE file relabelled has one tensor too many.
            expect_refused_edit(good, "tensors, a version 3 snes state has", [](Parts &p) { set_meta(p, "strategy", "snes"); });
        }
        unlink(good.c_str());
    }
}

// Round 2, item 19: every single-bit flip in a checkpoint's data section is refused, naming
// the checksum (about half loaded silently: one flip in es/center made 0.03 about 1e37).
TEST(StateFile, EverySingleBitFlipInTheDataIsRefusedByTheChecksum)
{
    for (devo_strategy strategy : {DEVO_STRATEGY_GA, DEVO_STRATEGY_OPENAI_ES}) {
        std::string good = saved_state("flip.devostate", strategy), bytes = read_file(good);
        Parts p = split(bytes);
        ASSERT_NE(p.root, nullptr);
        json_decref(p.root);
        size_t data_start = bytes.size() - p.data.size();
        for (size_t at = data_start; at < bytes.size(); at += 7) { // every 7th byte, bit at % 8
            std::string flipped = bytes;
            flipped[at] = (char)(flipped[at] ^ (1 << (at % 8)));
            expect_refused(good, flipped, "CRC-32");
        }
        unlink(good.c_str());
    }
}

// Round 2, item 19: a version 2 file (no checksum, no data fingerprint) still loads, with a
// notice when verbose.
TEST(StateFile, VersionTwoStateWithoutChecksumLoadsWithANotice)
{
    std::string good = saved_state("v2.devostate", DEVO_STRATEGY_PGPE), old = good + ".v2";
    Parts p = split(read_file(good));
    ASSERT_NE(p.root, nullptr);
    json_t *meta = json_object_get(p.root, "__metadata__");
    for (const char *key : {"data_crc32", "data", "data_fingerprint"}) json_object_del(meta, key);
    set_meta(p, "devo_state_version", "2");
    write_file(old, assemble(dump(p.root), p.data));
    json_decref(p.root);
    devo_evolve_options o;
    ASSERT_EQ(devo_state_options(old.c_str(), &o), DEVO_OK) << devo_last_error();
    o.verbose = 1;
    devo_evolver *e = nullptr;
    testing::internal::CaptureStderr();
    devo_status status = devo_evolver_load_state(&e, old.c_str(), &o);
    std::string notice = testing::internal::GetCapturedStderr();
    ASSERT_EQ(status, DEVO_OK) << devo_last_error();
    EXPECT_NE(notice.find("without a checksum"), std::string::npos) << notice;
    char name[64] = "x";
    EXPECT_EQ(devo_state_data(old.c_str(), name, sizeof name), DEVO_OK);
    EXPECT_STREQ(name, "");
    devo_evolver_free(e);
    unlink(old.c_str());
    unlink(good.c_str());
}

// Round 2, item 1: a state remembers the data it was fitted on (name and fingerprint); a
// loaded evolver refuses other data in its first fit, naming both fingerprints, unless told
// to accept it.
TEST(StateFile, ResumeRefusesOtherDataNamingBothFingerprints)
{
    Data d = data(), other = data();
    other.x[7] += 0.25f; // the same width and size, one value different
    devo_model *m = model();
    devo_evolve_options o = options(2, 1, 0);
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK);
    ASSERT_EQ(devo_evolver_set_data(e, "the-data-dir", 0), DEVO_OK);
    ASSERT_EQ(devo_evolver_fit(e, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK);
    std::string path = temp_path("data.devostate");
    ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK);
    devo_evolver_free(e);
    char name[64] = "";
    ASSERT_EQ(devo_state_data(path.c_str(), name, sizeof name), DEVO_OK);
    EXPECT_STREQ(name, "the-data-dir");
    EXPECT_EQ(devo_state_data(path.c_str(), name, 4), DEVO_ERR_INVALID_ARGUMENT);
    devo_evolve_options more;
    ASSERT_EQ(devo_state_options(path.c_str(), &more), DEVO_OK);
    more.max_generations = 4;
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), &more), DEVO_OK);
    EXPECT_EQ(devo_evolver_fit(e, m, other.x.data(), other.y.data(), other.n, nullptr),
              DEVO_ERR_INVALID_ARGUMENT);
    std::string message = devo_last_error();
    EXPECT_NE(message.find("differs from the data the state was saved with ('the-data-dir'"),
              std::string::npos) << message;
    EXPECT_EQ(devo_evolver_generation(e), 2u) << "a refused fit ran generations";
    EXPECT_EQ(devo_evolver_fit(e, m, d.x.data(), d.y.data(), d.n, nullptr), DEVO_OK)
        << devo_last_error();
    devo_evolver_free(e);
    ASSERT_EQ(devo_evolver_load_state(&e, path.c_str(), &more), DEVO_OK);
    ASSERT_EQ(devo_evolver_set_data(e, nullptr, 1), DEVO_OK);
    EXPECT_EQ(devo_evolver_fit(e, m, other.x.data(), other.y.data(), other.n, nullptr), DEVO_OK)
        << devo_last_error();
    devo_evolver_free(e);
    devo_model_free(m);
    unlink(path.c_str());
}

}  // namespace
