"""The C library through ctypes: the shared library, mirrors of the public structs of
devo.h, and the prototypes of the functions the package calls.

Every mirrored struct is checked field by field against the C compiler's layout by
python/tests/test_abi.py, so a header change cannot silently break Python. ctypes releases
the GIL around every call into the library (CDLL) and takes it back for callbacks.
"""
import ctypes
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, c_char_p, c_double, c_float, c_int, c_size_t,
                    c_uint64, c_void_p)

_HERE = os.path.dirname(os.path.abspath(__file__))


def _library_path():
    """The libdevo installed beside this package, or the one DEVO_LIBRARY names."""
    path = os.environ.get("DEVO_LIBRARY")
    if path:
        return path
    found = sorted(glob.glob(os.path.join(_HERE, "libdevo.so*")) +
                   glob.glob(os.path.join(_HERE, "libdevo*.dylib")))
    if not found:
        raise ImportError("devo: libdevo was not found beside the package (%s); reinstall with "
                          "'pip install .' or set DEVO_LIBRARY" % _HERE)
    return found[0]


lib = ctypes.CDLL(_library_path())

# Callbacks (devo.h's typedefs).
FITNESS_FN = CFUNCTYPE(c_double, c_void_p, POINTER(c_float), POINTER(c_float), c_size_t,
                       c_void_p)
BATCH_FITNESS_FN = CFUNCTYPE(c_int, POINTER(c_float), POINTER(c_float), c_size_t, c_size_t,
                             c_size_t, POINTER(c_double), c_void_p)


class GenerationStats(ctypes.Structure):
    """devo_generation_stats."""
    _fields_ = [("generation", c_size_t), ("max_generations", c_size_t), ("best", c_double),
                ("mean", c_double), ("std", c_double), ("population_mean", c_double),
                ("best_ever", c_double), ("evaluations", c_uint64), ("seconds", c_double),
                ("center", c_double), ("model", c_void_p)]


GENERATION_FN = CFUNCTYPE(c_int, POINTER(GenerationStats), c_void_p)


class Options(ctypes.Structure):
    """devo_evolve_options (enums are C ints)."""
    _fields_ = [("max_generations", c_size_t), ("population", c_size_t), ("top_k", c_size_t),
                ("mutation_rate", c_double), ("mutation_std", c_double),
                ("init_std", c_double), ("verbose", c_int), ("fitness", c_int),
                ("fitness_fn", FITNESS_FN), ("fitness_user", c_void_p),
                ("batch_size", c_size_t), ("fitness_samples", c_size_t), ("seed", c_uint64),
                ("backend", c_int), ("threads", c_int), ("on_generation", GENERATION_FN),
                ("on_generation_user", c_void_p), ("precision", c_int), ("strategy", c_int),
                ("learning_rate", c_double), ("sigma", c_double),
                ("perturbation_rank", c_size_t), ("weight_decay", c_double),
                ("sigma_final", c_double), ("batch_fitness_fn", BATCH_FITNESS_FN),
                ("batch_fitness_user", c_void_p)]


class History(ctypes.Structure):
    """devo_history."""
    _fields_ = [("generations", c_size_t), ("best", POINTER(c_double)),
                ("mean", POINTER(c_double)), ("std", POINTER(c_double)),
                ("population_mean", POINTER(c_double)), ("best_ever", POINTER(c_double)),
                ("evaluations", POINTER(c_uint64)), ("seconds", POINTER(c_double)),
                ("center", POINTER(c_double))]


# The C names of the mirrored structs, for the layout test.
MIRRORED = {"devo_generation_stats": GenerationStats, "devo_evolve_options": Options,
            "devo_history": History}

