/*
 * same_run.c - the same run on every rank (see same_run.h).
 */
#include "same_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "devo_mpi.h"
#include "error.h"
#include "names.h"

/* The first line where mine and root differ: its start in each. */
static void first_difference(const char *mine, const char *root, const char **a, const char **b)
{
    *a = mine;
    *b = root;
    for (; *mine && *mine == *root; mine++, root++)
        if (*mine == '\n') *a = mine + 1, *b = root + 1;
}

devo_status devo_mpi_same(MPI_Comm comm, const char *text, const char *fn)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    unsigned long long length = strlen(text) + 1;
    MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
    char *root = malloc(length);
    int ok = root != NULL;
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
    if (!ok) {
        free(root);
        return devo_mpi_agree(comm, devo_fail(DEVO_ERR_OUT_OF_MEMORY, "%s: out of memory", fn));
    }
    if (rank == 0) memcpy(root, text, length);
    MPI_Bcast(root, (int)length, MPI_CHAR, 0, comm);
    devo_status status = DEVO_OK;
    if (strcmp(root, text) != 0) {
        const char *a, *b;
        first_difference(text, root, &a, &b);
        int mine_len = (int)strcspn(a, "\n"), root_len = (int)strcspn(b, "\n");
        status = devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: rank %d's %.*s differs from rank 0's "
                                                      "%.*s: every rank must run the same run",
                           fn, rank, mine_len, a, root_len, b);
    }
    free(root);
    return devo_mpi_agree(comm, status);
}

/* Appends to a growing text; 0 when out of memory (the text is then freed). */
static int append(char **text, size_t *used, size_t *size, const char *line)
{
    size_t n = strlen(line);
    if (*text && *used + n + 1 > *size) {
        char *grown = realloc(*text, 2 * (*used + n + 1));
        if (!grown) {
            free(*text);
            *text = NULL;
        }
        *text = grown;
        *size = 2 * (*used + n + 1);
    }
    if (!*text) return 0;
    memcpy(*text + *used, line, n + 1);
    *used += n;
    return 1;
}

static const char *const strategy_names[] = {"ga", "openai-es", "pgpe", "snes"};

char *devo_mpi_run_text(const devo_evolve_options *o, const devo_model *m)
{
    char *layers = devo_layers_text(m), line[160];
    size_t used = 0, size = 1024;
    char *text = layers ? malloc(size) : NULL;
    int ok = text != NULL;
    if (ok) text[0] = '\0';
    snprintf(line, sizeof line, "input_dim=%zu\nloss=%s\nlayers=", m->input_dim,
             devo_loss_name(m->loss));
    ok = ok && append(&text, &used, &size, line) && append(&text, &used, &size, layers);
    snprintf(line, sizeof line, "\nstrategy=%s\npopulation=%zu\ntop_k=%zu\nmax_generations=%zu\n",
             (unsigned)o->strategy < 4 ? strategy_names[o->strategy] : "?", o->population,
             o->top_k, o->max_generations);
    ok = ok && append(&text, &used, &size, line);
    snprintf(line, sizeof line, "mutation_rate=%.17g\nmutation_std=%.17g\ninit_std=%.17g\n",
             o->mutation_rate, o->mutation_std, o->init_std);
    ok = ok && append(&text, &used, &size, line);
    snprintf(line, sizeof line, "fitness=%d\ncustom_fitness=%d\nbatch_fitness=%d\n"
                                "batch_size=%zu\nfitness_samples=%zu\nseed=%llu\n",
             (int)o->fitness, o->fitness_fn != NULL, o->batch_fitness_fn != NULL,
             o->batch_size, o->fitness_samples, (unsigned long long)o->seed);
    ok = ok && append(&text, &used, &size, line);
    snprintf(line, sizeof line, "backend=%d\nprecision=%d\nlearning_rate=%.17g\nsigma=%.17g\n",
             (int)o->backend, (int)o->precision, o->learning_rate, o->sigma);
    ok = ok && append(&text, &used, &size, line);
    snprintf(line, sizeof line, "perturbation_rank=%zu\nweight_decay=%.17g\nsigma_final=%.17g\n",
             o->perturbation_rank, o->weight_decay, o->sigma_final);
    ok = ok && append(&text, &used, &size, line);
    free(layers);
    if (!ok) free(text);
    return ok ? text : NULL;
}

char *devo_mpi_start_text(const devo_evolve_options *o, const devo_model *m)
{
    char *run = devo_mpi_run_text(o, m), line[48];
    size_t used = run ? strlen(run) : 0, size = used + 1;
    uLong crc = crc32_z(crc32(0L, Z_NULL, 0), (const Bytef *)m->weights,
                        m->param_count * sizeof(float));
    snprintf(line, sizeof line, "weights=%08lx\n", crc & 0xffffffffUL);
    return run && append(&run, &used, &size, line) ? run : NULL;
}

char *devo_mpi_state_text(const devo_evolver *e)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32_z(crc, (const Bytef *)e->best, e->D * sizeof(float));
    crc = crc32_z(crc, (const Bytef *)e->fitness, e->P * sizeof(double));
    crc = crc32_z(crc, (const Bytef *)e->order, e->P * sizeof(size_t));
    devo_state_tensor listed[DEVO_ALGORITHM_STATE_MAX];
    size_t count = e->algorithm->list(e->algorithm_state, listed);
    for (size_t i = 0; i < count; i++)
        crc = listed[i].f32 ? crc32_z(crc, (const Bytef *)listed[i].f32,
                                      listed[i].length * sizeof(float))
                            : crc32_z(crc, (const Bytef *)listed[i].count, sizeof(uint64_t));
    char *run = devo_mpi_run_text(&e->opt, e->arch), line[96];
    size_t used = run ? strlen(run) : 0, size = used + 1;
    snprintf(line, sizeof line, "generation=%zu\nstate=%08lx\n", e->generation,
             crc & 0xffffffffUL);
    return run && append(&run, &used, &size, line) ? run : NULL;
}
