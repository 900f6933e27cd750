"""devo's errors: DevoError and one subclass per devo_status code, each carrying the message
of devo_last_error(). The subclasses also derive from the matching Python built-in (an
invalid argument is a ValueError, an unreadable file an OSError), so generic handlers work.
"""
from . import _lib


class DevoError(Exception):
    """A devo call failed; .status is the devo_status code, .status_name its C name."""
    status = -1

    @property
    def status_name(self):
        return _lib.lib.devo_status_string(self.status).decode()


class InvalidArgumentError(DevoError, ValueError):
    """DEVO_ERR_INVALID_ARGUMENT: a size or value out of range, a call out of order."""
    status = 1


class OutOfMemoryError(DevoError, MemoryError):
    """DEVO_ERR_OUT_OF_MEMORY: an allocation failed or would exceed what the device holds."""
    status = 2


class DevoIOError(DevoError, OSError):
    """DEVO_ERR_IO: a file could not be opened, read or written."""
    status = 3


class FormatError(DevoError, ValueError):
    """DEVO_ERR_FORMAT: a file's content is malformed."""
    status = 4


class UnsupportedError(DevoError, NotImplementedError):
    """DEVO_ERR_UNSUPPORTED: not built in, no device, or an option the backend lacks."""
    status = 5


class BackendError(DevoError, RuntimeError):
    """DEVO_ERR_BACKEND: the backend (BLAS, CUDA) failed."""
    status = 6


class NumericError(DevoError, ArithmeticError):
    """DEVO_ERR_NUMERIC: every fitness was NaN, or a similar numeric dead end."""
    status = 7


class InternalError(DevoError, RuntimeError):
    """DEVO_ERR_INTERNAL: a bug in devo; please report it."""
    status = 8


class CallbackError(DevoError, RuntimeError):
    """DEVO_ERR_CALLBACK: a callback asked the run to stop with an error."""
    status = 9


_BY_STATUS = {cls.status: cls for cls in (InvalidArgumentError, OutOfMemoryError, DevoIOError,
                                          FormatError, UnsupportedError, BackendError,
                                          NumericError, InternalError, CallbackError)}


def error_for(status, message=None):
    """The exception for a devo_status, with devo_last_error()'s text unless given."""
    cls = _BY_STATUS.get(status, DevoError)
    error = cls(message if message is not None else _lib.last_error())
    if cls is DevoError:
        error.status = status
    return error


def check(status):
    """Raises the matching DevoError when a devo call returned a failure."""
    if status != 0:
        raise error_for(status)
