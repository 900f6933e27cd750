/*
 * checkpoint.c - "devo evolve"'s checkpoints and --resume (see checkpoint.h).
 */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_data.h"
#include "cli_mpi.h"

int cli_checkpoint_write(cli_checkpoint *c)
{
    if (!c->path) return 1;
    if (devo_evolver_save_state(c->evolver, c->path) != DEVO_OK) {
        c->failed = 1;
        cli_library_failure();
        return 0;
    }
    c->written = 1;
    c->written_generation = devo_evolver_generation(c->evolver);
    return 1;
}

int cli_checkpoint_generation(cli_checkpoint *c, const devo_generation_stats *s)
{
    double took = s->seconds - c->previous_seconds;
    c->previous_seconds = s->seconds;
    int due = c->every ? s->generation % c->every == 0 : took > 1.0;
    if (c->path) due = cli_mpi_any(due); // every rank takes part in writing
    return !c->path || !due || cli_checkpoint_write(c);
}

int cli_flag_given(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, len) == 0 &&
            (argv[i][2 + len] == '\0' || argv[i][2 + len] == '='))
            return 1;
    return 0;
}

int cli_resume_flags_ok(int argc, char **argv)
{
    static const char *const allowed[] = {"data",    "generations", "threads",
                                          "verbose", "save",        "history",
                                          "checkpoint", "checkpoint-every", "resume",
                                          "other-data", "test-every"};
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) continue;
        size_t len = strcspn(argv[i] + 2, "=");
        int ok = 0;
        for (size_t f = 0; f < sizeof allowed / sizeof allowed[0]; f++)
            ok |= strlen(allowed[f]) == len && strncmp(argv[i] + 2, allowed[f], len) == 0;
        if (!ok) {
            fprintf(stderr, "devo: %.*s cannot be given with --resume: the checkpoint fixes it "
                            "(only --generations, --threads, --verbose, --data, --other-data, "
                            "--test-every and the output flags may be given)\n",
                    (int)(len + 2), argv[i]);
            return 0;
        }
    }
    return 1;
}

int cli_resume_options(const char *path, int argc, char **argv,
                       const devo_evolve_options *parsed, devo_evolve_options *out)
{
    devo_evolve_options o;
    if (devo_state_options(path, &o) != DEVO_OK) return !cli_library_failure();
    if (cli_flag_given(argc, argv, "generations")) o.max_generations = parsed->max_generations;
    if (cli_flag_given(argc, argv, "threads")) o.threads = parsed->threads;
    if (cli_flag_given(argc, argv, "verbose")) o.verbose = parsed->verbose;
    *out = o; // out may be parsed
    return 1;
}
