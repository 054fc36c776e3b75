"""The thread count of the C++ runtime's pool (``thread_pool.hpp``): the
preference ``codegen.runtime.cppyy.threads`` resolved to a number and handed
to C++ when a run starts, and the pool's shutdown at exit.

The pool's code is compiled when the count first exceeds 1 (a process that
runs on one thread never pays for it; kernels split their loops through
``parallel_loops.hpp``, which Cling has from its start). Its threads are
started then and joined when the count goes back to 1 and at exit (Python's
``atexit``, which runs before Cling is torn down: no worker may outlive the
JIT code it runs)."""

import atexit
import os

from brian2.core.preferences import prefs

from ..cling import jit, runtime

__all__ = ["resolve", "apply", "split_loop_count", "set_split_threshold"]

#: (process id, count) handed to C++ last: a forked child has no pool threads
_applied = (None, 1)
_atexit_registered = False


def resolve(value):
    """The number of threads for a value of the preference (``'auto'``: the
    cores this process may use)."""
    if value == "auto":
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            return os.cpu_count() or 1
    return int(value)


#: the unit that compiles the pool's code (once per process)
POOL_UNIT = '#include "brian2cppyy/thread_pool.hpp"'

#: whether this process compiled the pool's code (a forked child inherits it)
_pool_compiled = False


def _runtime():
    return runtime.start().gbl.brian2cppyy


def _pool():
    """The C++ namespace, with the pool's code compiled."""
    global _pool_compiled
    if not _pool_compiled:
        jit.compile_runtime_unit(POOL_UNIT)
        _pool_compiled = True
    return _runtime()


def apply():
    """Hand the preference's thread count to the pool if it changed (a
    cppyy call, only then)."""
    global _applied, _atexit_registered
    count = resolve(prefs["codegen.runtime.cppyy.threads"])
    pid = os.getpid()
    if _applied[1] == count and (count == 1 or _applied[0] == pid):
        return count
    if not _atexit_registered:
        atexit.register(_stop)
        _atexit_registered = True
    _applied = (pid, int(_pool().set_thread_count(count)))
    return _applied[1]


def _stop():
    global _applied
    if _applied[1] > 1 and _applied[0] == os.getpid() and runtime.started():
        runtime.start().gbl.brian2cppyy.stop_thread_pool()
    _applied = (None, 1)


def split_loop_count():
    """How many loops were split over threads in this process so far."""
    return int(_pool().split_loop_count()) if _pool_compiled else 0


def set_split_threshold(nanoseconds):
    """Split a loop when its estimated work per call exceeds this (0:
    always, for tests that must see the split code run)."""
    _runtime().set_split_threshold_ns(int(nanoseconds))
