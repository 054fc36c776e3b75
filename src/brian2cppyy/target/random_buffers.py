"""Refilling the random-number buffers of ``rand()``/``randn()`` from numpy,
as Brian2's Cython target does, so that both targets draw the same numbers.

A kernel draws from a buffer (``draw_from_buffer`` in runtime.hpp); when the
buffer's index wraps around to 0, C++ calls `_refill` back through a ctypes
callback. Uniform numbers are filled in C++ from numpy's generator's own
``next_double`` (the numbers ``numpy.random.rand`` gives, without a numpy array
per refill); normal ones with ``numpy.random.randn``.

A Python exception in the callback must not unwind through C++: it is kept
for the thread that called the kernel (the callback runs in that thread),
the kernel returns ``ERR_CALLBACK``, and the caller raises it
(`take_pending_error`, `raise_pending_error`).
"""

import ctypes
import threading

import numpy as np
from brian2.devices.device import all_devices

from ..cling import contract

__all__ = ["connect", "RANDOM_LOCK", "is_shared_buffer", "take_pending_error", "raise_pending_error"]

#: the buffers by kind (draw_from_buffer's ``kind``, which C++ passes on to
#: the refill): the runtime device's ``rand_buffer`` and ``randn_buffer``
BUFFER_KINDS = ("rand", "randn")

_callback = None  # keeps the ctypes callback alive
_connecting = threading.Lock()
#: ``.error``: the exception the callback raised during a kernel, per thread
_pending = threading.local()


def _refill(kind, address, size):
    try:
        if BUFFER_KINDS[kind] == "rand":
            generator = np.random.mtrand._rand._bit_generator
            with generator.lock:
                interface = generator.ctypes
                contract.entry_points().fill_uniform(
                    address, size,
                    ctypes.cast(interface.next_double, ctypes.c_void_p).value,
                    interface.state_address,
                )
        else:
            buffer = np.ctypeslib.as_array(
                ctypes.cast(address, ctypes.POINTER(ctypes.c_double)), shape=(size,)
            )
            buffer[:] = np.random.randn(size)
        return 0
    except BaseException as exc:  # never let a Python error unwind through C++
        _pending.error = exc
        return -1


def connect():
    """Hand the refill callback to the C++ runtime
    (``entry_points.refill_callback``), once; every kernel does so before
    it can run (`brian2cppyy.target.kernel`)."""
    global _callback
    if _callback is not None:
        return
    with _connecting:
        if _callback is None:
            callback = contract.signature("refill_callback")(_refill)
            contract.entry_points().refill_callback = callback
            _callback = callback


#: the declaration that holds ``random_mutex`` (runtime.hpp) while a kernel
#: that draws from the shared buffers runs (kernels of several threads may
#: run at once)
RANDOM_LOCK = "brian2cppyy::RandomLock _random_lock;"


def is_shared_buffer(array):
    """Whether ``array`` is one of the runtime device's random-number buffers
    (a function with it in its namespace draws from it)."""
    device = all_devices["runtime"]
    return any(array is getattr(device, f"{kind}_buffer") for kind in BUFFER_KINDS)


def take_pending_error():
    """The exception the refill callback stored during a kernel in this
    thread (``None`` if there is none); it is cleared."""
    exc = getattr(_pending, "error", None)
    _pending.error = None
    return exc


def raise_pending_error():
    """Raise the exception the refill callback stored during a kernel."""
    exc = take_pending_error()
    if exc is not None:
        raise exc
