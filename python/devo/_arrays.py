"""Argument arrays for the C library: float32 C-contiguous arrays are used as they are (no
copy); anything else is converted once. Wrong shapes and dtypes raise errors that name the
argument and the expected shape."""
import numpy as np


def floats(array, name, shape):
    """`array` as a float32 C-contiguous array of `shape` (a tuple of ints and None, None
    meaning any size); ValueError naming the argument when the shape differs, TypeError when
    the values are not numbers."""
    try:
        a = np.asarray(array)
    except Exception as exc:  # a ragged list, an object numpy cannot read
        raise TypeError("%s: expected an array of numbers of shape %s (%s)"
                        % (name, _shape_text(shape), exc)) from None
    if a.dtype.kind not in "biuf":
        raise TypeError("%s: expected numbers (float32 preferred), got dtype %s"
                        % (name, a.dtype))
    if a.ndim != len(shape) or any(want is not None and got != want
                                   for got, want in zip(a.shape, shape)):
        raise ValueError("%s: expected shape %s, got %s"
                         % (name, _shape_text(shape), tuple(a.shape)))
    return np.ascontiguousarray(a, dtype=np.float32)


def samples(array, name, features):
    """Rows of `features` floats: (n, features), or (n, ...) whose trailing dimensions hold
    `features` values in all (an image for a Flatten), flattened without a copy when it can."""
    a = np.asarray(array)
    if a.ndim >= 2 and a.ndim != 2 and int(np.prod(a.shape[1:])) == features:
        a = a.reshape(a.shape[0], features)
    return floats(a, name, (None, features))


def _shape_text(shape):
    return "(" + ", ".join("n" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"
