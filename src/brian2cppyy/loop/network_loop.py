"""The fused network loop: ``Network.run`` with the time-step loop in C++.

Brian2's device-override hook (``network_run`` on the runtime device) leads
here when the code-generation target is ``cppyy`` (`brian2_hooks`). A run
builds a table of the compiled kernels in schedule order and hands it to
``brian2cppyy::run_network_loop`` (``network_loop.hpp``), which runs many time
steps without returning to Python. It returns to Python only where Python
must run: NetworkOperations and other objects with a ``run`` method of their
own, code objects of other targets, progress reports at their period, checks
for Ctrl-C (every 50 ms), the maximum run time, and kernel errors.

Around the loop, ``network_run`` follows ``Network.run`` phase by phase and
calls Brian2's own pieces (``Network.before_run``/``after_run``,
``Network._nextclocks`` for the time after a stop, ``Clock.set_interval``,
``TextReport``, ``profiling_summary``, its logger and messages); Brian2 keeps
that code inline in ``Network.run``, so the few lines around it are repeated
here. Runs the loop cannot take are handed to Brian2's ``Network.run``
itself, with the reason in the log: every run when
``codegen.runtime.cppyy.fused_loop`` is off (debug), a run with an
`EventClock` or more clocks than the loop takes (``MAX_CLOCKS`` of
``contract.hpp``; info, once).

Deliberate differences from ``Network.run``, each for the C++ loop:

* ``Network.t`` is written when the loop returns to Python (Python entries,
  checks, the end of the run), not at every step: no Python runs in
  between to read it, and objects read their own clock's ``t``.
* Progress reports and Ctrl-C are looked at on a step boundary when the loop
  returns for a check: when the next report is due, or every
  ``CHECK_INTERVAL`` seconds (Brian2 calls ``time.time()`` before every
  step; the C++ loop reads a steady clock there and returns only when a
  check is due). The maximum run time is checked in C++ after every step,
  as in Brian2.
* Ctrl-C (with ``core.stop_on_keyboard_interrupt`` off, or a second Ctrl-C)
  raises `KeyboardInterrupt` at the next step boundary instead of inside a
  step, so the groups and monitors are left consistent; ``Network.t`` is
  then the time of the next step. As in Brian2, the run is not finished
  (no ``after_run``).
* An object's ``run`` (Brian2's loop calls ``obj.run()``) is looked at when
  the run starts: one that is ``BrianObject.run`` is replaced by the object's
  compiled kernels; any other (a NetworkOperation's, a subclass's, one set
  on the object) is called from Python at its place in the schedule.
* With ``profile=True`` the time of a kernel is measured in C++ around the
  kernel call; Python entries are timed in Python. An object is listed once
  its clock has run a step, as in Brian2.
* A code object whose inputs have not changed since the previous run is
  used again instead of being generated anew (`brian2cppyy.loop.run_reuse`; it
  keeps its name).
* The thread count of ``codegen.runtime.cppyy.threads`` is handed to the C++
  thread pool when a run starts (`brian2cppyy.loop.threads`); kernels split
  their loops over it (``thread_pool.hpp``) with results equal to one thread.
"""

import gc
import signal
import sys
import threading
import time

import numpy as np
from brian2.core.base import BrianObject
from brian2.core.clocks import Clock
from brian2.core.namespace import get_local_namespace
from brian2.core.network import Network, TextReport, profiling_summary
from brian2.core.network import logger as brian2_network_logger
from brian2.core.preferences import prefs
from brian2.devices.device import get_device
from brian2.groups.group import Group
from brian2.units.allunits import second
from brian2.units.fundamentalunits import check_units

from ..cling import contract
from ..target import faults, random_buffers
from . import run_reuse, threads
from ..log import get_logger
from ..target.codeobject import CppyyCodeObject

__all__ = ["network_run"]

logger = get_logger(__name__)

#: seconds between two returns to Python, so that Ctrl-C is seen promptly
CHECK_INTERVAL = 0.05


def _entry(kernel, slots, clock, python):
    """One row of the loop's entry table, in the header's column order."""
    C = contract.values()
    row = [0] * C.ENTRY_COLUMNS
    row[C.ENTRY_KERNEL], row[C.ENTRY_SLOTS] = kernel, slots
    row[C.ENTRY_CLOCK], row[C.ENTRY_PYTHON] = clock, python
    return row


