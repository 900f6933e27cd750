"""The generation loop behind Model.fit_evolve and devo.keras.fit_evolve: the engine's own
loop (devo_evolver_fit, the GIL released) with Python around each generation: printing
through sys.stdout, the history, validation metrics, Keras-style callbacks, checkpoints,
Ctrl-C and exceptions raised in callbacks, which stop the run and reach the caller."""
import ctypes
import math
import os
import signal
import sys
import threading
import time

import numpy as np

from . import _arrays, _lib, _options
from .errors import check
from .evolver import Evolver, read_state_options
from .history import History, record_of
from .model import Model, _path_bytes

_lib_ = _lib.lib

# deepevolution's parameters, which Model.fit_evolve and devo.keras.fit_evolve name.
SEED_PARAMETERS = ("max_generations", "population", "top_k", "mutation_rate", "mutation_std")
# What the loop itself takes beside the engine's options.
RUN_OPTIONS = ("verbose", "fitness_func", "fitness_fn", "validation_data", "callbacks",
               "checkpoint", "checkpoint_every", "resume")


class Hooks:
    """What differs between a devo.Model run and a Keras one. This base serves devo.Model:
    fitness_func sees a devo.Model, callbacks are callables (generation, logs) -> stop, or
    objects with Keras' on_epoch_end(epoch, logs) whose `stop_training` attribute stops."""

    loss_is_meaningful = True  # False: the model's loss would misread its outputs

    def __init__(self, model, callbacks):
        self.model = model
        self.callbacks = list(callbacks or [])

    def targets(self, y, n, name="y"):
        """y as the engine takes it (Model.targets)."""
        return self.model.targets(y, n, name)

    def candidate(self, handle):
        """What fitness_func receives for the candidate in devo_model* `handle`."""
        return Model._adopt(handle, owned=False)

    def begin(self, logs):
        for cb in self.callbacks:
            if hasattr(cb, "on_train_begin"):
                cb.on_train_begin(logs)

    def generation(self, index, logs, answer):
        """Runs the callbacks for generation `index` (from 0); True to stop."""
        stop = False
        for cb in self.callbacks:
            if hasattr(cb, "on_epoch_end"):
                cb.on_epoch_end(index, logs)
                stop = stop or bool(getattr(cb, "stop_training", False))
            else:
                stop = bool(cb(index + 1, logs)) or stop
        return stop

    def finish(self):
        """After the run, the model holding its answer (or the best found before a stop)."""

    def end(self, logs):
        for cb in self.callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(logs)


