"""The fused network loop: ``Network.run`` with the time-step loop in C++.

Installed through Brian2's device-override hook (``network_run`` on the
runtime device). When the code-generation target is ``cppyy``, a run builds
a table of the compiled kernels in schedule order and hands it to
``brian2cppyy::run_network_loop`` (``network_loop.hpp``), which runs many time
steps without returning to Python. It returns to Python only where Python
must run: NetworkOperations and other objects with a ``run`` method of their
own, code objects of other targets, progress reports at their period, checks
for Ctrl-C (every 50 ms), the maximum run time, and kernel errors.

Everything else follows ``Network.run``: ``when``/``order`` scheduling,
several clocks, ``Network.stop()``, ``profile=True``, ``t``/``timestep`` after
the run, invalid-state checks. Runs with an `EventClock` use Brian2's own
loop, as does every run when ``codegen.runtime.cppyy.fused_loop`` is off.
"""

import ctypes
import gc
import signal
import sys
import threading
import time
from collections import defaultdict

import numpy as np
from brian2.core.base import BrianObject
from brian2.core.clocks import Clock
from brian2.core.namespace import get_local_namespace
from brian2.core.network import Network, TextReport
from brian2.core.preferences import prefs
from brian2.devices.device import all_devices, get_device
from brian2.groups.group import Group
from brian2.units.allunits import second
from brian2.units.fundamentalunits import check_units

from . import faults, jit
from .codeobject import CppyyCodeObject

__all__ = ["install", "network_run"]

logger = jit.get_logger(__name__)

# Keep in sync with network_loop.hpp
_DONE, _PYTHON, _CHECK, _TIME_LIMIT, _KERNEL_ERROR = range(5)
_RESUME, _STOP, _ENTRY, _KERNEL_STATUS, _CURCLOCKS, _MINCLOCK = range(6)
_STATE_SIZE = 6
#: seconds between two returns to Python, so that Ctrl-C is seen promptly
CHECK_INTERVAL = 0.05
#: the loop tracks the clocks of a step in a 64-bit mask
MAX_CLOCKS = 64

_P = ctypes.c_void_p
_LOOP_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int64, _P, ctypes.c_int32, _P, _P, _P, _P, ctypes.c_int32, _P, _P, _P
)
_loop_function = None


def _loop():
    global _loop_function
    if _loop_function is None:
        _loop_function = _LOOP_TYPE(jit.network_loop_address())
    return _loop_function


def _uses_fused_loop(objects):
    if not prefs["codegen.runtime.cppyy.fused_loop"]:
        return False
    if get_device().code_object_class(None) is not CppyyCodeObject:
        return False
    clocks = {obj.clock for obj in objects}
    return 0 < len(clocks) <= MAX_CLOCKS and all(type(c) is Clock for c in clocks)