_F = POINTER(c_float)
_VP = c_void_p
_PROTOTYPES = {
    # name: (restype, argtypes); a restype of c_int is a devo_status
    "devo_version_string": (c_char_p, []),
    "devo_status_string": (c_char_p, [c_int]),
    "devo_last_error": (c_char_p, []),
    "devo_model_create": (c_int, [POINTER(c_void_p), c_size_t]),
    "devo_model_add_dense": (c_int, [_VP, c_size_t, c_int]),
    "devo_model_compile": (c_int, [_VP, c_int]),
    "devo_model_init_weights": (c_int, [_VP, c_uint64]),
    "devo_model_param_count": (c_size_t, [_VP]),
    "devo_model_input_dim": (c_size_t, [_VP]),
    "devo_model_output_dim": (c_size_t, [_VP]),
    "devo_model_layer_count": (c_size_t, [_VP]),
    "devo_model_layer": (c_int, [_VP, c_size_t, POINTER(c_size_t), POINTER(c_int)]),
    "devo_model_loss": (c_int, [_VP]),
    "devo_model_get_weights": (c_int, [_VP, _F, c_size_t]),
    "devo_model_set_weights": (c_int, [_VP, _F, c_size_t]),
    "devo_model_predict": (c_int, [_VP, _F, c_size_t, _F]),
    "devo_model_evaluate": (c_int, [_VP, _F, _F, c_size_t, POINTER(c_double),
                                    POINTER(c_double)]),
    "devo_model_save": (c_int, [_VP, c_char_p]),
    "devo_model_load": (c_int, [POINTER(c_void_p), c_char_p]),
    "devo_model_clone": (c_int, [_VP, POINTER(c_void_p)]),
    "devo_model_free": (None, [_VP]),
    "devo_evolve_options_init_v3": (None, [POINTER(Options)]),
    "devo_history_free_v2": (None, [POINTER(History)]),
    "devo_evolver_create_v3": (c_int, [POINTER(c_void_p), _VP, POINTER(Options)]),
    "devo_evolver_ask": (c_int, [_VP, POINTER(_F), POINTER(c_size_t), POINTER(c_size_t)]),
    "devo_evolver_tell": (c_int, [_VP, POINTER(c_double)]),
    "devo_evolver_stats_v2": (c_int, [_VP, POINTER(GenerationStats)]),
    "devo_evolver_forward": (c_int, [_VP, _F, c_size_t, _F]),
    "devo_evolver_predict": (c_int, [_VP, _F, c_size_t, _F]),
    "devo_evolver_best": (c_int, [_VP, _VP, POINTER(c_double)]),
    "devo_evolver_generation": (c_size_t, [_VP]),
    "devo_evolver_free": (None, [_VP]),
    "devo_evolver_fit": (c_int, [_VP, _VP, _F, _F, c_size_t, POINTER(History)]),
    "devo_evolver_save_state": (c_int, [_VP, c_char_p]),
    "devo_evolver_load_state_v3": (c_int, [POINTER(c_void_p), c_char_p, POINTER(Options)]),
    "devo_state_options_v3": (c_int, [c_char_p, POINTER(Options)]),
    "devo_evolver_options_v3": (c_int, [_VP, POINTER(Options)]),
    "devo_evolver_model": (c_int, [_VP, POINTER(c_void_p)]),
    "devo_evolver_history": (c_int, [_VP, POINTER(History)]),
    "devo_cuda_device_count": (c_int, []),
    "devo_backend_available": (c_int, [c_int]),
    "devo_dataset_load_idx": (c_int, [POINTER(c_void_p), c_char_p, c_char_p]),
    "devo_dataset_load_idx_dir": (c_int, [POINTER(c_void_p), c_char_p, c_char_p]),
    "devo_dataset_x": (_F, [_VP]),
    "devo_dataset_y": (_F, [_VP]),
    "devo_dataset_count": (c_size_t, [_VP]),
    "devo_dataset_dim": (c_size_t, [_VP]),
    "devo_dataset_free": (None, [_VP]),
}

for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes


def version():
    """The C library's version string."""
    return lib.devo_version_string().decode()


def last_error():
    """devo_last_error() of this thread."""
    return lib.devo_last_error().decode(errors="replace")


def float_pointer(array):
    """A float* to a float32 C-contiguous numpy array's data."""
    return array.ctypes.data_as(_F)
