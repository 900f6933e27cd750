"""devo.Evolver: the ask/tell loop for fitnesses devo cannot compute (reinforcement learning,
simulators): ask for the population, score it, tell the scores."""
import ctypes

import numpy as np

from . import _arrays, _lib, _options
from .errors import check
from .history import History
from .model import Model, _path_bytes

_lib_ = _lib.lib


class Evolver:
    """A population made from `model`'s weights (individual 0 unchanged, the others noisy),
    with the engine options by their devo command names in snake_case (population, top_k,
    strategy, sigma, rank, seed, backend, ...)."""

    def __init__(self, model, **options):
        if not isinstance(model, Model):
            raise TypeError("model: expected a devo.Model, got %s" % type(model).__name__)
        o = _options.build(dict(options, max_generations=options.get("max_generations", 0)),
                           "Evolver")
        o.verbose = 0
        handle = ctypes.c_void_p()
        check(_lib_.devo_evolver_create_v3(ctypes.byref(handle), model._handle,
                                           ctypes.byref(o)))
        self._handle = handle
        self._io = (model.input_dim, model.output_dim)

    @classmethod
    def _adopt(cls, handle):
        e = cls.__new__(cls)
        e._handle = handle
        model = e.best()
        e._io = (model.input_dim, model.output_dim)
        return e

    def __del__(self):
        if getattr(self, "_handle", None):
            _lib_.devo_evolver_free(self._handle)
            self._handle = None

    # ------------------------------------------------------------ ask / tell
    @property
    def population(self):
        return self._shape()[0]

    @property
    def dim(self):
        return self._shape()[1]

    def _shape(self):
        P, D = ctypes.c_size_t(), ctypes.c_size_t()
        check(_lib_.devo_evolver_ask(self._handle, None, ctypes.byref(P), ctypes.byref(D)))
        return P.value, D.value

    def ask(self):
        """The population, (population, dim) float32: a read-only view of the evolver's own
        memory (no copy), valid until the next tell. Row i is individual i's weights, laid out
        as Model.get_flat_weights."""
        rows = ctypes.POINTER(ctypes.c_float)()
        P, D = ctypes.c_size_t(), ctypes.c_size_t()
        check(_lib_.devo_evolver_ask(self._handle, ctypes.byref(rows), ctypes.byref(P),
                                     ctypes.byref(D)))
        count = P.value * D.value
        memory = (ctypes.c_float * count).from_address(ctypes.addressof(rows.contents))
        memory._evolver = self  # the view keeps the evolver, and so its memory, alive
        view = np.frombuffer(memory, dtype=np.float32).reshape(P.value, D.value)
        view.flags.writeable = False
        return view

    def tell(self, fitness):
        """The population's fitnesses (higher is better, NaN ranks last): the next generation."""
        fitness = np.ascontiguousarray(
            _arrays.floats(fitness, "fitness", (self.population,)), dtype=np.float64)
        check(_lib_.devo_evolver_tell(self._handle,
                                      fitness.ctypes.data_as(ctypes.POINTER(ctypes.c_double))))

    @property
    def generation(self):
        """Generations told (or evolved) so far."""
        return _lib_.devo_evolver_generation(self._handle)

    def stats(self):
        """The last told generation's statistics as a dict (best, mean, std, ...)."""
        s = _lib.GenerationStats()
        check(_lib_.devo_evolver_stats_v2(self._handle, ctypes.byref(s)))
        return {name: getattr(s, name) for name, _ in _lib.GenerationStats._fields_
                if name != "model"}

    # ------------------------------------------------------------- forwards
    def forward(self, x):
        """Every individual on its own inputs: x (population, rows, inputs) ->
        (population, rows, outputs)."""
        inputs, outputs = self._io
        P = self.population
        x = _arrays.floats(x, "x", (P, None, inputs))
        y = np.empty((P, x.shape[1], outputs), dtype=np.float32)
        check(_lib_.devo_evolver_forward(self._handle, _lib.float_pointer(x), x.shape[1],
                                         _lib.float_pointer(y)))
        return y

    def predict(self, x):
        """Every individual on the same inputs: x (n, inputs) -> (population, n, outputs)."""
        inputs, outputs = self._io
        x = _arrays.samples(x, "x", inputs)
        y = np.empty((self.population, x.shape[0], outputs), dtype=np.float32)
        check(_lib_.devo_evolver_predict(self._handle, _lib.float_pointer(x), x.shape[0],
                                         _lib.float_pointer(y)))
        return y

    def best(self):
        """A new devo.Model holding the answer: the best individual of the last told
        generation (an evolution strategy: its centre); before any, the starting weights."""
        handle = ctypes.c_void_p()
        check(_lib_.devo_evolver_model(self._handle, ctypes.byref(handle)))
        return Model._adopt(handle)

    def history(self):
        """Every told generation's statistics, as a devo.History."""
        h = _lib.History()
        check(_lib_.devo_evolver_history(self._handle, ctypes.byref(h)))
        try:
            return History.from_c(h)
        finally:
            _lib_.devo_history_free_v2(ctypes.byref(h))

    def options(self):
        """The engine options, by keyword name."""
        o = _lib.Options()
        check(_lib_.devo_evolver_options_v3(self._handle, ctypes.byref(o)))
        return _options.to_dict(o)

    # ---------------------------------------------------------------- files
    def save_state(self, path):
        """Writes everything that decides the rest of the run (docs/checkpoint.md): the same
        files as devo_evolver_save_state and `devo evolve --checkpoint`."""
        check(_lib_.devo_evolver_save_state(self._handle, _path_bytes(path)))

    @classmethod
    def load_state(cls, path, **overrides):
        """An Evolver continuing a saved state. Overrides may change only what cannot change
        the run's course: max_generations and threads."""
        allowed = {"max_generations", "threads"}
        bad = sorted(set(overrides) - allowed)
        if bad:
            raise TypeError("Evolver.load_state: %s cannot be overridden (the state fixes it; "
                            "only max_generations and threads may change)" % ", ".join(bad))
        o = read_state_options(path)
        _options.apply(o, overrides, "Evolver.load_state")
        o.verbose = 0
        handle = ctypes.c_void_p()
        check(_lib_.devo_evolver_load_state_v3(ctypes.byref(handle), _path_bytes(path),
                                               ctypes.byref(o)))
        return cls._adopt(handle)


def read_state_options(path):
    """The Options a state file was saved with."""
    o = _lib.Options()
    check(_lib_.devo_state_options_v3(_path_bytes(path), ctypes.byref(o)))
    return o