def _why_not_fused(objects):
    """Why a run of ``objects`` cannot use the fused loop, as ``(log level,
    reason)``, or ``None`` if it can."""
    if not prefs["codegen.runtime.cppyy.fused_loop"]:
        return "debug", "the preference codegen.runtime.cppyy.fused_loop is off"
    clocks = {obj.clock for obj in objects}
    if not clocks:
        return "debug", "the network is empty"
    other_kinds = sorted({type(c).__name__ for c in clocks if type(c) is not Clock})
    if other_kinds:
        return "info", (f"it uses a clock of type {', '.join(other_kinds)} "
                        "(the fused loop steps Clock objects only)")
    max_clocks = contract.values().MAX_CLOCKS
    if len(clocks) > max_clocks:
        return "info", f"it uses {len(clocks)} clocks (the fused loop takes at most {max_clocks})"
    return None


@check_units(duration=second, report_period=second)
def network_run(
    net, duration, report=None, report_period=10 * second, namespace=None, profile=None,
    level=0,
):
    """``Network.run`` for the cppyy target (see the module docstring)."""
    if namespace is None:
        namespace = get_local_namespace(level=level + 3)
    all_objects = net.sorted_objects
    threads.apply()
    why_not = _why_not_fused(all_objects)
    if why_not is not None:
        log_level, reason = why_not
        getattr(logger, log_level)(
            f"Network '{net.name}' runs in Brian2's Python loop, not the fused C++ loop: "
            f"{reason}.", "fallback", once=log_level == "info")
        return Network.run.original_function(
            net, duration, report, report_period, namespace, profile, level)
    _run_fused(net, all_objects, duration, report, report_period, namespace, profile)


def _run_fused(net, all_objects, duration, report, report_period, namespace, profile):
    """``Network.run`` with the time-step loop in C++, in ``Network.run``'s order."""
    run = _FusedRun(net, all_objects, duration, profile)
    run.prepare(namespace)
    run.simulate(report, report_period)
    run.finish()


class _FusedRun:
    """One run through the fused loop: what ``Network.run`` does before,
    around and after its time-step loop."""

    def __init__(self, net, all_objects, duration, profile):
        if duration < 0:
            raise ValueError(
                f"Function 'run' expected a non-negative duration but got '{duration}'"
            )
        self.net = net
        self.all_objects = all_objects
        self.duration = duration
        self.device = get_device()
        if profile is None:
            profile = self.device.build_options.get("profile", False)
        self.profile = profile
        self.t_start = net.t
        self.t_end = net.t + duration
        self.schedule = self.reporter = self.start_time = self.end_time = None

    def prepare(self, namespace):
        """Unused-object warnings, the clocks' interval, ``before_run``."""
        if prefs.logging.warn_for_unused_objects:
            gc.collect()  # cheap: the imported objects are frozen (unused_objects)
        net = self.net
        net._clocks = {obj.clock for obj in self.all_objects}
        for clock in net._clocks:
            clock.set_interval(net.t, self.t_end)
        with run_reuse.reusing(self.all_objects):  # unchanged code objects run again
            net.before_run(namespace)

    def simulate(self, report, report_period):
        """The time steps: the C++ loop and the Python work it returns for."""
        net = self.net
        self.start_time = time.time()
        brian2_network_logger.debug(
            f"Simulating network '{net.name}' from time {self.t_start} to {self.t_end}.", "run"
        )
        self.reporter = _Reporter.create(report, report_period, self.start_time, self.t_start,
                                         self.t_end, self.duration)
        clocks = sorted(net._clocks, key=lambda c: c.name)
        self.schedule = _Schedule(self.all_objects, clocks, self.profile)
        Network._globally_running = True
        try:
            with _DeferredInterrupt() as interrupt:
                self.schedule.run(net, self.device, self.start_time, self.reporter, interrupt)
        except BaseException:
            # Brian2's loop leaves t at the step in progress (between two
            # steps: at the next one); the run is not finished (no after_run)
            net.t_ = self.schedule.current_t(net)
            raise
        finally:
            Network._globally_running = False
        self.end_time = time.time()

    def finish(self):
        """t, the device's run statistics, invalid-state checks, the final
        report, ``after_run``, the log and the profiling information."""
        net, device, elapsed = self.net, self.device, self.end_time - self.start_time
        if net._stopped or Network._globally_stopped:
            net.t_ = self.schedule.current_t(net)
        else:
            net.t_ = float(self.t_end)
        device._last_run_time = elapsed
        if self.duration > 0:
            device._last_run_completed_fraction = (net.t - self.t_start) / self.duration
        else:
            device._last_run_completed_fraction = 1.0
        for obj in self.all_objects:
            if isinstance(obj, Group):
                obj._check_for_invalid_states()
        if self.reporter is not None:
            self.reporter.final(self.end_time, device._last_run_completed_fraction)
        net.after_run()
        brian2_network_logger.debug(
            f"Finished simulating network '{net.name}' (took {elapsed:.2f}s)", "run"
        )
        if self.profile:
            net._profiling_info = [(name, t * second)
                                   for name, t in self.schedule.profiling_info().items()]
            brian2_network_logger.debug(f"\n{str(profiling_summary(net))}")
        else:
            net._profiling_info = None


