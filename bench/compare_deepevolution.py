"""devo side by side with deepevolution 0.0.4 (run by bench/compare_deepevolution.sh).

Runs the seed's example workload in this one invocation, on the same data: deepevolution
(population 10, top_k 3, so 9 members from its second generation on), then devo's CPU backend
(population 9, top_k 3) and its CUDA backend where a device is present. Prints seconds per
generation, the ratio, and each one's final training accuracy, for the default fitness
(negative loss) and for accuracy as the fitness. With --devo-keras-python (a Python with Keras 3
and devo's package: .venv-python), also devo.keras.fit_evolve on the same Keras model
(population 10, top_k 3, deepevolution's own parameters), run by bench/python_speed.py.
"""
import argparse
import gzip
import os
import re
import subprocess
import sys
import time

import numpy as np


def load_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def find(data_dir, name):
    for suffix in ("", ".gz"):
        path = os.path.join(data_dir, name + suffix)
        if os.path.exists(path):
            return path
    sys.exit(f"compare: no {name}[.gz] in {data_dir}")


def run_deepevolution(x, y, generations, accuracy_fitness):
    import tensorflow as tf
    from deepevolution import wrap_keras

    wrap_keras()
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(30, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    fitness = None
    if accuracy_fitness:
        fitness = lambda m, X, Y: m.evaluate(X, Y, batch_size=1024, verbose=0)[1]
    start = time.perf_counter()
    model.fit_evolve(x, y, max_generations=generations, population=10, top_k=3,
                     fitness_func=fitness, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x, y, batch_size=1024, verbose=0)
    return seconds / generations, accuracy


def run_devo(devo, data_dir, generations, accuracy_fitness, backend):
    command = [devo, "evolve", "--data", data_dir, "--population", "9", "--top-k", "3",
               "--generations", str(generations), "--verbose", "0", "--backend", backend]
    if accuracy_fitness:
        command += ["--fitness", "accuracy"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    seconds = float(re.search(r"^time\s+([0-9.]+) s", done.stdout, re.M).group(1))
    accuracy = float(re.search(r"^train\s.*accuracy ([0-9.]+)", done.stdout, re.M).group(1))
    return seconds / generations, accuracy


def devo_keras(args):
    """{fitness: (s/gen, train accuracy)} of devo.keras.fit_evolve on the seed's workload,
    population 10 and top_k 3 as deepevolution is given (devo keeps 10: 3 elites, 7 children)."""
    out = subprocess.run([args.devo_keras_python, "bench/python_speed.py", "--seed-workload",
                          "--generations", str(args.generations), "--data", args.data],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("compare: devo.keras failed: " + out.stderr[-2000:])
    rows = {}
    for line in out.stdout.splitlines():
        m = re.match(r"devo\.keras (\S+) ([0-9.]+) s/gen train_accuracy ([0-9.]+)", line)
        if m:
            rows[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--devo", default="build/src/cli/devo")
    parser.add_argument("--devo-keras-python", default=None)
    args = parser.parse_args()
    keras_rows = devo_keras(args) if args.devo_keras_python else {}
    x = load_idx(find(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = load_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.float32)
    print(f"compare: {len(x)} training images, {args.generations} generations, 784-30-10, "
          f"deepevolution population 10 / top_k 3, devo population 9 / top_k 3")
    # deepevolution evaluates 10 then 9 individuals a generation; devo 9 then 6 (elites keep
    # their fitness when it is deterministic), so the speed-up per evaluation is shown as well.
    de_evals = 10 + 9 * (args.generations - 1)
    devo_evals = 9 + 6 * (args.generations - 1)
    print(f"{'fitness':9} {'engine':14} {'s/gen':>9} {'speed-up':>9} {'ms/eval':>9} "
          f"{'speed-up':>9} {'train acc':>10} {'acc diff':>9}")
    for accuracy_fitness in (False, True):
        name = "accuracy" if accuracy_fitness else "neg-loss"
        de_seconds, de_accuracy = run_deepevolution(x, y, args.generations, accuracy_fitness)
        de_ms = 1e3 * de_seconds * args.generations / de_evals
        print(f"{name:9} {'deepevolution':14} {de_seconds:9.3f} {1.0:9.1f} {de_ms:9.2f} {1.0:9.1f} "
              f"{de_accuracy:10.4f} {0.0:9.4f}", flush=True)
        for backend in ("cpu", "cuda"):
            result = run_devo(args.devo, args.data, args.generations, accuracy_fitness, backend)
            if result is None:
                if backend == "cuda":
                    print(f"{name:9} {'devo cuda':14} {'(no CUDA device or not built)':>40}")
                    continue
                sys.exit("compare: devo failed")
            seconds, accuracy = result
            ms = 1e3 * seconds * args.generations / devo_evals
            print(f"{name:9} {'devo ' + backend:14} {seconds:9.3f} {de_seconds / seconds:9.1f} "
                  f"{ms:9.2f} {de_ms / ms:9.1f} {accuracy:10.4f} {accuracy - de_accuracy:+9.4f}",
                  flush=True)
        if name in keras_rows:
            seconds, accuracy = keras_rows[name]
            ms = 1e3 * seconds * args.generations / (10 + 7 * (args.generations - 1))
            print(f"{name:9} {'devo.keras':14} {seconds:9.3f} {de_seconds / seconds:9.1f} "
                  f"{ms:9.2f} {de_ms / ms:9.1f} {accuracy:10.4f} {accuracy - de_accuracy:+9.4f}",
                  flush=True)
    print("The two start from different random initial weights (Keras' unseeded Glorot draw, "
          "devo's seeded one) and draw different noise, so over a few generations near chance "
          "their accuracies differ by run-to-run noise, not by algorithm.")


if __name__ == "__main__":
    main()
