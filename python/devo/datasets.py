"""IDX data sets (the MNIST family) through the C library's validated reader."""
import ctypes
import os

import numpy as np

from . import _lib
from .errors import check

_lib_ = _lib.lib

# Debian's dataset-fashion-mnist: the devo command's default data.
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def load_idx(directory=FASHION_MNIST, split="train"):
    """(x, y) of `split` ("train" or "t10k") in an IDX directory: x (n, features) float32 in
    [0, 1], y (n,) int64 class indices; files plain or gzip-compressed."""
    handle = ctypes.c_void_p()
    check(_lib_.devo_dataset_load_idx_dir(ctypes.byref(handle), os.fsencode(directory),
                                          split.encode()))
    try:
        n, d = _lib_.devo_dataset_count(handle), _lib_.devo_dataset_dim(handle)
        x = np.ctypeslib.as_array(_lib_.devo_dataset_x(handle), shape=(n, d)).copy()
        y = np.ctypeslib.as_array(_lib_.devo_dataset_y(handle), shape=(n,)).astype(np.int64)
    finally:
        _lib_.devo_dataset_free(handle)
    return x, y
