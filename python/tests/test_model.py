"""devo.Model: a known forward pass, Keras-ordered weights, files, errors that name the
argument, and fit_evolve on the numpy core."""
import numpy as np
import pytest

import devo


def numpy_forward(model, x):
    out = np.asarray(x, dtype=np.float64)
    for (kernel, bias), (_, act) in zip(zip(*[iter(model.get_weights())] * 2), model.layers):
        out = out @ kernel + bias
        if act == "relu":
            out = np.maximum(out, 0)
        elif act == "tanh":
            out = np.tanh(out)
        elif act == "softmax":
            e = np.exp(out - out.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
    return out


def test_predict_is_the_dense_forward_pass(classes):
    x, _ = classes
    m = devo.Model(8, [(5, "relu"), (4, "tanh"), (3, "softmax")],
                   loss="sparse_categorical_crossentropy", seed=3)
    np.testing.assert_allclose(m.predict(x), numpy_forward(m, x), rtol=1e-5, atol=1e-6)
    assert m.layers == [(5, "relu"), (4, "tanh"), (3, "softmax")]
    assert m.param_count == 8 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3


def test_weights_come_in_keras_order_and_shapes():
    m = devo.Model(3, [(2, "linear")], loss="mse")
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2)
    m.set_weights([kernel, np.array([10.0, 20.0])])
    np.testing.assert_array_equal(m.get_flat_weights(), [0, 1, 2, 3, 4, 5, 10, 20])
    np.testing.assert_array_equal(m.predict([[1, 0, 0], [0, 0, 1]]), [[10, 21], [14, 25]])
    with pytest.raises(ValueError, match=r"weights\[0\]: expected shape \(3, 2\)"):
        m.set_weights([kernel.T, np.zeros(2)])
    with pytest.raises(ValueError, match="expected 2 arrays"):
        m.set_weights([kernel])


def test_save_and_load_keep_architecture_and_weights(tmp_path, classes):
    x, y = classes
    m = devo.Model(8, [(6, "relu"), (3, "softmax")], loss="sparse_categorical_crossentropy")
    path = tmp_path / "m.safetensors"
    m.save(path)
    back = devo.Model.load(path)
    assert back.layers == m.layers and back.loss == m.loss
    np.testing.assert_array_equal(back.predict(x), m.predict(x))
    assert back.evaluate(x, y) == m.evaluate(x, y)


def test_bad_arrays_are_named_errors():
    m = devo.Model(4, [(2, "softmax")], loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"x: expected shape \(n, 4\), got \(3, 5\)"):
        m.predict(np.zeros((3, 5)))
    with pytest.raises(TypeError, match="x: expected numbers"):
        m.predict(np.array([["a", "b", "c", "d"]]))
    with pytest.raises(ValueError, match=r"y: expected shape \(3,\)"):
        m.evaluate(np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(devo.InvalidArgumentError, match="row 0"):
        m.predict(np.full((1, 4), np.nan))
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        devo.Model(4, [(2, "gelu")])
    with pytest.raises(devo.DevoIOError):
        devo.Model.load("/nonexistent/model.safetensors")


def test_float32_c_contiguous_inputs_are_not_copied(monkeypatch, classes):
    x, _ = classes
    from devo import _arrays
    seen = []
    real = _arrays.floats

    def spy(array, name, shape):
        out = real(array, name, shape)
        seen.append(out is array)
        return out
    monkeypatch.setattr(_arrays, "floats", spy)
    devo.Model(8, [(3, "softmax")]).predict(x)
    assert seen == [True]


def test_fit_evolve_learns_and_returns_deepevolutions_history(classes):
    x, y = classes
    m = devo.Model(8, [(6, "relu"), (3, "softmax")], loss="sparse_categorical_crossentropy")
    before = m.evaluate(x, y)[0]
    h = m.fit_evolve(x, y, max_generations=20, population=24, top_k=4, verbose=0, seed=2)
    assert h.history is h and len(h["score"]) == 20 and h.epoch == list(range(20))
    assert set(h) >= {"score", "best", "std", "population_mean", "best_ever", "center",
                      "evaluations", "seconds"}
    # the model holds the last generation's best individual: its loss is -best
    assert m.evaluate(x, y)[0] == pytest.approx(-h["best"][-1], rel=1e-5)
    assert m.evaluate(x, y)[0] < before
    assert h["score"][-1] > h["score"][0]


def test_the_same_seed_gives_the_same_run(classes):
    x, y = classes
    runs = []
    for _ in range(2):
        m = devo.Model(8, [(3, "softmax")], loss="sparse_categorical_crossentropy")
        m.fit_evolve(x, y, max_generations=5, verbose=0, seed=9, strategy="pgpe")
        runs.append(m.get_flat_weights())
    np.testing.assert_array_equal(*runs)


def test_verbose_prints_deepevolutions_line_through_sys_stdout(capsys, classes):
    x, y = classes
    m = devo.Model(8, [(3, "softmax")], loss="sparse_categorical_crossentropy")
    m.fit_evolve(x, y, max_generations=2, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("[Generation 2 / 2] score: ") and "(best: " in lines[1]


def test_unknown_options_and_bad_values_are_named(classes):
    x, y = classes
    m = devo.Model(8, [(3, "softmax")], loss="sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="'sigma_start'"):
        m.fit_evolve(x, y, sigma_start=0.1)
    with pytest.raises(ValueError, match="unknown strategy 'cma'"):
        m.fit_evolve(x, y, strategy="cma")
    with pytest.raises(devo.InvalidArgumentError, match="top_k"):
        m.fit_evolve(x, y, population=4, top_k=9, verbose=0)
