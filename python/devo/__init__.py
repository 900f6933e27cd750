"""devo: evolve the weights of neural networks without gradients, on the CPU and NVIDIA GPUs.

The Python face of the devo C library (ctypes over libdevo, installed beside this package):
- devo.keras: fit_evolve for compiled Keras 3 models, and wrap_keras(), deepevolution's
  drop-in (change `from deepevolution import wrap_keras` to `from devo.keras import wrap_keras`);
- devo.Model: a dense network with fit_evolve, predict, evaluate, get/set_weights, save/load
  (the same safetensors files as the C library and the devo command);
- devo.Evolver: ask/tell for fitnesses devo cannot compute (reinforcement learning);
- devo.load_idx: MNIST-format data sets.
"""
from . import _lib
from .datasets import load_idx
from .errors import (BackendError, CallbackError, DevoError, DevoIOError, FormatError,
                     InternalError, InvalidArgumentError, NumericError, OutOfMemoryError,
                     UnsupportedError)
from .evolver import Evolver
from .history import History
from .model import Model

__version__ = _lib.version()


def cuda_device_count():
    """CUDA devices devo can use (0 when built without CUDA or none is present)."""
    return _lib.lib.devo_cuda_device_count()


__all__ = ["Model", "Evolver", "History", "load_idx", "cuda_device_count", "DevoError",
           "InvalidArgumentError", "OutOfMemoryError", "DevoIOError", "FormatError",
           "UnsupportedError", "BackendError", "NumericError", "InternalError", "CallbackError",
           "__version__"]
