"""Shared fixtures of the Python package's tests: small MNIST-format data sets, the devo
command (DEVO_CLI, set by ./test.sh), and Keras on its lightest backend (jax)."""
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")


def write_idx(directory, split, x, y):
    """x (n, rows, cols) uint8 and y (n,) uint8 as SPLIT-images-idx3-ubyte and
    SPLIT-labels-idx1-ubyte in directory."""
    os.makedirs(directory, exist_ok=True)
    n, rows, cols = x.shape
    with open(os.path.join(directory, split + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, rows, cols))
        f.write(x.astype(np.uint8).tobytes())
    with open(os.path.join(directory, split + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n))
        f.write(y.astype(np.uint8).tobytes())


@pytest.fixture(scope="session")
def idx_dir(tmp_path_factory):
    """A 6x6-pixel, 3-class IDX data set whose classes differ in brightness (train 240,
    t10k 60)."""
    directory = str(tmp_path_factory.mktemp("idx"))
    rng = np.random.default_rng(5)
    for split, n in (("train", 240), ("t10k", 60)):
        y = np.arange(n) % 3
        x = rng.integers(0, 80, size=(n, 6, 6)) + (y * 80)[:, None, None]
        write_idx(directory, split, x, y)
    return directory


@pytest.fixture(scope="session")
def devo_cli():
    """The devo command: DEVO_CLI, or `devo` on PATH; skipped without one."""
    path = os.environ.get("DEVO_CLI") or shutil.which("devo")
    if not path:
        pytest.skip("no devo command (set DEVO_CLI)")
    return path


def run_cli(cli, *args):
    result = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def classes():
    """(x, y): 120 samples of 8 features, 3 classes separated by the first features."""
    rng = np.random.default_rng(1)
    y = np.arange(120) % 3
    x = rng.normal(size=(120, 8)).astype(np.float32)
    x[:, 0] += 2.0 * y
    x[:, 1] -= 1.5 * y
    return x, y
