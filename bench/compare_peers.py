"""devo side by side with evosax's SimpleGA (run by bench/compare_peers.sh).

The workload of ./run.sh: a 784-30-10 ReLU/softmax network on Fashion-MNIST, fitness the
sparse categorical cross-entropy on a fresh random 1,024 training images each generation,
mutation std 0.01. evosax runs SimpleGA (JAX on the CPU, every generation of a timed run in
one jitted lax.scan, compiled before timing); devo runs `devo evolve` on its CPU backend and
reports the seconds of its run. The two alternate (A, B, A, B) for each population size and
the table gives medians of generations per second and their ratio.
"""
import argparse
import re
import statistics
import subprocess
import sys
import time

import numpy as np

from compare_deepevolution import find, load_idx


def evosax_runner(x, y, population, generations):
    """A function that runs `generations` SimpleGA generations and returns their seconds."""
    import jax
    import jax.numpy as jnp
    import optax
    from evosax.algorithms import SimpleGA

    x = jnp.asarray(x.reshape(len(x), -1))
    y = jnp.asarray(y.astype(np.int32))
    shapes = {"w1": (784, 30), "b1": (30,), "w2": (30, 10), "b2": (10,)}
    solution = {k: jnp.zeros(s, jnp.float32) for k, s in shapes.items()}
    ga = SimpleGA(population_size=population, solution=solution,
                  std_schedule=optax.constant_schedule(0.01))
    params = ga.default_params

    def loss(w, xb, yb):  # minus devo's fitness: SimpleGA minimises
        h = jax.nn.relu(xb @ w["w1"] + w["b1"])
        logits = h @ w["w2"] + w["b2"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], 1))

    def fitness(key, members):
        rows = jax.random.randint(key, (1024,), 0, x.shape[0])  # a fresh minibatch
        return jax.vmap(loss, in_axes=(0, None, None))(members, x[rows], y[rows])

    def generation(carry, _):
        key, state = carry
        key, k_ask, k_fit, k_tell = jax.random.split(key, 4)
        members, state = ga.ask(k_ask, state, params)  # pytrees of (population, ...) arrays
        state, _ = ga.tell(k_tell, members, fitness(k_fit, members), state, params)
        return (key, state), None

    @jax.jit
    def run(key, state):
        return jax.lax.scan(generation, (key, state), None, length=generations)[0]

    key = jax.random.key(1)
    start = {k: 0.1 * jax.random.normal(jax.random.fold_in(key, i), (population,) + s)
             for i, (k, s) in enumerate(shapes.items())}
    state = ga.init(key, start, fitness(key, start), params)
    jax.block_until_ready(run(key, state))  # compile

    def timed():
        begin = time.perf_counter()
        jax.block_until_ready(run(key, state))
        return time.perf_counter() - begin
    return timed


def devo_seconds(devo, data, population, generations):
    command = [devo, "evolve", "--data", data, "--population", str(population),
               "--top-k", str(max(1, population // 8)), "--fitness-samples", "1024",
               "--generations", str(generations), "--mutation-std", "0.01", "--seed", "1",
               "--verbose", "0", "--backend", "cpu"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"compare: devo failed: {done.stderr.strip()}")
    return float(re.search(r"^time\s+([0-9.]+) s", done.stdout, re.M).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--populations", default="128,1024")
    parser.add_argument("--seconds", type=float, default=8.0, help="rough length of one run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--devo", default="build/src/cli/devo")
    args = parser.parse_args()
    x = load_idx(find(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = load_idx(find(args.data, "train-labels-idx1-ubyte"))
    from importlib.metadata import version
    import jax
    print(f"compare: 784-30-10 on {len(x)} Fashion-MNIST images, a fresh 1,024 a generation; "
          f"evosax {version('evosax')} SimpleGA on JAX {jax.__version__} ({jax.devices()[0]}) "
          f"vs devo CPU; {args.repeats} alternating runs each, medians", flush=True)
    rows = []
    for population in (int(p) for p in args.populations.split(",")):
        # Generations per run: about `seconds` of devo, judged from one short run.
        probe = devo_seconds(args.devo, args.data, population, 3) / 3
        generations = max(5, int(args.seconds / max(probe, 1e-3)))
        evosax_timed = evosax_runner(x, y, population, generations)
        evosax_rates, devo_rates = [], []
        for _ in range(args.repeats):
            evosax_rates.append(generations / evosax_timed())
            devo_rates.append(generations / devo_seconds(args.devo, args.data, population,
                                                         generations))
        rows.append((population, generations, statistics.median(evosax_rates),
                     statistics.median(devo_rates)))
        print(f"  P = {population}: evosax {['%.2f' % r for r in evosax_rates]} gen/s, "
              f"devo {['%.2f' % r for r in devo_rates]} gen/s", flush=True)
    print(f"{'P':>6} {'gens':>6} {'evosax gen/s':>13} {'devo gen/s':>11} {'devo/evosax':>12}")
    for population, generations, evosax_rate, devo_rate in rows:
        print(f"{population:6d} {generations:6d} {evosax_rate:13.2f} {devo_rate:11.2f} "
              f"{devo_rate / evosax_rate:11.2f}x")


if __name__ == "__main__":
    main()
