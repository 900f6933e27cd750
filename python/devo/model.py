"""devo.Model: a dense feed-forward network (Keras' Sequential of Dense layers) held by the C
library, with numpy in and out: predict, evaluate, Keras-ordered weights, safetensors files
shared with the C library and the devo command, and fit_evolve."""
import ctypes
import os

import numpy as np

from . import _arrays, _lib, _names
from .errors import check

_lib_ = _lib.lib


class Model:
    """A network of `input_dim` inputs and `layers`, a list of (units, activation) with
    activation one of linear, relu, tanh, sigmoid, softmax, compiled with `loss` (mse,
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, or
    None for a model scored only by accuracy or a custom fitness). Its first weights are
    Keras' defaults (Glorot-uniform kernels, zero biases) drawn from `seed`."""

    def __init__(self, input_dim, layers, loss=None, seed=0):
        handle = ctypes.c_void_p()
        check(_lib_.devo_model_create(ctypes.byref(handle), int(input_dim)))
        self._handle = handle
        self._owned = True
        for i, layer in enumerate(layers):
            try:
                units, activation = layer
            except (TypeError, ValueError):
                raise ValueError("layers[%d]: expected (units, activation), got %r"
                                 % (i, layer)) from None
            act = _names.choice(_names.ACTIVATIONS, activation, "activation")
            check(_lib_.devo_model_add_dense(handle, int(units), act))
        name = _names.loss_name(loss)
        if name is None:
            raise ValueError("unknown loss %r: expected one of %s or None"
                             % (loss, ", ".join(sorted(_names.LOSSES))))
        check(_lib_.devo_model_compile(handle, _names.LOSSES[name]))
        check(_lib_.devo_model_init_weights(handle, int(seed)))

    @classmethod
    def _adopt(cls, handle, owned=True):
        """A Model around a devo_model* (freed with it when owned)."""
        model = cls.__new__(cls)
        model._handle = ctypes.c_void_p(handle.value if isinstance(handle, ctypes.c_void_p)
                                        else handle)
        model._owned = owned
        return model

    def __del__(self):
        if getattr(self, "_owned", False) and self._handle:
            _lib_.devo_model_free(self._handle)
            self._handle = None

    # ----------------------------------------------------------------- shape
    @property
    def input_dim(self):
        return _lib_.devo_model_input_dim(self._handle)

    @property
    def output_dim(self):
        return _lib_.devo_model_output_dim(self._handle)

    @property
    def param_count(self):
        return _lib_.devo_model_param_count(self._handle)

    @property
    def layers(self):
        """[(units, activation name), ...]."""
        names = {v: k for k, v in _names.ACTIVATIONS.items()}
        out = []
        for i in range(_lib_.devo_model_layer_count(self._handle)):
            units, act = ctypes.c_size_t(), ctypes.c_int()
            check(_lib_.devo_model_layer(self._handle, i, ctypes.byref(units),
                                         ctypes.byref(act)))
            out.append((units.value, names[act.value]))
        return out

    @property
    def loss(self):
        """The compiled loss's name, or None."""
        names = {v: k for k, v in _names.LOSSES.items()}
        name = names[_lib_.devo_model_loss(self._handle)]
        return None if name == "none" else name

    def __repr__(self):
        layers = ", ".join("%d:%s" % layer for layer in self.layers)
        return "devo.Model(input_dim=%d, layers=[%s], loss=%r, params=%d)" % (
            self.input_dim, layers, self.loss, self.param_count)

    # --------------------------------------------------------------- weights
    def get_flat_weights(self):
        """Every weight in one float32 vector: per layer its kernel (inputs x units,
        row-major) then its bias, as devo_model_get_weights lays them out."""
        flat = np.empty(self.param_count, dtype=np.float32)
        check(_lib_.devo_model_get_weights(self._handle, _lib.float_pointer(flat), flat.size))
        return flat

    def set_flat_weights(self, flat):
        flat = _arrays.floats(flat, "weights", (self.param_count,))
        check(_lib_.devo_model_set_weights(self._handle, _lib.float_pointer(flat), flat.size))

    def _weight_shapes(self):
        shapes, inputs = [], self.input_dim
        for units, _ in self.layers:
            shapes += [(inputs, units), (units,)]
            inputs = units
        return shapes

    def get_weights(self):
        """[kernel (inputs, units), bias (units,), ...] per layer: Keras' order and shapes."""
        flat, out, at = self.get_flat_weights(), [], 0
        for shape in self._weight_shapes():
            size = int(np.prod(shape))
            out.append(flat[at:at + size].reshape(shape).copy())
            at += size
        return out

    def set_weights(self, weights):
        """The inverse of get_weights: one array per kernel and bias, in Keras' shapes."""
        shapes = self._weight_shapes()
        weights = list(weights)
        if len(weights) != len(shapes):
            raise ValueError("weights: expected %d arrays (a kernel and a bias per layer), "
                             "got %d" % (len(shapes), len(weights)))
        parts = [_arrays.floats(w, "weights[%d]" % i, shape).ravel()
                 for i, (w, shape) in enumerate(zip(weights, shapes))]
        self.set_flat_weights(np.concatenate(parts))

    # ------------------------------------------------------------- inference
    def predict(self, x):
        """The activated outputs (n, output_dim) of x (n, input_dim)."""
        x = _arrays.samples(x, "x", self.input_dim)
        y = np.empty((x.shape[0], self.output_dim), dtype=np.float32)
        if x.shape[0]:
            check(_lib_.devo_model_predict(self._handle, _lib.float_pointer(x), x.shape[0],
                                           _lib.float_pointer(y)))
        return y

    def targets(self, y, n, name="y"):
        """y as the C library takes it for this model's loss: class indices (n,) for the
        sparse loss, else (n, output_dim) (a single output may come as (n,))."""
        if self.loss == "sparse_categorical_crossentropy":
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:
                y = y.reshape(-1)
            return _arrays.floats(y, name, (n,))
        y = np.asarray(y)
        if y.ndim == 1 and self.output_dim == 1:
            y = y.reshape(-1, 1)
        return _arrays.floats(y, name, (n, self.output_dim))

    def evaluate(self, x, y):
        """(loss, accuracy) on x and y; the loss is NaN for a model without one."""
        x = _arrays.samples(x, "x", self.input_dim)
        y = self.targets(y, x.shape[0])
        loss, accuracy = ctypes.c_double(), ctypes.c_double()
        want_loss = self.loss is not None
        check(_lib_.devo_model_evaluate(self._handle, _lib.float_pointer(x),
                                        _lib.float_pointer(y), x.shape[0],
                                        ctypes.byref(loss) if want_loss else None,
                                        ctypes.byref(accuracy)))
        return (loss.value if want_loss else float("nan")), accuracy.value

    # ----------------------------------------------------------------- files
    def save(self, path):
        """Writes the model as safetensors (the C library's and the devo command's format)."""
        check(_lib_.devo_model_save(self._handle, _path_bytes(path)))

    @classmethod
    def load(cls, path):
        """A model saved by Model.save, devo_model_save or `devo evolve --save`."""
        handle = ctypes.c_void_p()
        check(_lib_.devo_model_load(ctypes.byref(handle), _path_bytes(path)))
        return cls._adopt(handle)

    def copy(self):
        handle = ctypes.c_void_p()
        check(_lib_.devo_model_clone(self._handle, ctypes.byref(handle)))
        return Model._adopt(handle)

    # -------------------------------------------------------------- training
    def fit_evolve(self, x, y, max_generations=100, population=16, top_k=4, mutation_rate=0.2,
                   mutation_std=0.03, verbose=1, fitness_func=None, **options):
        """Evolves the weights on x, y (deepevolution's fit_evolve, devo's engine): see
        devo.evolve for fitness_func, fitness_fn and **options. At the end the model holds
        the best individual (an evolution strategy: its centre). Returns a devo.History."""
        from . import _run
        return _run.fit(self, x, y, dict(options, max_generations=max_generations,
                                         population=population, top_k=top_k,
                                         mutation_rate=mutation_rate,
                                         mutation_std=mutation_std, verbose=verbose,
                                         fitness_func=fitness_func))


def _path_bytes(path):
    return os.fsencode(os.fspath(path))