@check_units(duration=second, report_period=second)
def network_run(
    net, duration, report=None, report_period=10 * second, namespace=None, profile=None,
    level=0,
):
    """``Network.run`` for the cppyy target (see the module docstring)."""
    original = Network.run.original_function
    all_objects = net.sorted_objects
    if not _uses_fused_loop(all_objects):
        if namespace is None:
            namespace = get_local_namespace(level=level + 3)
        return original(net, duration, report, report_period, namespace, profile, level)

    if duration < 0:
        raise ValueError(
            f"Function 'run' expected a non-negative duration but got '{duration}'"
        )
    if prefs.logging.warn_for_unused_objects:
        gc.collect()
    device = get_device()
    if profile is None:
        profile = device.build_options.get("profile", False)
    clocks = sorted({obj.clock for obj in all_objects}, key=lambda c: c.name)
    net._clocks = set(clocks)
    t_start = net.t
    t_end = net.t + duration
    for clock in clocks:
        clock.set_interval(net.t, t_end)
    if namespace is None:
        namespace = get_local_namespace(level=level + 3)
    net.before_run(namespace)
    if len(all_objects) == 0:
        return

    start_time = time.time()
    logger.debug(f"Simulating network '{net.name}' from time {t_start} to {t_end}.", "run")
    report_callback = _report_callback(report)
    if report_callback is not None:
        report_period = float(report_period)
        next_report_time = start_time + report_period
        report_callback(0 * second, 0.0, t_start, duration)

    table = _Schedule(all_objects, clocks, profile)
    Network._globally_running = True
    try:
        with _DeferredInterrupt() as interrupt:
            table.run(net, device, start_time, report_callback,
                      next_report_time if report_callback is not None else None,
                      report_period if report_callback is not None else None,
                      t_start, t_end, duration, interrupt)
    except KeyboardInterrupt:
        # stopped between two steps: the network is at the last completed step
        net.t_ = table.current_t()
        device._last_run_time = time.time() - start_time
        net.after_run()
        raise
    except BaseException:
        # an error in a kernel or in Python code between kernels: as in
        # Brian2's loop, the network's time is that of the failing step
        net.t_ = table.current_t()
        raise
    finally:
        Network._globally_running = False
    end_time = time.time()
    if net._stopped or Network._globally_stopped:
        net.t_ = table.current_t()
    else:
        net.t_ = float(t_end)
    device._last_run_time = end_time - start_time
    if duration > 0:
        device._last_run_completed_fraction = (net.t - t_start) / duration
    else:
        device._last_run_completed_fraction = 1.0
    for obj in all_objects:
        if isinstance(obj, Group):
            obj._check_for_invalid_states()
    if report_callback is not None:
        report_callback(
            (end_time - start_time) * second,
            device._last_run_completed_fraction,
            t_start,
            duration,
        )
    net.after_run()
    logger.debug(
        f"Finished simulating network '{net.name}' (took {end_time - start_time:.2f}s)",
        "run",
    )
    if profile:
        net._profiling_info = [(name, t * second) for name, t in table.profiling_info().items()]
    else:
        net._profiling_info = None


def _report_callback(report):
    if report is None:
        return None
    if report in ("text", "stdout"):
        return TextReport(sys.stdout)
    if report == "stderr":
        return TextReport(sys.stderr)
    if isinstance(report, str):
        raise ValueError(f'Do not know how to handle report argument "{report}".')
    if callable(report):
        return report
    raise TypeError(
        "Do not know how to handle report argument, it has to be one of 'text', "
        "'stdout', 'stderr', or a callable function/object, but it is of type "
        f"{type(report)}"
    )


