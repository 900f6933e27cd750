"""devo_evolve_options from keyword arguments named as the devo command's flags, in
snake_case (`--fitness-samples` is fitness_samples, `--lr` is learning_rate, `--rank` is
rank)."""
import ctypes

from . import _lib, _names

# keyword: (C field, converter)
_FIELDS = {
    "max_generations": ("max_generations", int),
    "population": ("population", int),
    "top_k": ("top_k", int),
    "mutation_rate": ("mutation_rate", float),
    "mutation_std": ("mutation_std", float),
    "init_std": ("init_std", float),
    "batch_size": ("batch_size", int),
    "fitness_samples": ("fitness_samples", int),
    "seed": ("seed", int),
    "threads": ("threads", int),
    "learning_rate": ("learning_rate", float),
    "sigma": ("sigma", float),
    "sigma_final": ("sigma_final", float),
    "rank": ("perturbation_rank", int),
    "weight_decay": ("weight_decay", float),
    "strategy": ("strategy", lambda v: _names.choice(_names.STRATEGIES, v, "strategy")),
    "backend": ("backend", lambda v: _names.choice(_names.BACKENDS, v, "backend")),
    "precision": ("precision", lambda v: _names.choice(_names.PRECISIONS, v, "precision")),
    "fitness": ("fitness", lambda v: _names.choice(_names.FITNESSES, v, "fitness")),
}

ENGINE_OPTIONS = tuple(sorted(_FIELDS))


def defaults():
    """devo_evolve_options_init's defaults (deepevolution's)."""
    o = _lib.Options()
    _lib.lib.devo_evolve_options_init_v3(ctypes.byref(o))
    return o


def build(options, caller):
    """Options with the given keywords set (the others default); TypeError naming an unknown
    keyword, ValueError naming a bad value. The C library checks the ranges."""
    o = defaults()
    apply(o, options, caller)
    return o


def apply(o, options, caller):
    for key, value in options.items():
        if key not in _FIELDS:
            raise TypeError("%s() got an unexpected keyword argument %r; devo's options are: %s"
                            % (caller, key, ", ".join(ENGINE_OPTIONS)))
        field, convert = _FIELDS[key]
        try:
            setattr(o, field, convert(value))
        except (TypeError, OverflowError) as exc:
            raise ValueError("%s: bad value %r for %s (%s)" % (caller, value, key, exc)) from None


def to_dict(o):
    """The engine options of an Options, by keyword name (strategy and the like as names)."""
    reverse = {"strategy": _names.STRATEGIES, "backend": _names.BACKENDS,
               "precision": _names.PRECISIONS, "fitness": _names.FITNESSES}
    out = {}
    for key, (field, _) in _FIELDS.items():
        value = getattr(o, field)
        if key in reverse:
            value = next(name for name, v in reverse[key].items() if v == value)
        out[key] = value
    return out
