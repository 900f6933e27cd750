"""devo.keras: deepevolution's Keras API on devo's engine.

    from devo.keras import wrap_keras      # was: from deepevolution import wrap_keras
    wrap_keras()
    model.fit_evolve(x_train, y_train, max_generations=10, population=10, top_k=3)

fit_evolve(model, x, y, ...) evolves a compiled Keras 3 model (any backend) whose layers devo
runs itself: Sequential or a functional chain of InputLayer, Flatten (before the first Dense),
Dense (linear, relu, tanh, sigmoid, softmax; with a bias), Activation/ReLU/Softmax of those
and Dropout (identity at inference). The whole population is evaluated at once by devo's C
engine; Keras is called only for what needs it (a per-individual fitness_func, callbacks).
"""
import numpy as np

from . import _names, _run
from .model import Model

SUPPORTED = ("InputLayer, Flatten (before the first Dense), Dense (linear, relu, tanh, "
             "sigmoid, softmax, with a bias), Activation/ReLU/Softmax of those, Dropout")


class UnsupportedLayerError(ValueError):
    """The Keras model has a layer (or a loss: UnsupportedLossError) devo cannot run."""


class UnsupportedLossError(UnsupportedLayerError):
    """The model's loss is not one devo computes, and no accuracy or custom fitness was given."""


class PredictionMismatchError(ValueError):
    """devo's prediction of the converted model differs from model.predict: devo refuses to
    evolve a network it would not run as Keras does."""


def _activation_name(fn):
    name = getattr(fn, "__name__", None) or str(fn)
    return name if name in _names.ACTIVATIONS else None


def _layer_activation(layer, kind):
    """The activation an Activation, ReLU or Softmax layer applies, or raises."""
    if kind == "Activation":
        act = _activation_name(layer.activation)
    elif kind == "ReLU":
        config = layer.get_config()
        plain = config.get("max_value") is None and not config.get("negative_slope") and \
            not config.get("threshold")
        act = "relu" if plain else None
    else:  # Softmax
        act = "softmax" if layer.get_config().get("axis", -1) in (-1, None) else None
    if act is None:
        raise UnsupportedLayerError(
            "layer '%s' (%s) applies an activation devo does not have (%s); supported: "
            "linear, relu, tanh, sigmoid, softmax" % (layer.name, kind, layer.get_config()))
    return act


def _check_chain(model):
    """A functional model must be one chain from its one input to its one output."""
    import keras
    if isinstance(model, keras.Sequential):
        return
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UnsupportedLayerError("the model has %d inputs and %d outputs; devo runs one "
                                    "chain of layers" % (len(model.inputs), len(model.outputs)))
    previous = model.inputs[0]
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            source = layer.input
        except (AttributeError, ValueError):
            source = None
        if source is not previous:
            raise UnsupportedLayerError("layer '%s' (%s) is not fed by the layer before it: "
                                        "devo runs one chain of layers" % (
                                            layer.name, type(layer).__name__))
        previous = layer.output
    if model.outputs[0] is not previous:
        raise UnsupportedLayerError("the model's output is not its last layer's")


def dense_plan(model):
    """(input_dim, [[Dense layer, activation], ...]) of a supported Keras model, or raises
    UnsupportedLayerError naming the layer, its type and what is supported."""
    _check_chain(model)
    dense = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("InputLayer", "Dropout"):
            continue
        if kind == "Flatten":
            if dense:
                raise UnsupportedLayerError("layer '%s' (Flatten) comes after a Dense layer; "
                                            "devo takes a Flatten only before the first Dense"
                                            % layer.name)
            continue
        if kind == "Dense":
            if not layer.use_bias:
                raise UnsupportedLayerError("layer '%s' (Dense) has use_bias=False; devo's "
                                            "Dense layers have a bias" % layer.name)
            act = _activation_name(layer.activation)
            if act is None:
                raise UnsupportedLayerError(
                    "layer '%s' (Dense) has activation %r; supported: linear, relu, tanh, "
                    "sigmoid, softmax" % (layer.name, getattr(layer.activation, "__name__",
                                                               layer.activation)))
            dense.append([layer, act])
            continue
        if kind in ("Activation", "ReLU", "Softmax"):
            act = _layer_activation(layer, kind)
            if not dense:
                raise UnsupportedLayerError("layer '%s' (%s) comes before any Dense layer"
                                            % (layer.name, kind))
            if act == "linear":
                continue
            if dense[-1][1] != "linear":
                raise UnsupportedLayerError(
                    "layer '%s' (%s) applies %s after Dense '%s' already applied %s; devo "
                    "applies one activation per Dense" % (layer.name, kind, act,
                                                           dense[-1][0].name, dense[-1][1]))
            dense[-1][1] = act
            continue
        raise UnsupportedLayerError("layer '%s' of type %s is not supported; devo supports: %s"
                                    % (layer.name, kind, SUPPORTED))
    if not dense:
        raise UnsupportedLayerError("the model has no Dense layer; devo supports: " + SUPPORTED)
    shape = tuple(model.inputs[0].shape[1:])
    if any(d is None for d in shape):
        raise UnsupportedLayerError("the model's input shape %s has unknown dimensions"
                                    % (tuple(model.inputs[0].shape),))
    return int(np.prod(shape)), dense