class _Reporter:
    """A run's progress report, as ``Network.run`` gives it: the callback is
    called at the start, whenever ``report_period`` (wall-clock) has passed
    at a step boundary, and at the end."""

    def __init__(self, callback, period, start_time, t_start, t_end, duration):
        self.callback = callback
        self.period = period
        self.start_time = start_time
        self.next_time = start_time + period
        self.t_start = t_start
        self.t_end = t_end
        self.duration = duration

    @classmethod
    def create(cls, report, report_period, start_time, t_start, t_end, duration):
        """The reporter for ``Network.run``'s ``report`` argument (``None``
        for no report), after its first call (fraction 0)."""
        if report is None:
            return None
        if report in ("text", "stdout"):
            callback = TextReport(sys.stdout)
        elif report == "stderr":
            callback = TextReport(sys.stderr)
        elif isinstance(report, str):
            raise ValueError(f'Do not know how to handle report argument "{report}".')
        elif callable(report):
            callback = report
        else:
            raise TypeError(
                "Do not know how to handle report argument, it has to be one of 'text', "
                "'stdout', 'stderr', or a callable function/object, but it is of type "
                f"{type(report)}"
            )
        reporter = cls(callback, float(report_period), start_time, t_start, t_end, duration)
        callback(0 * second, 0.0, t_start, duration)
        return reporter

    def during(self, t):
        """Report at a step boundary (``t``: the next step) if it is due."""
        current = time.time()
        if current > self.next_time:
            fraction = (t - float(self.t_start)) / float(self.t_end - self.t_start)
            self.callback((current - self.start_time) * second, fraction, self.t_start,
                          self.duration)
            self.next_time = current + self.period

    def final(self, end_time, fraction):
        self.callback((end_time - self.start_time) * second, fraction, self.t_start,
                      self.duration)


