"""devo.keras: deepevolution's API on Keras 3 models (jax backend here): the drop-in, the
three kinds of fitness, the options, callbacks, unsupported layers and losses by kind, and
exceptions raised inside callbacks."""
import csv
import os

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import devo  # noqa: E402
import devo.keras as dk  # noqa: E402


def mlp(inputs=(8,), hidden=6, outputs=3, out="softmax", loss="sparse_categorical_crossentropy",
        seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(inputs), keras.layers.Flatten(),
                              keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(outputs, activation=out)])
    model.compile(loss=loss, optimizer="adam", metrics=["accuracy"])
    return model


def test_wrap_keras_adds_deepevolutions_method_and_the_model_keeps_the_best(classes):
    x, y = classes
    dk.wrap_keras()
    model = mlp()
    history = model.fit_evolve(x, y, max_generations=8, population=10, top_k=3, verbose=0)
    assert isinstance(history, dict) and history.history is history
    assert len(history["score"]) == 8
    # the model holds the last generation's best: its Keras loss is -best
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(-history["best"][-1], rel=1e-4)


def test_deepevolutions_positional_fitness_func_is_understood(classes):
    x, y = classes
    model = mlp()
    calls = []

    def fitness(m, X, Y):
        calls.append(m)
        return float(np.mean(np.argmax(m.predict(X, verbose=0), -1) == Y))
    dk.fit_evolve(model, x, y, 2, fitness, verbose=0)
    assert len(calls) == 2 * 16 and all(m is model for m in calls)  # the Keras model itself


def test_the_per_individual_fitness_sees_each_candidate_in_the_keras_model(classes):
    x, y = classes
    model = mlp()
    seen = []

    def fitness(m, X, Y):
        assert X is x and Y is y  # the user's own arrays, not copies
        weights = np.concatenate([w.ravel() for w in m.get_weights()])
        seen.append(weights)
        return float(-np.sum(weights ** 2))
    history = dk.fit_evolve(model, x, y, max_generations=3, population=6, top_k=2, verbose=0,
                            fitness_func=fitness)
    assert len(seen) == 3 * 6
    assert len({w.tobytes() for w in seen[:6]}) == 6  # six different candidates
    final = np.concatenate([w.ravel() for w in model.get_weights()])
    assert -np.sum(final ** 2) == pytest.approx(history["best"][-1], rel=1e-5)


def test_the_batched_fitness_equals_the_built_in_accuracy(classes):
    x, y = classes
    a, b = mlp(seed=1), mlp(seed=1)
    builtin = dk.fit_evolve(a, x, y, max_generations=5, verbose=0, fitness="accuracy", seed=3)
    shapes = []

    def accuracy(y_true, y_pred):
        shapes.append(y_pred.shape)
        return (y_pred.argmax(-1) == y_true).mean(axis=1)
    batched = dk.fit_evolve(b, x, y, max_generations=5, verbose=0, fitness_fn=accuracy, seed=3)
    assert shapes[0] == (16, 120, 3) and len(shapes) == 5
    assert builtin["best"] == batched["best"]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_engine_options_and_validation_reach_the_run(classes):
    x, y = classes
    model = mlp()
    history = dk.fit_evolve(model, x, y, max_generations=4, population=8, verbose=0,
                            strategy="openai-es", learning_rate=0.05, sigma=0.05, rank=1,
                            weight_decay=0.001, fitness_samples=60, batch_size=32, seed=5,
                            backend="cpu", precision="fp32", threads=1, init_std=0.01,
                            sigma_final=0.01, validation_data=(x[:30], y[:30]))
    assert not np.isnan(history["center"]).any()  # an evolution strategy ran
    assert len(history["val_loss"]) == 4 and len(history["val_accuracy"]) == 4
    loss, acc = model.evaluate(x[:30], y[:30], verbose=0)[:2]
    assert history["val_loss"][-1] == pytest.approx(loss, rel=1e-4)
    assert history.params["strategy"] == "openai-es"


def test_keras_callbacks_run_one_epoch_per_generation(tmp_path, classes):
    x, y = classes
    model = mlp()
    log = tmp_path / "log.csv"
    keras_history = keras.callbacks.History()
    seen = []

    class Mine(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, dict(logs)))

    stop = keras.callbacks.EarlyStopping(monitor="score", mode="max", patience=0,
                                         min_delta=1e9)
    history = dk.fit_evolve(model, x, y, max_generations=20, verbose=0,
                            callbacks=[keras.callbacks.CSVLogger(str(log)), keras_history,
                                       Mine(), stop])
    assert len(history["score"]) == 2  # stopped by EarlyStopping after two generations
    assert [e for e, _ in seen] == [0, 1] and "loss" in seen[0][1]
    rows = list(csv.DictReader(open(log)))
    assert len(rows) == 2 and float(rows[1]["score"]) == pytest.approx(history["score"][1])
    assert keras_history.history["best"] == history["best"]


def test_terminate_on_nan_stops_the_run():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    model.layers[0].set_weights([np.array([[2.0]]), np.zeros(1)])
    x = np.full((10, 1), 3e38, dtype=np.float32)  # 2 x 3e38 overflows: the loss is infinite
    history = dk.fit_evolve(model, x, np.zeros(10), max_generations=10, verbose=0,
                            callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history["score"]) == 1