class _Schedule:
    """The entry table of one run: what runs, in which order, on which clock."""

    def __init__(self, objects, clocks, profile):
        self.clocks = clocks
        clock_index = {clock: k for k, clock in enumerate(clocks)}
        rows, self.python_calls, self.owners, self.codeobjs = [], [], [], []
        for obj in objects:
            if not obj.active:
                continue
            clock = clock_index[obj.clock]
            if type(obj).run is not BrianObject.run:
                # an object that runs Python code of its own (NetworkOperation)
                self._add_python(rows, clock, obj, obj.run, None)
                continue
            for codeobj in obj._code_objects:
                kernel = None
                if isinstance(codeobj, CppyyCodeObject):
                    kernel = codeobj.compiled_code.get("run")
                    if kernel is None:
                        continue  # nothing to run
                if kernel is None:
                    self._add_python(rows, clock, obj, codeobj, codeobj)
                else:
                    rows.append((kernel.function_address, kernel.slots_address, clock, -1))
                    self.owners.append(obj)
                    self.codeobjs.append(codeobj)
        self.entries = np.array(rows, dtype=np.int64).reshape(-1, 4)
        self.timestep_arrays = [c.variables["timestep"].get_value() for c in clocks]
        self.t_arrays = [c.variables["t"].get_value() for c in clocks]
        self.timestep_ptrs = np.array([a.ctypes.data for a in self.timestep_arrays], dtype=np.int64)
        self.t_ptrs = np.array([a.ctypes.data for a in self.t_arrays], dtype=np.int64)
        self.dts = np.array([c.dt_ for c in clocks], dtype=np.float64)
        self.i_ends = np.array([c._i_end for c in clocks], dtype=np.int64)
        self.state = np.zeros(_STATE_SIZE, dtype=np.int64)
        self.state[_RESUME] = -1
        self.times = np.array([-1.0, -1.0])
        self.profile = np.zeros(len(rows)) if profile else None
        self.python_seconds = defaultdict(float)

    def _add_python(self, rows, clock, obj, call, codeobj):
        rows.append((0, 0, clock, len(self.python_calls)))
        self.python_calls.append(call)
        self.owners.append(obj)
        self.codeobjs.append(codeobj)

    def current_t(self):
        return float(self.t_arrays[int(self.state[_MINCLOCK])][0])

    def run(self, net, device, start_time, report_callback, next_report_time, report_period,
            t_start, t_end, duration, interrupt):
        loop = _loop()
        entries, state, times = self.entries, self.state, self.times
        args = (
            entries.ctypes.data, len(entries), self.timestep_ptrs.ctypes.data,
            self.t_ptrs.ctypes.data, self.dts.ctypes.data, self.i_ends.ctypes.data,
            len(self.clocks), state.ctypes.data, times.ctypes.data,
            self.profile.ctypes.data if self.profile is not None else None,
        )
        max_time = device._maximum_run_time
        while True:
            now = time.time()
            next_check = now + CHECK_INTERVAL
            if next_report_time is not None:
                next_check = min(next_check, next_report_time)
            times[0] = max(next_check - now, 0.0)
            times[1] = (float(max_time) - (now - start_time)) if max_time is not None else -1.0
            if max_time is not None and times[1] < 0:
                times[1] = 0.0
            state[_STOP] = int(net._stopped or Network._globally_stopped)
            result = loop(*args)
            jit.raise_pending_error()
            if result == _DONE:
                return
            if result == _PYTHON:
                entry = int(state[_ENTRY])
                net.t_ = self.current_t()
                call = self.python_calls[int(entries[entry, 3])]
                if self.profile is not None:
                    t0 = time.time()
                    call()
                    self.profile[entry] += time.time() - t0
                else:
                    call()
            elif result == _CHECK:
                interrupt.raise_if_requested()
                net.t_ = self.current_t()
                if report_callback is not None:
                    current = time.time()
                    if current > next_report_time:
                        report_callback(
                            (current - start_time) * second,
                            (net.t_ - float(t_start)) / float(t_end - t_start),
                            t_start,
                            duration,
                        )
                        next_report_time = current + report_period
            elif result == _TIME_LIMIT:
                net._stopped = True
            elif result == _KERNEL_ERROR:
                entry = int(state[_ENTRY])
                codeobj = self.codeobjs[entry]
                kernel = codeobj.compiled_code["run"]
                codeobj._raise_status("run", int(state[_KERNEL_STATUS]), kernel.error_info)
            else:  # pragma: no cover - a bug in the loop
                raise RuntimeError(f"The network loop returned an unknown result {result}.")

    def profiling_info(self):
        info = defaultdict(float)
        if self.profile is not None:
            for entry, seconds in enumerate(self.profile):
                info[self.owners[entry].name] += float(seconds)
        return info


class _DeferredInterrupt:
    """Ctrl-C (SIGINT) during the C++ loop.

    The handler that was in place (Brian2's, which turns the first Ctrl-C
    into ``Network.stop()`` when ``core.stop_on_keyboard_interrupt`` is set)
    is called as usual; if it raises `KeyboardInterrupt`, the exception is
    deferred to the next step boundary: the loop returns to Python at least
    every ``CHECK_INTERVAL`` seconds, and the network stops at the last
    completed step. Outside the main thread nothing is changed."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        previous = self._previous
        try:
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            faults.sigint_handler_was_set()  # it replaced the fault guard's handler
            self._previous = None
        return False

    def raise_if_requested(self):
        if self.requested:
            self.requested = False
            raise KeyboardInterrupt


def install():
    """Install ``network_run`` on the runtime device (Brian2's override hook)."""
    all_devices["runtime"].network_run = network_run
