// The second hardening round's defects of the library (docs/robustness.md, "Round 2"): what
// save_state writes, load_state accepts (infinite scores, a diverging ES); shapes are checked
// before any array is touched; state files never make the loader allocate more than they hold.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "devo.h"
#include "test_models.h"
#include "test_paths.h"

namespace {

devo_model *model(size_t inputs, size_t hidden = 6)
{
    return test_model(inputs, {{hidden, DEVO_ACT_RELU}, {3, DEVO_ACT_SOFTMAX}},
                      DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 3);
}

devo_evolve_options options(devo_strategy strategy, size_t rank = 0)
{
    devo_evolve_options o;
    devo_evolve_options_init(&o);
    o.verbose = 0;
    o.max_generations = 0;
    o.population = 10;
    o.top_k = 3;
    o.seed = 5;
    o.threads = 1;
    o.strategy = strategy;
    o.perturbation_rank = rank;
    return o;
}

std::string temp_path(const std::string &name)
{
    return test_tmp() + "/library-hardening-" + std::to_string(getpid()) + "-" +
           name;
}

const devo_strategy strategies[] = {DEVO_STRATEGY_GA, DEVO_STRATEGY_OPENAI_ES, DEVO_STRATEGY_PGPE,
                                    DEVO_STRATEGY_SNES};

// Saves e, loads it back; the loaded evolver asks for the same population, bit for bit.
void expect_save_loads(devo_evolver *e, const std::string &path, const std::string &what)
{
    ASSERT_EQ(devo_evolver_save_state(e, path.c_str()), DEVO_OK) << what << devo_last_error();
    devo_evolver *r = nullptr;
    ASSERT_EQ(devo_evolver_load_state(&r, path.c_str(), nullptr), DEVO_OK)
        << what << ": " << devo_last_error();
    const float *a, *b;
    size_t P, D;
    ASSERT_EQ(devo_evolver_ask(e, &a, &P, &D), DEVO_OK);
    ASSERT_EQ(devo_evolver_ask(r, &b, nullptr, nullptr), DEVO_OK);
    EXPECT_EQ(std::memcmp(a, b, P * D * sizeof(float)), 0) << what;
    devo_evolver_free(r);
}

// Round 2, item 3: a +Inf (or -Inf) score told makes best_ever infinite; the state saved then
// loads again, for all four strategies (the loader refused "inf").
TEST(LibraryHardening, InfiniteScoresToldSaveAStateThatLoads)
{
    for (devo_strategy s : strategies)
        for (double score : {std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity()}) {
            devo_model *m = model(5);
            devo_evolve_options o = options(s);
            devo_evolver *e = nullptr;
            ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
            std::vector<double> f(10, score);
            if (score > 0) // one infinite best among finite scores
                for (size_t i = 1; i < f.size(); i++) f[i] = -(double)i;
            ASSERT_EQ(devo_evolver_tell(e, f.data()), DEVO_OK) << devo_last_error();
            std::string what = "strategy " + std::to_string(s) + " score " + std::to_string(score);
            expect_save_loads(e, temp_path("inf.devostate"), what);
            devo_evolver_free(e);
            devo_model_free(m);
        }
}

// Round 2, item 3: an ES whose update leaves its bounds (a huge but finite weight decay makes
// Adam's second moment infinite) stops with DEVO_ERR_NUMERIC naming the divergence, and a save
// afterwards writes nothing rather than a state the loader refuses. Every save that succeeds
// loads.
TEST(LibraryHardening, DivergingEsStopsNamingItAndSavesOnlyLoadableStates)
{
    devo_model *m = model(5);
    devo_evolve_options o = options(DEVO_STRATEGY_OPENAI_ES);
    o.weight_decay = 1e30;
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
    std::string path = temp_path("diverged.devostate");
    unlink(path.c_str());
    std::vector<double> f(10);
    devo_status told = DEVO_OK;
    for (int g = 0; g < 50 && told == DEVO_OK; g++) {
        for (size_t i = 0; i < f.size(); i++) f[i] = std::sin((double)(i * 3 + g));
        told = devo_evolver_tell(e, f.data());
        if (told == DEVO_OK) expect_save_loads(e, path, "generation " + std::to_string(g + 1));
    }
    ASSERT_EQ(told, DEVO_ERR_NUMERIC) << "never diverged";
    EXPECT_NE(std::string(devo_last_error()).find("diverged"), std::string::npos)
        << devo_last_error();
    std::string kept = temp_path("kept.devostate");
    unlink(kept.c_str());
    EXPECT_EQ(devo_evolver_save_state(e, kept.c_str()), DEVO_ERR_NUMERIC);
    EXPECT_NE(access(kept.c_str(), F_OK), 0) << "a refused state was written";
    devo_evolver_free(e);
    devo_model_free(m);
    unlink(path.c_str());
}

// Round 2, item 4: devo_evolver_fit with a model wider than the evolver refuses the shapes
// before reading x: x sized for the evolver sits against an unreadable page, so a scan with
// the model's width would fault.
TEST(LibraryHardening, EvolverFitChecksTheArchitectureBeforeReadingX)
{
    devo_model *narrow = model(4), *wide = model(64);
    devo_evolve_options o = options(DEVO_STRATEGY_GA);
    o.max_generations = 1;
    devo_evolver *e = nullptr;
    ASSERT_EQ(devo_evolver_create(&e, narrow, &o), DEVO_OK) << devo_last_error();
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 16, bytes = n * 4 * sizeof(float);
    char *region = (char *)mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(region, MAP_FAILED);
    ASSERT_EQ(mprotect(region + page, page, PROT_NONE), 0);
    float *x = (float *)(region + page - bytes); // n rows of 4, ending at the guard page
    for (size_t i = 0; i < n * 4; i++) x[i] = 0.5f;
    std::vector<float> y(n, 1.0f);
    EXPECT_EQ(devo_evolver_fit(e, wide, x, y.data(), n, nullptr), DEVO_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(devo_last_error()).find("architecture differs"), std::string::npos)
        << devo_last_error();
    munmap(region, 2 * page);
    devo_evolver_free(e);
    devo_model_free(narrow);
    devo_model_free(wide);
}

// Round 2, item 16: a layer list longer than 4 KiB checkpoints and resumes (it failed with
// "out of memory" although model files took that limit away).
TEST(LibraryHardening, LayerListsLongerThanFourKibCheckpoint)
{
    devo_model *m = nullptr;
    ASSERT_EQ(devo_model_create(&m, 3), DEVO_OK);
    for (int l = 0; l < 700; l++) ASSERT_EQ(devo_model_add_dense(m, 3, DEVO_ACT_RELU), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(m, 3, DEVO_ACT_SOFTMAX), DEVO_OK); // "3:relu," x 700: 4.9 KB
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    ASSERT_EQ(devo_model_init_weights(m, 1), DEVO_OK);
    for (devo_strategy s : {DEVO_STRATEGY_GA, DEVO_STRATEGY_SNES}) {
        devo_evolve_options o = options(s);
        devo_evolver *e = nullptr;
        ASSERT_EQ(devo_evolver_create(&e, m, &o), DEVO_OK) << devo_last_error();
        std::vector<double> f(10);
        for (size_t i = 0; i < f.size(); i++) f[i] = (double)i;
        ASSERT_EQ(devo_evolver_tell(e, f.data()), DEVO_OK) << devo_last_error();
        expect_save_loads(e, temp_path("deep.devostate"), "strategy " + std::to_string(s));
        devo_evolver_free(e);
    }
    devo_model_free(m);
}

} // namespace
