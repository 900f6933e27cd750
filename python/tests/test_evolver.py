"""devo.Evolver: ask/tell with a view of the engine's memory, batched forwards, states that
resume exactly, and the CartPole example's loop."""
import os
import subprocess
import sys

import numpy as np
import pytest

import devo


def sphere_run(evolver, generations):
    for _ in range(generations):
        pop = evolver.ask()
        evolver.tell(-np.sum((pop - 0.5) ** 2, axis=1))


def test_ask_is_a_read_only_view_without_a_copy():
    e = devo.Evolver(devo.Model(3, [(2, "linear")], loss="mse"), population=6, top_k=2)
    a, b = e.ask(), e.ask()
    assert a.shape == (6, 8) and a.dtype == np.float32
    assert a.ctypes.data == b.ctypes.data  # the engine's own memory
    with pytest.raises(ValueError):
        a[0, 0] = 1.0
    w0 = devo.Model(3, [(2, "linear")], loss="mse").get_flat_weights()
    np.testing.assert_array_equal(a[0], w0)  # individual 0 is the model


def test_tell_breeds_and_best_is_the_answer():
    m = devo.Model(3, [(2, "linear")], loss="mse")
    e = devo.Evolver(m, population=8, top_k=2, seed=1)
    pop = e.ask().copy()
    scores = np.arange(8.0)
    e.tell(scores)
    np.testing.assert_array_equal(e.best().get_flat_weights(), pop[7])
    assert e.stats()["best"] == 7.0 and e.generation == 1
    np.testing.assert_array_equal(e.ask()[0], pop[7])  # elites first
    with pytest.raises(ValueError, match=r"fitness: expected shape \(8,\)"):
        e.tell(np.zeros(7))


def test_forward_and_predict_run_every_individual():
    m = devo.Model(4, [(3, "tanh"), (2, "softmax")])
    e = devo.Evolver(m, population=6, strategy="openai-es", seed=2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 7, 4)).astype(np.float32)
    own = e.forward(x)
    shared = e.predict(x[0])
    pop = e.ask()
    for i in range(6):
        m.set_flat_weights(pop[i])
        np.testing.assert_allclose(own[i], m.predict(x[i]), atol=2e-6)
        np.testing.assert_allclose(shared[i], m.predict(x[0]), atol=2e-6)


def test_a_saved_state_resumes_bit_for_bit(tmp_path):
    m = devo.Model(6, [(4, "relu"), (2, "linear")], loss="mse")
    straight = devo.Evolver(m, population=10, strategy="snes", seed=4)
    sphere_run(straight, 6)
    split = devo.Evolver(m, population=10, strategy="snes", seed=4)
    sphere_run(split, 3)
    path = tmp_path / "state.ckpt"
    split.save_state(path)
    resumed = devo.Evolver.load_state(path)
    assert resumed.generation == 3 and resumed.options()["strategy"] == "snes"
    sphere_run(resumed, 3)
    np.testing.assert_array_equal(resumed.ask(), straight.ask())
    np.testing.assert_array_equal(resumed.best().get_flat_weights(),
                                  straight.best().get_flat_weights())
    with pytest.raises(TypeError, match="seed cannot be overridden"):
        devo.Evolver.load_state(path, seed=1)


def test_the_cartpole_example_learns():
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python",
                           "cartpole.py")
    out = subprocess.run([sys.executable, example, "--generations", "15"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    last = [line for line in out.stdout.splitlines() if line.startswith("generation")][-1]
    assert float(last.split("best")[1].split()[0]) >= 150.0, out.stdout
