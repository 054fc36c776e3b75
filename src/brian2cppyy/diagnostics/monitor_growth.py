"""The growth counters of the monitors' dynamic arrays, read from Python.

Monitors append to Brian2's dynamic arrays through
``include/brian2cppyy/monitor_arrays.hpp``, which counts, per process, the
elements appended, the reallocations of a buffer and the already-recorded
elements those reallocations copied. With geometric growth the copies stay
below twice the appended elements however long a monitor records, so that the
cost of a time step does not depend on what was recorded before; tests check
that with these counters, which are deterministic (unlike timings).

The counters are process-wide and cumulative: reset them, run, read them.
"""

from ..cling import runtime
from ..target import user_code

__all__ = ["growth_counters", "reset_growth_counters"]

_HEADER = "brian2cppyy/monitor_arrays.hpp"
#: counter names, in the order of the C++ enum ``monitor_arrays::Counter``
_COUNTERS = ("appended", "reallocations", "moved")


def _namespace():
    cppyy = runtime.start()
    user_code.include_header(_HEADER)
    return cppyy.gbl.brian2cppyy.monitor_arrays


def growth_counters():
    """The counters since the last reset, as a dict: ``appended`` (elements
    appended to monitor arrays; a StateMonitor row counts its columns),
    ``reallocations`` (appends that moved an array to a new buffer) and
    ``moved`` (recorded elements those moves copied)."""
    ns = _namespace()
    return {name: int(ns.read_counter(k)) for k, name in enumerate(_COUNTERS)}


def reset_growth_counters():
    """Set all growth counters to zero."""
    _namespace().reset_counters()
