"""The Python package's speed against the devo command, on ./run.sh's workload (784-30-10 on
Fashion-MNIST, population 128, top 16, a fresh 1,024-image minibatch per generation,
mutation std 0.01), in one sitting with the runs alternated:
  1. devo.keras.fit_evolve against `devo evolve`: generations per second and their ratio
     (the target: >= 95%);
  2. the batched custom fitness (fitness_fn, numpy accuracy, one call per generation) against
     the built-in accuracy, both through devo.keras (the target: >= 60%).
With --seed-workload it times instead devo.keras.fit_evolve on the seed's workload (P 10,
top 3, all 60,000 images; bench/compare_deepevolution.sh sets it beside deepevolution).
Run by bench/python_speed.sh, which makes the environment (keras, jax and this package).
Usage: python bench/python_speed.py --devo build/src/cli/devo [--generations 300] [--repeats 2]
"""
import argparse
import os
import re
import subprocess
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import devo  # noqa: E402
import devo.keras  # noqa: E402

WORKLOAD = dict(population=128, top_k=16, fitness_samples=1024, mutation_std=0.01, seed=1)


def keras_model(hidden=30):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def python_rate(x, y, generations, **options):
    """Generations per second of devo.keras.fit_evolve (the run alone, after conversion)."""
    model = keras_model()
    settings = dict(WORKLOAD, **options)
    start = time.perf_counter()
    history = devo.keras.fit_evolve(model, x, y, max_generations=generations, verbose=0,
                                    **settings)
    seconds = time.perf_counter() - start
    # the engine's own clock excludes the conversion and the prediction check
    return generations / history["seconds"][-1], generations / seconds


def cli_rate(cli, data, generations):
    out = subprocess.run([cli, "evolve", "--data", data, "--population", "128", "--top-k", "16",
                          "--fitness-samples", "1024", "--mutation-std", "0.01", "--seed", "1",
                          "--generations", str(generations), "--verbose", "0"],
                         capture_output=True, text=True, check=True).stdout
    return generations / float(re.search(r"^time\s+([0-9.]+) s", out, re.M).group(1))


def accuracy(y_true, y_pred):
    return (y_pred.argmax(axis=-1) == y_true).mean(axis=1)


def seed_workload(x, y, generations):
    x = x.reshape(-1, 28, 28)
    for fitness in ("neg-loss", "accuracy"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                  keras.layers.Dense(30, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        devo.keras.fit_evolve(model, x, y, max_generations=generations, population=10,
                              top_k=3, verbose=0, fitness=fitness)
        seconds = time.perf_counter() - start
        print("devo.keras %s %.4f s/gen train_accuracy %.4f"
              % (fitness, seconds / generations, model.evaluate(x, y, verbose=0)[1]), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devo", default="build/src/cli/devo")
    parser.add_argument("--data", default=devo.datasets.FASHION_MNIST)
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed-workload", action="store_true")
    args = parser.parse_args()
    x, y = devo.load_idx(args.data, "train")
    if args.seed_workload:
        return seed_workload(x, y, args.generations)
    cpu = open("/proc/cpuinfo").read()
    model_name = re.search(r"model name\s*:\s*(.*)", cpu)
    print("python_speed: %d generations of ./run.sh's workload, %d alternated repeats, on %s, "
          "%d cores" % (args.generations, args.repeats,
                        model_name.group(1) if model_name else "?", os.cpu_count()))
    best = {"cli": 0.0, "python": 0.0, "builtin": 0.0, "batched": 0.0}
    for _ in range(args.repeats):  # alternated, best of each
        best["cli"] = max(best["cli"], cli_rate(args.devo, args.data, args.generations))
        best["python"] = max(best["python"], python_rate(x, y, args.generations)[0])
        best["builtin"] = max(best["builtin"],
                              python_rate(x, y, args.generations, fitness="accuracy")[0])
        best["batched"] = max(best["batched"],
                              python_rate(x, y, args.generations, fitness_fn=accuracy)[0])
    print("%-46s %10s %8s" % ("run", "gen/s", "ratio"))
    print("%-46s %10.1f %8s" % ("devo evolve (the command)", best["cli"], ""))
    print("%-46s %10.1f %7.1f%%" % ("devo.keras.fit_evolve", best["python"],
                                    100 * best["python"] / best["cli"]))
    print("%-46s %10.1f %8s" % ("devo.keras, fitness='accuracy' (built in)", best["builtin"], ""))
    print("%-46s %10.1f %7.1f%%" % ("devo.keras, fitness_fn (numpy accuracy, batched)",
                                    best["batched"], 100 * best["batched"] / best["builtin"]))


if __name__ == "__main__":
    main()