def model_loss(model):
    """(devo's loss name or None, from_logits, the loss as written) of a compiled model."""
    import keras
    loss = getattr(model, "loss", None)
    if loss is None:
        return None, False, None
    from_logits, written = False, loss
    if isinstance(loss, str):
        name = loss
    elif isinstance(loss, keras.losses.Loss):
        config = loss.get_config()
        name = type(loss).__name__
        if type(loss).__name__ == "LossFunctionWrapper":
            name = config.get("name") or name
        from_logits = bool(config.get("from_logits", False))
        if config.get("label_smoothing") or config.get("axis", -1) not in (-1, None):
            return None, from_logits, written
    elif callable(loss):
        name = getattr(loss, "__name__", str(loss))
    else:  # a list or dict of losses: several outputs
        return None, False, written
    devo_name = _names.loss_name(name)
    return (None if devo_name == "none" else devo_name), from_logits, written


def _keras_weights(dense):
    return np.concatenate([np.asarray(w, dtype=np.float32).ravel()
                           for layer, _ in dense for w in layer.get_weights()])


def _set_keras_weights(dense, model):
    weights = model.get_weights()
    for i, (layer, _) in enumerate(dense):
        layer.set_weights(weights[2 * i:2 * i + 2])


def _logit_transform(name):
    if name == "binary_crossentropy":
        return "sigmoid", lambda z: 1.0 / (1.0 + np.exp(-z))

    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return "softmax", softmax


def convert(model, fitness="loss"):
    """(devo.Model holding the Keras model's weights, the Dense layers, a function from
    Keras' predictions to devo's). fitness: "loss" (the compiled loss), "accuracy" or
    "custom". Raises UnsupportedLayerError / UnsupportedLossError."""
    input_dim, dense = dense_plan(model)
    name, from_logits, written = model_loss(model)
    if name is None and fitness == "loss":
        raise UnsupportedLossError(
            "the model's loss %r is not one devo computes (mse, binary_crossentropy, "
            "categorical_crossentropy, sparse_categorical_crossentropy, from_logits included);"
            " give fitness='accuracy', fitness_func or fitness_fn" % (written,))
    acts = [act for _, act in dense]
    to_devo = None
    if from_logits and name is not None and fitness != "custom":
        # devo's built-in loss and accuracy read probabilities: the logits' activation is
        # applied inside devo; the Keras model keeps its linear output.
        if acts[-1] != "linear":
            raise UnsupportedLossError("the loss has from_logits=True but the last layer "
                                       "applies %s" % acts[-1])
        acts[-1], to_devo = _logit_transform(name)
    layers = [(layer.units, act) for (layer, _), act in zip(dense, acts)]
    devo_model = Model(input_dim, layers, loss=name)
    devo_model.set_flat_weights(_keras_weights(dense))
    return devo_model, dense, to_devo


def check_prediction(model, devo_model, x, to_devo, rows=8):
    """devo's outputs on a few rows equal model.predict's, or PredictionMismatchError."""
    sample = np.asarray(x[:rows])
    shape = tuple(model.inputs[0].shape[1:])
    import keras
    # a direct call: model.predict would compile a predict function for 8 rows
    outputs = model(sample.reshape((len(sample),) + shape).astype(np.float32), training=False)
    keras_out = np.asarray(keras.ops.convert_to_numpy(outputs), dtype=np.float64)
    if to_devo is not None:
        keras_out = to_devo(keras_out)
    devo_out = devo_model.predict(sample.reshape(len(sample), -1)).astype(np.float64)
    if keras_out.shape != devo_out.shape:
        raise PredictionMismatchError("model.predict gives shape %s, devo %s"
                                      % (keras_out.shape, devo_out.shape))
    finite = np.abs(keras_out[np.isfinite(keras_out)])
    scale = max(1.0, float(finite.max()) if finite.size else 1.0)
    with np.errstate(invalid="ignore"):
        diff = np.abs(keras_out - devo_out)
    with np.errstate(invalid="ignore"):
        same = (keras_out == devo_out) | (diff <= 1e-4 * scale) | \
            (np.isnan(keras_out) & np.isnan(devo_out))
    if not np.all(same):
        raise PredictionMismatchError(
            "devo's prediction differs from model.predict by up to %g on the first %d rows: "
            "devo would not evolve the network Keras runs" % (float(np.nanmax(diff)),
                                                               len(sample)))