class _Schedule:
    """The entry table of one run: what runs, in which order, on which clock."""

    def __init__(self, objects, clocks, profile):
        self.clocks = clocks
        clock_index = {clock: k for k, clock in enumerate(clocks)}
        self.active_objects = [obj for obj in objects if obj.active]
        C = contract.values()
        #: per entry: its object, and its kernel (None for a Python entry)
        rows, self.python_calls, self.owners, self.kernels = [], [], [], []
        for obj in self.active_objects:
            clock = clock_index[obj.clock]
            run = obj.run  # what Brian2's loop calls (a subclass's or an instance's own)
            if getattr(run, "__func__", None) is not BrianObject.run:
                # an object that runs Python code of its own (NetworkOperation)
                self._add_python(rows, clock, obj, run)
                continue
            for codeobj in obj._code_objects:
                kernel = None
                if isinstance(codeobj, CppyyCodeObject):
                    kernel = codeobj.compiled_code.get("run")
                    if kernel is None:
                        continue  # nothing to run
                if kernel is None:
                    self._add_python(rows, clock, obj, codeobj)
                else:
                    rows.append(_entry(kernel.function_address, kernel.slots_address, clock,
                                       C.KERNEL_ENTRY))
                    self.owners.append(obj)
                    self.kernels.append(kernel)
        self.entries = np.array(rows, dtype=np.int64).reshape(-1, C.ENTRY_COLUMNS)
        self.timestep_arrays = [c.variables["timestep"].get_value() for c in clocks]
        self.start_timesteps = [int(a[0]) for a in self.timestep_arrays]
        self.t_arrays = [c.variables["t"].get_value() for c in clocks]
        self.timestep_ptrs = np.array([a.ctypes.data for a in self.timestep_arrays], dtype=np.int64)
        self.t_ptrs = np.array([a.ctypes.data for a in self.t_arrays], dtype=np.int64)
        self.dts = np.array([c.dt_ for c in clocks], dtype=np.float64)
        self.i_ends = np.array([c._i_end for c in clocks], dtype=np.int64)
        self.state = np.zeros(C.STATE_SIZE, dtype=np.int64)
        self.state[C.STATE_RESUME] = C.RESUME_NEW_STEP
        self.times = np.zeros(C.TIME_SIZE)
        self.profile = np.zeros(len(rows)) if profile else None

    def _add_python(self, rows, clock, obj, call):
        rows.append(_entry(0, 0, clock, len(self.python_calls)))
        self.python_calls.append(call)
        self.owners.append(obj)
        self.kernels.append(None)

    def current_t(self, net):
        """The network's time as Brian2's loop has it: inside a step, the
        step's time; between two steps, the next step's (``_nextclocks``)."""
        C = contract.values()
        if self.state[C.STATE_RESUME] < 0:  # a new step (RESUME_NEW_STEP, RESUME_CHECKED)
            return net._nextclocks()[0].t_
        return float(self.t_arrays[int(self.state[C.STATE_MINCLOCK])][0])

    def run(self, net, device, start_time, reporter, interrupt):
        """Run the loop until it is done, returning to it after each return
        to Python (see ``network_loop.hpp`` for the results)."""
        loop = contract.entry_points().run_network_loop
        entries, state, times = self.entries, self.state, self.times
        args = (
            entries.ctypes.data, len(entries), self.timestep_ptrs.ctypes.data,
            self.t_ptrs.ctypes.data, self.dts.ctypes.data, self.i_ends.ctypes.data,
            len(self.clocks), state.ctypes.data, times.ctypes.data,
            self.profile.ctypes.data if self.profile is not None else None,
        )
        max_time = device._maximum_run_time
        C = contract.values()
        while True:
            now = time.time()
            next_check = now + CHECK_INTERVAL
            if reporter is not None:
                next_check = min(next_check, reporter.next_time)
            times[C.TIME_NEXT_CHECK] = max(next_check - now, 0.0)
            times[C.TIME_LIMIT] = (-1.0 if max_time is None
                                   else max(float(max_time) - (now - start_time), 0.0))
            state[C.STATE_STOP] = int(net._stopped or Network._globally_stopped)
            result = loop(*args)
            if result != C.LOOP_KERNEL_ERROR:  # a failed callback is the kernel's error
                random_buffers.raise_pending_error()
            if result == C.LOOP_DONE:
                return
            net.t_ = self.current_t(net)
            if result == C.LOOP_PYTHON:
                self._run_python_entry(int(state[C.STATE_ENTRY]))
            elif result == C.LOOP_CHECK:
                interrupt.raise_if_requested()
                if reporter is not None:
                    reporter.during(net.t_)
            elif result == C.LOOP_TIME_LIMIT:
                net._stopped = True
            elif result == C.LOOP_KERNEL_ERROR:
                kernel = self.kernels[int(state[C.STATE_ENTRY])]
                kernel.raise_error(int(state[C.STATE_KERNEL_STATUS]))
            else:  # pragma: no cover - a bug in the loop
                raise RuntimeError(f"The network loop returned an unknown result {result}.")

    def _run_python_entry(self, entry):
        call = self.python_calls[int(self.entries[entry, contract.values().ENTRY_PYTHON])]
        if self.profile is None:
            call()
            return
        started = time.time()
        call()
        self.profile[entry] += time.time() - started

    def profiling_info(self):
        """Seconds per object name: like Brian2, every active object whose
        clock has run a step, plus the time of its entries."""
        ran = {clock for clock, timesteps, start in
               zip(self.clocks, self.timestep_arrays, self.start_timesteps)
               if int(timesteps[0]) > start}
        info = {obj.name: 0.0 for obj in self.active_objects if obj.clock in ran}
        for owner, seconds in zip(self.owners, self.profile):
            if owner.name in info:
                info[owner.name] += float(seconds)
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

