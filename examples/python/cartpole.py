"""Reinforcement learning through devo's ask/tell, in Python: examples/cartpole.c's
cart-pole (gravity 9.8, cart 1.0 kg, pole 0.1 kg, half-length 0.5 m, force 10 N, tau
0.02 s, failure past 12 degrees or 2.4 m, episodes capped at 500 steps). Every individual
runs 4 seeded starts in lockstep; one batched Evolver.forward call chooses the action of
every individual in every episode at each step (numpy steps all the carts at once).
Fitness: steps balanced, averaged over the starts.

Usage: python examples/python/cartpole.py [--generations 100] [--seed 1]
Prints one line per generation; exits 0 once the best individual balances every start for
500 steps, 1 if it never does.
"""
import argparse
import sys

import numpy as np

import devo

EPISODES, MAX_STEPS = 4, 500


def play(evolver, rng):
    """(population,) mean steps balanced over EPISODES random starts shared by everyone."""
    P = evolver.population
    starts = rng.uniform(-0.05, 0.05, size=(EPISODES, 4))
    state = np.tile(starts, (P, 1, 1))             # (P, EPISODES, 4): x, x', theta, theta'
    alive = np.ones((P, EPISODES), dtype=bool)
    steps = np.zeros((P, EPISODES))
    gravity, cart_mass, pole_mass, half_length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass, pole_moment = cart_mass + pole_mass, pole_mass * half_length
    for _ in range(MAX_STEPS):
        scores = evolver.forward(state.astype(np.float32))  # (P, EPISODES, 2)
        force = np.where(scores[..., 1] > scores[..., 0], force_mag, -force_mag)
        x, x_dot, theta, theta_dot = np.moveaxis(state, -1, 0)
        cos_t, sin_t = np.cos(theta), np.sin(theta)
        temp = (force + pole_moment * theta_dot ** 2 * sin_t) / total_mass
        theta_acc = (gravity * sin_t - cos_t * temp) / (
            half_length * (4.0 / 3.0 - pole_mass * cos_t ** 2 / total_mass))
        x_acc = temp - pole_moment * theta_acc * cos_t / total_mass
        moved = np.stack([x + tau * x_dot, x_dot + tau * x_acc, theta + tau * theta_dot,
                          theta_dot + tau * theta_acc], axis=-1)
        state = np.where(alive[..., None], moved, state)
        inside = (np.abs(state[..., 0]) <= 2.4) & (np.abs(state[..., 2]) <= 12 * np.pi / 180)
        alive &= inside
        steps += alive
        if not alive.any():
            break
    return steps.mean(axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    policy = devo.Model(4, [(16, "tanh"), (2, "linear")], seed=args.seed)  # no loss: ask/tell
    evolver = devo.Evolver(policy, population=64, top_k=8, mutation_std=0.1, init_std=0.5,
                           seed=args.seed)
    rng = np.random.default_rng(args.seed)
    for g in range(1, args.generations + 1):
        evolver.tell(play(evolver, rng))
        stats = evolver.stats()
        print("generation %3d  best %6.1f  elite mean %6.1f" % (g, stats["best"],
                                                               stats["mean"]), flush=True)
        if stats["best"] >= MAX_STEPS:
            print("balanced every start for %d steps" % MAX_STEPS)
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