@pytest.mark.parametrize("where", ["callback", "fitness_func", "fitness_fn"])
def test_an_exception_in_a_callback_stops_the_run_and_reaches_the_caller(classes, where):
    x, y = classes
    model = mlp()

    class Boom(Exception):
        pass

    calls = []

    def fail(*args):
        calls.append(1)
        if len(calls) >= 3:
            raise Boom(where)
        return np.zeros(16) if where == "fitness_fn" else 0.0

    class Failing(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            fail()
    kwargs = {"callback": {"callbacks": [Failing()]}, "fitness_func": {"fitness_func": fail},
              "fitness_fn": {"fitness_fn": fail}}[where]
    with pytest.raises(Boom, match=where):
        dk.fit_evolve(model, x, y, max_generations=6, verbose=0, **kwargs)
    assert len(calls) == 3  # nothing ran after the exception


def test_a_fitness_fn_of_the_wrong_shape_is_named(classes):
    x, y = classes
    with pytest.raises(ValueError, match=r"expected \(16,\)"):
        dk.fit_evolve(mlp(), x, y, max_generations=2, verbose=0,
                      fitness_fn=lambda yt, yp: np.zeros(3))


def test_functional_chains_activation_layers_and_dropout_are_supported(classes):
    x, y = classes
    inputs = keras.Input((8,))
    h = keras.layers.Dense(6)(inputs)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Dropout(0.5)(h)
    h = keras.layers.Dense(3)(h)
    out = keras.layers.Activation("softmax")(h)
    model = keras.Model(inputs, out)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(), optimizer="adam")
    history = dk.fit_evolve(model, x, y, max_generations=3, verbose=0)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(-history["best"][-1], rel=1e-4)


def test_from_logits_losses_are_computed_on_the_probabilities(classes):
    x, y = classes
    model = mlp(out="linear", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = dk.fit_evolve(model, x, y, max_generations=3, verbose=0)
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(-history["best"][-1], rel=1e-4)


def unsupported_models():
    conv = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3),
                             keras.layers.Flatten(), keras.layers.Dense(2)])
    no_bias = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, use_bias=False)])
    elu = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="elu")])
    late_flatten = keras.Sequential([keras.Input((4, 2)), keras.layers.Dense(3),
                                     keras.layers.Flatten(), keras.layers.Dense(2)])
    norm = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(),
                             keras.layers.Dense(2)])
    capped = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                               keras.layers.ReLU(max_value=6.0), keras.layers.Dense(2)])
    twice = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                              keras.layers.Activation("relu"), keras.layers.Dense(2)])
    a, b = keras.Input((4,)), keras.Input((4,))
    two_inputs = keras.Model([a, b], keras.layers.Dense(2)(keras.layers.Concatenate()([a, b])))
    inp = keras.Input((4,))
    d = keras.layers.Dense(4)(inp)
    skip = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Add()([inp, d])))
    return [("conv", conv, "Conv2D"), ("no bias", no_bias, "use_bias=False"),
            ("elu", elu, "'elu'"), ("late flatten", late_flatten, "Flatten"),
            ("batch norm", norm, "BatchNormalization"), ("capped relu", capped, "ReLU"),
            ("two activations", twice, "tanh"), ("two inputs", two_inputs, "2 inputs"),
            ("skip connection", skip, "Add")]


def test_every_kind_of_unsupported_layer_is_named():
    x, y = np.zeros((4, 4), dtype=np.float32), np.zeros(4)
    for label, model, named in unsupported_models():
        model.compile(loss="mse", optimizer="adam")
        with pytest.raises(dk.UnsupportedLayerError, match=named) as info:
            dk.fit_evolve(model, x, y, max_generations=1, verbose=0)
        assert isinstance(info.value, ValueError), label


def test_an_unsupported_loss_is_named_unless_the_fitness_needs_none(classes):
    x, y = classes
    model = mlp(loss="kl_divergence")
    one_hot = np.eye(3, dtype=np.float32)[y]
    with pytest.raises(dk.UnsupportedLossError, match="kl_divergence"):
        dk.fit_evolve(model, x, one_hot, max_generations=1, verbose=0)
    history = dk.fit_evolve(model, x, y, max_generations=2, verbose=0, fitness="accuracy")
    assert 0.0 <= history["best"][-1] <= 1.0


def test_a_prediction_that_differs_from_keras_is_refused(classes, monkeypatch):
    x, y = classes
    model = mlp()
    real = dk.convert

    def skewed(*args):
        devo_model, dense, to_devo = real(*args)
        w = devo_model.get_flat_weights()
        w[-1] += 0.5  # a bias devo would get wrong
        devo_model.set_flat_weights(w)
        return devo_model, dense, to_devo
    monkeypatch.setattr(dk, "convert", skewed)
    with pytest.raises(dk.PredictionMismatchError, match="model.predict"):
        dk.fit_evolve(model, x, y, max_generations=1, verbose=0)


def test_bad_data_shapes_are_named(classes):
    x, y = classes
    with pytest.raises(ValueError, match="x: expected"):
        dk.fit_evolve(mlp(), x[:, :5], y, max_generations=1, verbose=0)
    with pytest.raises(ValueError, match=r"y: expected shape \(120,\)"):
        dk.fit_evolve(mlp(), x, y[:100], max_generations=1, verbose=0)


def test_two_runs_in_two_threads_give_their_own_results(classes):
    import threading
    x, y = classes
    alone = mlp(seed=2)
    expected = dk.fit_evolve(alone, x, y, max_generations=4, verbose=0, seed=7)["best"]
    results = {}

    def run(i):
        m = devo.Model(8, [(6, "relu"), (3, "softmax")], loss="sparse_categorical_crossentropy")
        m.set_weights(alone_start)
        results[i] = m.fit_evolve(x, y, max_generations=4, verbose=0, seed=7)["best"]
    alone_start = mlp(seed=2).get_weights()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == results[1] == expected