class KerasHooks(_run.Hooks):
    """A Keras run: fitness_func sees the Keras model with the candidate's weights; Keras
    callbacks are driven one epoch (of one batch) per generation, with the run's answer in
    the model."""

    def __init__(self, model, devo_model, dense, callbacks, epochs):
        import keras
        super().__init__(devo_model, callbacks)
        self.keras_model, self.dense = model, dense
        # a custom fitness keeps Keras' logits, which the compiled loss would misread
        self.loss_is_meaningful = not (model_loss(model)[1] and devo_model.loss is not None
                                       and devo_model.layers[-1][1] == "linear")
        self.list = keras.callbacks.CallbackList(list(callbacks or []), add_history=False,
                                                 add_progbar=False, model=model, epochs=epochs,
                                                 verbose=0)

    def targets(self, y, n, name="y"):
        y = np.asarray(y)
        if self.model.loss is None and y.ndim == 1 and self.model.output_dim > 1:
            classes = np.zeros((len(y), self.model.output_dim), dtype=np.float32)
            classes[np.arange(len(y)), y.astype(np.int64)] = 1.0  # one-hot, for accuracy
            y = classes
        return self.model.targets(y, n, name)

    def candidate(self, handle):
        _set_keras_weights(self.dense, Model._adopt(handle, owned=False))
        return self.keras_model

    def begin(self, logs):
        self.keras_model.stop_training = False
        self.list.on_train_begin(logs)

    def generation(self, index, logs, answer):
        if self.callbacks:
            _set_keras_weights(self.dense, answer)
            # one epoch of one batch, as Keras' fit would drive them
            self.list.on_epoch_begin(index)
            self.list.on_train_batch_begin(0)
            self.list.on_train_batch_end(0, logs)
            self.list.on_epoch_end(index, logs)
        return bool(getattr(self.keras_model, "stop_training", False))

    def finish(self):
        _set_keras_weights(self.dense, self.model)

    def end(self, logs):
        self.list.on_train_end(logs)


def fit_evolve(model, x, y, max_generations=100, population=16, top_k=4, mutation_rate=0.2,
               mutation_std=0.03, verbose=1, fitness_func=None, **options):
    """Evolves a compiled Keras model's weights on x, y with devo; at the end the model holds
    the best individual (an evolution strategy: its centre), as deepevolution's does.

    The seed's parameters keep deepevolution's meaning and defaults. fitness_func(model, X, Y)
    -> float is deepevolution's per-individual fitness (the Keras model holds the candidate's
    weights; slow: one Keras call per individual). fitness="accuracy" is devo's built-in
    accuracy; fitness_fn(y_true, y_pred) -> P fitnesses, y_pred of shape (P, n, outputs), is
    the fast custom fitness (one call per generation). **options: the engine's options by
    their devo command names in snake_case (strategy, learning_rate, sigma, sigma_final,
    rank, weight_decay, fitness_samples, batch_size, seed, backend, precision, threads,
    init_std), validation_data=(x, y), callbacks=[Keras callbacks, one epoch per
    generation], checkpoint=PATH, checkpoint_every=N, resume=PATH.
    Returns a devo.History: {'score': [...], 'best': [...], ...}, .history is itself."""
    if callable(population) and fitness_func is None:
        # deepevolution's own positional order puts fitness_func fourth:
        # fit_evolve(X, Y, max_generations, fitness_func)
        if (top_k, mutation_rate, mutation_std) != (4, 0.2, 0.03):
            raise TypeError("fit_evolve: give fitness_func by keyword when passing "
                            "population, top_k, ... positionally")
        fitness_func, population = population, 16
    if fitness_func is not None or options.get("fitness_fn") is not None:
        kind = "custom"
    else:
        kind = "accuracy" if str(options.get("fitness", "loss")).lower() == "accuracy" else "loss"
    devo_model, dense, to_devo = convert(model, kind)
    x_rows = np.asarray(x)
    if x_rows.ndim < 2 or int(np.prod(x_rows.shape[1:])) != devo_model.input_dim:
        raise ValueError("x: expected samples of shape %s (or their %d values flat), got %s"
                         % (tuple(model.inputs[0].shape[1:]), devo_model.input_dim,
                            x_rows.shape[1:]))
    if len(x_rows):
        check_prediction(model, devo_model, x_rows, to_devo)
    hooks = KerasHooks(model, devo_model, dense, options.get("callbacks"), max_generations)
    settings = dict(options, max_generations=max_generations, population=population,
                    top_k=top_k, mutation_rate=mutation_rate, mutation_std=mutation_std,
                    verbose=verbose, fitness_func=fitness_func)
    history = _run.fit(devo_model, x, y, settings, hooks)
    model.history = history
    return history


def wrap_keras(log_file=None):
    """Adds fit_evolve to keras.Model, as deepevolution's wrap_keras does: a deepevolution
    script runs after changing only its import. (log_file is accepted for deepevolution's
    signature; devo prints through sys.stdout.)"""
    import keras

    def _fit_evolve(self, x, y, max_generations=100, population=16, top_k=4,
                    mutation_rate=0.2, mutation_std=0.03, verbose=1, fitness_func=None,
                    **options):
        return fit_evolve(self, x, y, max_generations, population, top_k, mutation_rate,
                          mutation_std, verbose, fitness_func, **options)

    _fit_evolve.__doc__ = fit_evolve.__doc__
    keras.Model.fit_evolve = _fit_evolve
