"""devo side by side with evosax's SimpleGA (run by bench/compare_peers.sh).

The workload of ./run.sh: a 784-30-10 ReLU/softmax network on Fashion-MNIST, fitness the
sparse categorical cross-entropy on a fresh random 1,024 training images each generation,
mutation std 0.01. evosax runs SimpleGA on JAX on the CPU in two ways, both compiled before
timing: "scan", every generation of a run in one jitted lax.scan (JAX's best case), and
"loop", a Python loop of jitted ask / fitness / tell with each minibatch drawn by NumPy (as
evosax's examples are written). devo runs `devo evolve` on its CPU backend and reports the
seconds of its run, in FP32 and, where the CPU has BF16 instructions, in BF16 ("devo-BF16":
GEMM operands rounded to BF16, FP32 accumulation, against evosax's FP32, which the table
says). They alternate for each population size; the table gives medians of generations per
second and devo's ratios to each.
"""
import argparse
import re
import statistics
import subprocess
import sys
import time

import numpy as np

from compare_deepevolution import find, load_idx


def evosax_runners(x, y, population, generations):
    """Functions that run `generations` SimpleGA generations ("scan", "loop") and return
    their seconds."""
    import jax
    import jax.numpy as jnp
    import optax
    from evosax.algorithms import SimpleGA

    x_host, y_host = x.reshape(len(x), -1), y.astype(np.int32)
    x, y = jnp.asarray(x_host), jnp.asarray(y_host)
    shapes = {"w1": (784, 30), "b1": (30,), "w2": (30, 10), "b2": (10,)}
    solution = {k: jnp.zeros(s, jnp.float32) for k, s in shapes.items()}
    ga = SimpleGA(population_size=population, solution=solution,
                  std_schedule=optax.constant_schedule(0.01))
    params = ga.default_params

    def loss(w, xb, yb):  # minus devo's fitness: SimpleGA minimises
        h = jax.nn.relu(xb @ w["w1"] + w["b1"])
        logits = h @ w["w2"] + w["b2"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], 1))

    @jax.jit
    def batch_fitness(members, xb, yb):
        return jax.vmap(loss, in_axes=(0, None, None))(members, xb, yb)

    def fitness(key, members):
        rows = jax.random.randint(key, (1024,), 0, x.shape[0])  # a fresh minibatch
        return batch_fitness(members, x[rows], y[rows])

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
    rng = np.random.default_rng(1)

    def loop(count):
        k, s = key, state
        for _ in range(count):
            k, k_ask, k_tell = jax.random.split(k, 3)
            members, s = ga.ask(k_ask, s, params)
            rows = rng.integers(0, len(x_host), 1024)  # a fresh minibatch
            s, _ = ga.tell(k_tell, members, batch_fitness(members, x_host[rows], y_host[rows]),
                           s, params)
        return s

    jax.block_until_ready(run(key, state))  # compile both
    jax.block_until_ready(loop(2))

    def timed(fn):
        begin = time.perf_counter()
        jax.block_until_ready(fn())
        return time.perf_counter() - begin
    return {"scan": lambda: timed(lambda: run(key, state)),
            "loop": lambda: timed(lambda: loop(generations))}


def devo_run(devo, data, population, generations, precision):
    command = [devo, "evolve", "--data", data, "--population", str(population),
               "--top-k", str(max(1, population // 8)), "--fitness-samples", "1024",
               "--generations", str(generations), "--mutation-std", "0.01", "--seed", "1",
               "--verbose", "0", "--backend", "cpu", "--precision", precision]
    return subprocess.run(command, capture_output=True, text=True)


def devo_seconds(devo, data, population, generations, precision="fp32"):
    done = devo_run(devo, data, population, generations, precision)
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
    bf16 = devo_run(args.devo, args.data, 8, 1, "bf16")
    if bf16.returncode != 0:
        print(f"compare: no devo-BF16 rows: {bf16.stderr.strip()}", flush=True)
    rows = []
    for population in (int(p) for p in args.populations.split(",")):
        # Generations per run: about `seconds` of devo, judged from one short run.
        probe = devo_seconds(args.devo, args.data, population, 3) / 3
        generations = max(5, int(args.seconds / max(probe, 1e-3)))
        runners = evosax_runners(x, y, population, generations)
        rates = {"scan": [], "loop": [], "devo": []}
        if bf16.returncode == 0:
            rates["devo-BF16"] = []
        for _ in range(args.repeats):
            for name, runner in runners.items():
                rates[name].append(generations / runner())
            for name in ("devo", "devo-BF16"):
                if name in rates:
                    precision = "bf16" if name == "devo-BF16" else "fp32"
                    rates[name].append(generations / devo_seconds(
                        args.devo, args.data, population, generations, precision))
        for name in ("devo", "devo-BF16"):
            if name in rates:
                rows.append((name, population, generations, statistics.median(rates["scan"]),
                             statistics.median(rates["loop"]), statistics.median(rates[name])))
        print(f"  P = {population}: " + ", ".join(
            f"{n} {['%.2f' % r for r in rates[n]]}" for n in rates) + " gen/s", flush=True)
    print(f"{'devo':>9} {'P':>6} {'gens':>5} {'evosax scan':>12} {'evosax loop':>12} {'devo':>8} "
          f"{'devo/scan':>10} {'devo/loop':>10}   (generations/s)")
    for name, population, generations, scan, loop, devo in rows:
        print(f"{name:>9} {population:6d} {generations:5d} {scan:12.2f} {loop:12.2f} {devo:8.2f} "
              f"{devo / scan:9.2f}x {devo / loop:9.2f}x")
    if any(row[0] == "devo-BF16" for row in rows):
        print("devo-BF16 rows: devo in BF16 (GEMM operands rounded to BF16, FP32 accumulation) "
              "against evosax in FP32; not the same arithmetic.")


if __name__ == "__main__":
    main()