class _Loop:
    """One run's Python state, shared by the callbacks the engine calls."""

    def __init__(self, model, x, y, settings, hooks):
        self.model, self.hooks = model, hooks
        self.x_user, self.y_user = x, y
        self.x = _arrays.samples(x, "x", model.input_dim)
        self.n = self.x.shape[0]
        self.y = hooks.targets(y, self.n)
        self.verbose = int(settings.get("verbose", 1))
        if self.verbose not in (0, 1, 2):
            raise ValueError("verbose must be 0, 1 or 2 (got %r)" % settings.get("verbose"))
        self.fitness_func = settings.get("fitness_func")
        self.fitness_fn = settings.get("fitness_fn")
        if self.fitness_func is not None and self.fitness_fn is not None:
            raise ValueError("give fitness_func (per individual) or fitness_fn (batched), "
                             "not both")
        self.validation = self._validation(settings.get("validation_data"))
        self.checkpoint = settings.get("checkpoint")
        self.checkpoint_every = int(settings.get("checkpoint_every", 0) or 0)
        self.error = None         # the first exception raised inside a callback
        self.interrupted = False  # SIGINT arrived during the run
        self.history = History()
        self.best = None          # the run's answer so far (flat weights)
        self.last_checkpoint = time.monotonic()
        self.started = time.monotonic()

    def _validation(self, data):
        if data is None:
            return None
        try:
            xv, yv = data[0], data[1]
        except (TypeError, IndexError, KeyError):
            raise ValueError("validation_data: expected a pair (x, y)") from None
        xv = _arrays.samples(xv, "validation_data[0]", self.model.input_dim)
        yv = self.hooks.targets(yv, xv.shape[0], "validation_data[1]")
        return xv, yv

    # ---------------------------------------------------------- the engine's callbacks
    def guarded(self, failed_value, work):
        """work() unless an earlier callback failed; an exception is kept for the caller.
        (After Ctrl-C the generation finishes: the run stops at its end.)"""
        if self.error is not None:
            return failed_value
        try:
            return work()
        except BaseException as exc:  # KeyboardInterrupt too: it must reach the caller
            self.error = exc
            return failed_value

    def per_individual(self, candidate, xp, yp, n, user):
        def work():
            x, y = self._samples_of(xp, yp, n)
            return float(self.fitness_func(self.hooks.candidate(candidate), x, y))
        return self.guarded(math.nan, work)

    def batched(self, outputs, yp, population, n, width, fitness, user):
        def work():
            y_pred = np.ctypeslib.as_array(outputs, shape=(population, n, width))
            y_true = np.ctypeslib.as_array(yp, shape=(n, self.y.size // self.n))
            if self.y.ndim == 1:
                y_true = y_true.reshape(n)
            scores = np.asarray(self.fitness_fn(y_true, y_pred), dtype=np.float64)
            if scores.shape != (population,):
                raise ValueError("fitness_fn returned shape %s; expected (%d,): one fitness "
                                 "per individual" % (scores.shape, population))
            np.ctypeslib.as_array(fitness, shape=(population,))[:] = scores
            return 0
        return self.guarded(1, work)

    def _samples_of(self, xp, yp, n):
        """The samples a fitness is judged on, as the user gave them when they are all."""
        if n == self.n and ctypes.addressof(xp.contents) == self.x.ctypes.data:
            return self.x_user, self.y_user
        x = np.ctypeslib.as_array(xp, shape=(n, self.x.shape[1])).copy()
        y = np.ctypeslib.as_array(yp, shape=(n, self.y.size // self.n)).copy()
        x_shape, y_shape = np.shape(self.x_user), np.shape(self.y_user)
        y_dtype = getattr(self.y_user, "dtype", np.float32)
        return x.reshape((n,) + tuple(x_shape[1:])), \
            y.reshape((n,) + tuple(y_shape[1:])).astype(y_dtype, copy=False)

    def on_generation(self, stats, user):
        return self.guarded(1, lambda: self._generation(stats.contents))

    def _generation(self, s):
        answer = Model._adopt(s.model, owned=False)
        self.best = answer.get_flat_weights()
        record = record_of(s)
        logs = dict(record)
        es = not math.isnan(s.center)
        value = s.center if es else s.best
        if self.custom:
            logs["fitness"] = value
        elif self.accuracy:
            logs["accuracy"] = value
        else:
            logs["loss"] = -value
        if self.validation is not None:
            loss, accuracy = answer.evaluate(*self.validation)
            loss = loss if self.hooks.loss_is_meaningful else math.nan
            record["val_loss"] = logs["val_loss"] = loss
            record["val_accuracy"] = logs["val_accuracy"] = accuracy
        self.history.append(record)
        self._print(s)
        stop = self.hooks.generation(s.generation - 1, logs, answer)
        if self.checkpoint and (stop or self.interrupted or self._due(s.generation)):
            self.save_checkpoint()
        return 1 if stop or self.interrupted else 0

    def _due(self, generation):
        if self.checkpoint_every:
            return generation % self.checkpoint_every == 0
        now = time.monotonic()
        due = now - self.last_checkpoint > 1.0
        if due:
            self.last_checkpoint = now
        return due

    def save_checkpoint(self):
        self.evolver.save_state(self.checkpoint)

    # ------------------------------------------------------------------- output
    def _print(self, s):
        if self.verbose == 1:
            # deepevolution's line, its rounding included
            sys.stdout.write("[Generation %d / %d] score: %s (best: %s; std: %s)\n" % (
                s.generation, s.max_generations, round(s.mean, 4), round(s.best, 4),
                round(s.std, 4)))
            sys.stdout.flush()
        elif self.verbose == 2:
            self._progress(s)

    def _progress(self, s):
        """Keras' style of bar, redrawn in place on a terminal or notebook; elsewhere (a log
        file) a line every 5 s and at the end."""
        interactive = sys.stdout.isatty() or "ipykernel" in sys.modules
        total = max(s.max_generations, 1)
        if not interactive:
            now = time.monotonic()
            if s.generation != total and now - getattr(self, "_shown", 0.0) < 5.0:
                return
            self._shown = now
            sys.stdout.write("generation %d/%d - score: %.4f - best: %.4f\n"
                             % (s.generation, total, s.mean, s.best))
            sys.stdout.flush()
            return
        width = 30
        done = int(width * s.generation / total)
        bar = "=" * max(done - 1, 0) + (">" if done < width else "=") + "." * (width - done)
        rate = s.generation / max(time.monotonic() - self.started, 1e-9)
        sys.stdout.write("\rGeneration %d/%d [%s] - score: %.4f - best: %.4f - %.2f gen/s" % (
            s.generation, total, bar, s.mean, s.best, rate))
        if s.generation == total:
            sys.stdout.write("\n")
        sys.stdout.flush()


def _interrupt_handler(loop):
    def handler(signum, frame):
        loop.interrupted = True
    return handler


def fit(model, x, y, settings, hooks=None):
    """Evolves `model` (a devo.Model) on x, y with `settings` (the seed's parameters, the
    engine options and RUN_OPTIONS); returns a History. See devo.Model.fit_evolve."""
    hooks = hooks or Hooks(model, settings.get("callbacks"))
    settings = dict(settings)
    engine = {k: v for k, v in settings.items() if k not in RUN_OPTIONS}
    loop = _Loop(model, x, y, settings, hooks)
    o = _engine_options(engine, settings.get("resume"), "fit_evolve")
    loop.custom = loop.fitness_func is not None or loop.fitness_fn is not None
    loop.accuracy = o.fitness == 1
    # The callbacks must outlive the run: keep them on the loop.
    loop.c_generation = _lib.GENERATION_FN(loop.on_generation)
    o.on_generation = loop.c_generation
    if loop.fitness_func is not None:
        loop.c_fitness = _lib.FITNESS_FN(loop.per_individual)
        o.fitness_fn = loop.c_fitness
    if loop.fitness_fn is not None:
        loop.c_batched = _lib.BATCH_FITNESS_FN(loop.batched)
        o.batch_fitness_fn = loop.c_batched
    o.verbose = 0  # devo prints nothing: Python does, through sys.stdout
    if model.loss is None and not loop.custom and not loop.accuracy:
        raise ValueError("the model has no loss: give fitness='accuracy', fitness_func or "
                         "fitness_fn")
    loop.evolver = _open_evolver(model, o, settings.get("resume"))
    if settings.get("resume"):
        loop.history = loop.evolver.history()
    loop.history.params = dict(_options.to_dict(o), verbose=loop.verbose)
    return _drive(loop, model, hooks)


def _engine_options(engine, resume, caller):
    if not resume:
        return _options.build(engine, caller)
    o = read_state_options(resume)
    fixed = {k: v for k, v in engine.items() if k not in ("max_generations", "threads")}
    saved, defaults = _options.to_dict(o), _options.to_dict(_options.defaults())
    for key, value in fixed.items():
        probe = _options.build({key: value}, caller)
        if _options.to_dict(probe)[key] not in (saved[key], defaults[key]):
            raise ValueError("%s: %s=%r differs from the resumed run's %r: the checkpoint fixes "
                             "it (only max_generations and threads may change)"
                             % (caller, key, value, saved[key]))
    _options.apply(o, {k: v for k, v in engine.items() if k in ("max_generations", "threads")},
                   caller)
    return o


def _open_evolver(model, o, resume):
    handle = ctypes.c_void_p()
    if resume:
        check(_lib_.devo_evolver_load_state_v3(ctypes.byref(handle), _path_bytes(resume),
                                               ctypes.byref(o)))
    else:
        check(_lib_.devo_evolver_create_v3(ctypes.byref(handle), model._handle,
                                           ctypes.byref(o)))
    return Evolver._adopt(handle)


def _drive(loop, model, hooks):
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _interrupt_handler(loop)) if main else None
    hooks.begin({})
    status = 0
    try:
        status = _lib_.devo_evolver_fit(loop.evolver._handle, model._handle,
                                        _lib.float_pointer(loop.x), _lib.float_pointer(loop.y),
                                        loop.n, None)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    if loop.verbose == 2 and (sys.stdout.isatty() or "ipykernel" in sys.modules) and \
            loop.history.epoch and \
            len(loop.history.epoch) != loop.history.params.get("max_generations"):
        sys.stdout.write("\n")
    failed = status != 0 or loop.error is not None or loop.interrupted
    if failed and loop.best is not None:
        model.set_flat_weights(loop.best)  # the best found so far
    hooks.finish()
    if status == 0 and loop.checkpoint and loop.error is None:
        loop.save_checkpoint()
    logs = {k: v[-1] for k, v in loop.history.items()} if loop.history.epoch else {}
    if loop.error is None and not loop.interrupted:
        hooks.end(logs)
    if loop.error is not None:
        raise loop.error
    if loop.interrupted:
        raise KeyboardInterrupt
    check(status)
    return loop.history
