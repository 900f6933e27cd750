/*
 * cartpole.c - reinforcement learning through ask/tell: the classic cart-pole
 * (gravity 9.8, cart 1.0 kg, pole 0.1 kg, half-length 0.5 m, force 10 N, tau
 * 0.02 s, failure past 12 degrees or 2.4 m, episodes capped at 500 steps). Every
 * individual runs EPISODES seeded starts in lockstep, and one batched
 * devo_evolver_forward call chooses the action of every individual in every
 * episode at each step. Fitness: steps balanced, averaged over the starts.
 *
 * Usage: cartpole [MAX_GENERATIONS=100] [SEED=1]
 * Prints one line per generation; exits 0 once the best individual balances
 * every start for 500 steps, 1 if it never does.
 */
#include <devo.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { EPISODES = 4, MAX_STEPS = 500, OBSERVATIONS = 4, ACTIONS = 2 };

typedef struct cart {
    double x, x_dot, theta, theta_dot;
    int steps, alive;
} cart;

/* One Euler step of the standard cart-pole equations under a push of +-10 N. */
static void cart_step(cart *c, int push_right)
{
    const double gravity = 9.8, cart_mass = 1.0, pole_mass = 0.1, half_length = 0.5;
    const double force_mag = 10.0, tau = 0.02, total_mass = cart_mass + pole_mass;
    const double pole_moment = pole_mass * half_length;
    const double limit_theta = 12.0 * 3.14159265358979323846 / 180.0, limit_x = 2.4;
    double force = push_right ? force_mag : -force_mag;
    double cos_t = cos(c->theta), sin_t = sin(c->theta);
    double temp = (force + pole_moment * c->theta_dot * c->theta_dot * sin_t) / total_mass;
    double theta_acc = (gravity * sin_t - cos_t * temp) /
                       (half_length * (4.0 / 3.0 - pole_mass * cos_t * cos_t / total_mass));
    double x_acc = temp - pole_moment * theta_acc * cos_t / total_mass;
    c->x += tau * c->x_dot;
    c->x_dot += tau * x_acc;
    c->theta += tau * c->theta_dot;
    c->theta_dot += tau * theta_acc;
    if (c->x < -limit_x || c->x > limit_x || c->theta < -limit_theta || c->theta > limit_theta)
        c->alive = 0;
    else
        c->steps++;
}

/* splitmix64: the starts of a generation's episodes come from the seed. */
static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform(-0.05, 0.05) start state for episode e of generation g (the same for everyone). */
static cart start(uint64_t seed, size_t g, size_t e)
{
    double v[4];
    for (int i = 0; i < 4; i++) {
        uint64_t r = mix(seed ^ mix(g * 1000003ull + e * 17ull + (uint64_t)i));
        v[i] = ((double)(r >> 11) / 9007199254740992.0 - 0.5) * 0.1;
    }
    cart c = {v[0], v[1], v[2], v[3], 0, 1};
    return c;
}

/* Runs every individual's episodes in lockstep; fitness[p] = mean steps balanced. */
static int play(devo_evolver *e, size_t P, uint64_t seed, size_t g, cart *carts, float *obs,
                float *act, double *fitness)
{
    for (size_t i = 0; i < P * EPISODES; i++) carts[i] = start(seed, g, i % EPISODES);
    for (int t = 0, running = 1; t < MAX_STEPS && running; t++) {
        for (size_t i = 0; i < P * EPISODES; i++) { // obs is (P, EPISODES, 4)
            obs[4 * i] = (float)carts[i].x;
            obs[4 * i + 1] = (float)carts[i].x_dot;
            obs[4 * i + 2] = (float)carts[i].theta;
            obs[4 * i + 3] = (float)carts[i].theta_dot;
        }
        if (devo_evolver_forward(e, obs, EPISODES, act) != DEVO_OK) return 0;
        running = 0;
        for (size_t i = 0; i < P * EPISODES; i++) {
            if (!carts[i].alive) continue;
            cart_step(&carts[i], act[ACTIONS * i + 1] > act[ACTIONS * i]);
            running |= carts[i].alive;
        }
    }
    for (size_t p = 0; p < P; p++) {
        double total = 0;
        for (size_t k = 0; k < EPISODES; k++) total += carts[p * EPISODES + k].steps;
        fitness[p] = total / EPISODES;
    }
    return 1;
}

int main(int argc, char **argv)
{
    size_t max_generations = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    devo_model *policy = NULL; // 4 observations -> 16 tanh -> 2 action scores
    devo_model_create(&policy, OBSERVATIONS);
    devo_model_add_dense(policy, 16, DEVO_ACT_TANH);
    devo_model_add_dense(policy, ACTIONS, DEVO_ACT_LINEAR);
    devo_model_compile(policy, DEVO_LOSS_NONE);
    devo_model_init_weights(policy, seed);

    devo_evolve_options options;
    devo_evolve_options_init(&options);
    options.population = 64;
    options.top_k = 8;
    options.mutation_std = 0.1;
    options.init_std = 0.5;
    options.seed = seed;
    devo_evolver *e = NULL;
    if (devo_evolver_create(&e, policy, &options)) {
        fprintf(stderr, "%s\n", devo_last_error());
        return 1;
    }
    size_t P = options.population;
    cart *carts = malloc(P * EPISODES * sizeof *carts);
    float *obs = malloc(P * EPISODES * OBSERVATIONS * sizeof *obs);
    float *act = malloc(P * EPISODES * ACTIONS * sizeof *act);
    double *fitness = malloc(P * sizeof *fitness);
    int solved_at = 0;
    for (size_t g = 1; g <= max_generations && !solved_at; g++) {
        devo_generation_stats s;
        if (!carts || !obs || !act || !fitness || !play(e, P, seed, g, carts, obs, act, fitness) ||
            devo_evolver_tell(e, fitness) || devo_evolver_stats(e, &s)) {
            fprintf(stderr, "%s\n", devo_last_error());
            break;
        }
        printf("generation %3zu: best %5.1f steps, elite mean %5.1f, population mean %5.1f\n", g,
               s.best, s.mean, s.population_mean);
        if (s.best >= MAX_STEPS) solved_at = (int)g;
    }
    if (solved_at)
        printf("solved at generation %d: the best policy balanced all %d starts for %d steps\n",
               solved_at, EPISODES, MAX_STEPS);
    else
        printf("not solved in %zu generations\n", max_generations);
    free(carts);
    free(obs);
    free(act);
    free(fitness);
    devo_evolver_free(e);
    devo_model_free(policy);
    return solved_at ? 0 : 1;
}
