"""devo's safetensors files against Python's safetensors and numpy.

1. devo evolves and saves a model; safetensors loads it and a plain numpy forward pass
   reproduces `devo predict`'s outputs to 1e-5.
2. safetensors writes a file with devo's metadata; devo loads it and `devo predict` matches
   the numpy forward pass of the same weights to 1e-5.
Prints the largest difference of each; exits nonzero on a mismatch.
"""
import csv
import os
import subprocess
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softmax": lambda z: np.exp(z - z.max(1, keepdims=True))
    / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True),
}


def write_idx(path, array, rank_dims):
    header = bytes([0, 0, 8, len(rank_dims)]) + b"".join(d.to_bytes(4, "big") for d in rank_dims)
    with open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_data(directory, rng):
    os.makedirs(directory, exist_ok=True)
    for split, n in (("train", 300), ("t10k", 120)):
        labels = rng.integers(0, 3, n)
        images = rng.integers(0, 256, (n, 4, 5))
        images[np.arange(n), labels, :] = 255  # a class-specific bright row
        write_idx(f"{directory}/{split}-images-idx3-ubyte", images, [n, 4, 5])
        write_idx(f"{directory}/{split}-labels-idx1-ubyte", labels, [n])
    return images.reshape(n, 20).astype(np.float32) / np.float32(255)


def forward(tensors, layers, x):
    h = x.astype(np.float64)
    for i, (_, activation) in enumerate(layers):
        name = "dense" if i == 0 else f"dense_{i}"
        h = ACTIVATIONS[activation](h @ tensors[f"{name}/kernel"].astype(np.float64)
                                    + tensors[f"{name}/bias"].astype(np.float64))
    return h


def devo_predictions(devo, model, data, out):
    subprocess.run([devo, "predict", "--model", model, "--data", data, "--out", out],
                   check=True, capture_output=True)
    with open(out) as f:
        rows = list(csv.reader(f))
    return np.array([[float(v) for v in row[3:]] for row in rows[1:]])


def parse_layers(spec):
    return [(int(u), a) for u, a in (part.split(":") for part in spec.split(","))]


def main():
    devo, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(7)
    data = os.path.join(work, "data")
    x_test = make_data(data, rng)
    spec = "8:relu,6:tanh,5:sigmoid,3:softmax"

    # 1. devo writes, Python reads.
    model = os.path.join(work, "devo.safetensors")
    subprocess.run([devo, "evolve", "--data", data, "--layers", spec, "--generations", "3",
                    "--population", "8", "--top-k", "2", "--verbose", "0", "--save", model],
                   check=True, capture_output=True)
    tensors = load_file(model)
    with safe_open(model, framework="numpy") as f:
        metadata = f.metadata()
    assert metadata["layers"] == spec, metadata
    assert metadata["input_dim"] == "20" and metadata["devo_format_version"] == "1", metadata
    assert all(t.dtype == np.float32 for t in tensors.values())
    expected = forward(tensors, parse_layers(metadata["layers"]), x_test)
    got = devo_predictions(devo, model, data, os.path.join(work, "devo.csv"))
    devo_to_numpy = float(np.abs(got - expected).max())
    print(f"devo -> safetensors/numpy: largest difference {devo_to_numpy:.3g}")

    # 2. Python writes, devo reads.
    written = {}
    inputs = 20
    for i, (units, _) in enumerate(parse_layers(spec)):
        name = "dense" if i == 0 else f"dense_{i}"
        written[f"{name}/kernel"] = rng.normal(0, 0.5, (inputs, units)).astype(np.float32)
        written[f"{name}/bias"] = rng.normal(0, 0.1, (units,)).astype(np.float32)
        inputs = units
    python_model = os.path.join(work, "python.safetensors")
    save_file(written, python_model, metadata=metadata)
    expected = forward(written, parse_layers(spec), x_test)
    got = devo_predictions(devo, python_model, data, os.path.join(work, "python.csv"))
    numpy_to_devo = float(np.abs(got - expected).max())
    print(f"safetensors -> devo: largest difference {numpy_to_devo:.3g}")

    worst = max(devo_to_numpy, numpy_to_devo)
    print(f"largest difference: {worst:.3g} (bound 1e-5)")
    sys.exit(0 if worst <= 1e-5 else 1)


if __name__ == "__main__":
    main()
