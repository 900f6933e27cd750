"""The Python package and the devo command share files: a model evolved in Python loads in
the command and the reverse, and a checkpoint the command wrote, resumed in Python, ends
where the command's own resume ends (the model file byte for byte; the checkpoint tensor for
tensor, less its wall times)."""
import csv
import json
import shutil
import struct

import numpy as np
import pytest

import devo
from conftest import run_cli


def safetensors(path):
    """(metadata, {name: bytes}) of a safetensors file."""
    data = open(path, "rb").read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    meta = header.pop("__metadata__", {})
    body = data[8 + length:]
    return meta, {name: body[t["data_offsets"][0]:t["data_offsets"][1]]
                  for name, t in header.items()}


def test_a_python_model_runs_in_the_cli_and_a_cli_model_in_python(tmp_path, idx_dir, devo_cli):
    x, y = devo.load_idx(idx_dir, "train")
    m = devo.Model(36, [(5, "relu"), (3, "softmax")], loss="sparse_categorical_crossentropy")
    m.fit_evolve(x, y, max_generations=3, verbose=0)
    path = tmp_path / "python.safetensors"
    m.save(path)
    out = tmp_path / "p.csv"
    run_cli(devo_cli, "predict", "--model", path, "--data", idx_dir, "--out", out)
    xt, _ = devo.load_idx(idx_dir, "t10k")
    rows = list(csv.DictReader(open(out)))
    cli_outputs = np.array([[float(r["output_%d" % j]) for j in range(3)] for r in rows])
    np.testing.assert_allclose(cli_outputs, m.predict(xt), rtol=1e-5, atol=1e-6)

    cli_model = tmp_path / "cli.safetensors"
    run_cli(devo_cli, "evolve", "--data", idx_dir, "--layers", "4:tanh,3:softmax",
            "--generations", "3", "--verbose", "0", "--save", cli_model)
    back = devo.Model.load(cli_model)
    assert back.layers == [(4, "tanh"), (3, "softmax")]
    text = run_cli(devo_cli, "eval", "--model", cli_model, "--data", idx_dir)
    loss, accuracy = back.evaluate(xt, devo.load_idx(idx_dir, "t10k")[1])
    assert ("%.4f" % accuracy) in text or ("%.2f" % (100 * accuracy)) in text, text


@pytest.mark.parametrize("strategy", ["ga", "snes"])
def test_a_cli_checkpoint_resumed_in_python_ends_as_the_clis_resume(tmp_path, idx_dir,
                                                                     devo_cli, strategy):
    cli_ckpt, py_ckpt = tmp_path / "cli.ckpt", tmp_path / "py.ckpt"
    common = ["--data", idx_dir, "--verbose", "0"]
    run_cli(devo_cli, "evolve", *common, "--layers", "5:relu,3:softmax", "--generations", "3",
            "--population", "8", "--top-k", "2", "--seed", "3", "--strategy", strategy,
            "--checkpoint", cli_ckpt)
    shutil.copy(cli_ckpt, py_ckpt)
    run_cli(devo_cli, "evolve", *common, "--resume", cli_ckpt, "--generations", "6", "--save",
            tmp_path / "cli.safetensors")

    x, y = devo.load_idx(idx_dir, "train")
    m = devo.Model(36, [(5, "relu"), (3, "softmax")], loss="sparse_categorical_crossentropy")
    history = m.fit_evolve(x, y, max_generations=6, verbose=0, resume=py_ckpt,
                           checkpoint=py_ckpt)
    assert len(history["score"]) == 6  # the resumed generations, then the new ones
    m.save(tmp_path / "py.safetensors")
    assert open(tmp_path / "py.safetensors", "rb").read() == \
        open(tmp_path / "cli.safetensors", "rb").read()
    cli_meta, cli_tensors = safetensors(cli_ckpt)
    py_meta, py_tensors = safetensors(py_ckpt)
    # wall times, and the checksum of a data section that holds them
    for key in ("elapsed_seconds", "data_crc32"):
        cli_meta.pop(key, None), py_meta.pop(key, None)
    cli_tensors.pop("history/seconds"), py_tensors.pop("history/seconds")
    assert py_meta == cli_meta
    assert py_tensors == cli_tensors


def test_checkpoint_every_and_resume_through_python_continue_exactly(tmp_path, classes):
    x, y = classes
    straight = devo.Model(8, [(4, "relu"), (3, "softmax")], loss="sparse_categorical_crossentropy")
    split = straight.copy()
    straight.fit_evolve(x, y, max_generations=6, verbose=0, seed=2)
    ckpt = tmp_path / "run.ckpt"
    split.fit_evolve(x, y, max_generations=4, verbose=0, seed=2, checkpoint=ckpt,
                     checkpoint_every=2)
    assert devo.Evolver.load_state(ckpt).generation == 4
    split.fit_evolve(x, y, max_generations=6, verbose=0, resume=ckpt)
    np.testing.assert_array_equal(split.get_flat_weights(), straight.get_flat_weights())
    with pytest.raises(ValueError, match="population=30 differs"):
        split.fit_evolve(x, y, max_generations=8, population=30, verbose=0, resume=ckpt)
    with pytest.raises(devo.InvalidArgumentError, match="fingerprint"):
        split.fit_evolve(x * 0.5, y, max_generations=8, verbose=0, resume=ckpt)
