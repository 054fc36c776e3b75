"""The fused network loop: ``Network.run`` with the time-step loop in C++.

Brian2's device-override hook (``network_run`` on the runtime device) leads
here when the code-generation target is ``cppyy`` (`brian2_hooks`). A run
builds a table of the compiled kernels in schedule order and hands it to
``brian2cppyy::run_network_loop`` (``network_loop.hpp``), which runs many time
steps without returning to Python. It returns to Python only where Python
must run: NetworkOperations and other objects with a ``run`` method of their
own, code objects that do more than their kernel (other targets, a template's
``OWNER_CALLS``/``RETURNS_ARRAY`` on its run block), progress reports at their
period, checks for Ctrl-C (every 50 ms), the maximum run time, and kernel
errors.

Around the loop, ``network_run`` follows ``Network.run`` phase by phase with
the pieces of it in `brian2cppyy.brian2_compat` (which names the Brian2
version followed, the private attributes used, and every difference from
Brian2's loop, `brian2_compat.DIVERGENCES`) and Brian2's own
``Network.before_run``/``after_run``, ``TextReport`` and
``profiling_summary``. An empty network does what Brian2 does (``before_run``,
then nothing). Runs the loop cannot take are handed to Brian2's
``Network.run`` itself, with the reason in the log: every run when
``codegen.runtime.cppyy.fused_loop`` is off (debug), a run with a clock that
is not a `Clock`, a clock whose ``epsilon_dt`` is not the loop's
(``CLOCK_EPSILON_DT``), or more clocks than the loop takes (``MAX_CLOCKS``;
both of ``contract.hpp``; info, once).
The thread count of ``codegen.runtime.cppyy.threads`` is handed to the C++
thread pool when a run starts (`brian2cppyy.loop.threads`); kernels split
their loops over it (``parallel_loops.hpp``, ``thread_pool.hpp``) with results equal to one thread.
"""

import time

import numpy as np
from brian2.core.base import BrianObjectException
from brian2.core.clocks import Clock
from brian2.core.namespace import get_local_namespace
from brian2.core.network import profiling_summary
from brian2.core.network import logger as brian2_network_logger
from brian2.core.preferences import prefs
from brian2.devices.device import get_device
from brian2.units.allunits import second
from brian2.units.fundamentalunits import check_units

from .. import brian2_compat as compat
from ..cling import compile_thread, contract
from ..cling.jit import CompilationError
from ..target import random_buffers
from . import run_reuse, threads
from ..log import get_logger
from ..target.codeobject import CppyyCodeObject
from ..target.kernel import Kernel
from .deferred_interrupt import DeferredInterrupt
from .progress_report import ProgressReport

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
    reason)``, or ``None`` if it can (an empty network can: it has nothing to run)."""
    if not prefs["codegen.runtime.cppyy.fused_loop"]:
        return "debug", "the preference codegen.runtime.cppyy.fused_loop is off"
    clocks = {obj.clock for obj in objects}
    other_kinds = sorted({type(c).__name__ for c in clocks if type(c) is not Clock})
    if other_kinds:
        return "info", (f"it uses a clock of type {', '.join(other_kinds)} "
                        "(the fused loop steps Clock objects only)")
    max_clocks = contract.values().MAX_CLOCKS
    if len(clocks) > max_clocks:
        return "info", f"it uses {len(clocks)} clocks (the fused loop takes at most {max_clocks})"
    epsilon_dt = contract.values().CLOCK_EPSILON_DT
    for clock in sorted(clocks, key=lambda c: c.name):
        if clock.epsilon_dt != epsilon_dt:  # the tolerance of Clock.same_time
            return "info", (f"clock '{clock.name}' has epsilon_dt={clock.epsilon_dt!r} (the "
                            f"fused loop's same-time test uses Clock's {epsilon_dt!r})")
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
        return compat.brian2_network_run(
            net, duration, report, report_period, namespace, profile, level)
    _run_fused(net, all_objects, duration, report, report_period, namespace, profile)


def _run_fused(net, all_objects, duration, report, report_period, namespace, profile):
    """``Network.run`` with the time-step loop in C++, in ``Network.run``'s order."""
    run = _FusedRun(net, all_objects, duration, profile)
    run.prepare(namespace)
    if not all_objects:  # as Brian2: before_run, and nothing else
        logger.debug(f"Network '{net.name}' has no objects: nothing to run.", "empty")
        return
    run.simulate(report, report_period)
    run.finish()


class _FusedRun:
    """One run through the fused loop: what ``Network.run`` does before,
    around and after its time-step loop."""

    def __init__(self, net, all_objects, duration, profile):
        compat.check_duration(duration)
        self.net = net
        self.all_objects = all_objects
        self.duration = duration
        self.device = get_device()
        self.profile = compat.profile_requested(profile, self.device)
        self.t_start = net.t
        self.t_end = net.t + duration
        self.clocks = self.schedule = self.reporter = self.start_time = self.end_time = None

    def prepare(self, namespace):
        """Unused-object warnings, the clocks' interval, ``before_run``."""
        compat.collect_unused_objects()  # cheap: the imports are frozen (unused_objects)
        self.clocks = compat.set_interval(self.net, self.all_objects, self.t_end)
        with run_reuse.reusing(self.all_objects):  # unchanged code objects run again
            try:
                self.net.before_run(namespace)
            except BaseException:
                compile_thread.wait_idle()  # nothing compiles on behind the error
                raise
        _wait_for_kernels(self.all_objects)

    def simulate(self, report, report_period):
        """The time steps: the C++ loop and the Python work it returns for."""
        net = self.net
        self.start_time = time.time()
        brian2_network_logger.debug(
            f"Simulating network '{net.name}' from time {self.t_start} to {self.t_end}.", "run"
        )
        self.reporter = ProgressReport.create(report, report_period, self.start_time, self.t_start,
                                         self.t_end, self.duration)
        clocks = sorted(self.clocks, key=lambda c: c.name)
        self.schedule = _Schedule(self.all_objects, clocks, self.profile)
        try:
            with compat.globally_running(), DeferredInterrupt() as interrupt:
                self.schedule.run(net, self.device, self.start_time, self.reporter, interrupt)
        except BaseException:
            # Brian2's loop leaves t at the step in progress (between two
            # steps: at the next one); the run is not finished (no after_run)
            net.t_ = self.schedule.current_t(net)
            raise
        self.end_time = time.time()

    def finish(self):
        """t, the device's run statistics, invalid-state checks, the final
        report, ``after_run``, the log and the profiling information."""
        net, elapsed = self.net, self.end_time - self.start_time
        stopped = compat.stop_requested(net)
        net.t_ = compat.time_after_stop(net) if stopped else float(self.t_end)
        fraction = compat.record_run(self.device, net, self.t_start, self.duration, elapsed)
        compat.check_invalid_states(self.all_objects)
        if self.reporter is not None:
            self.reporter.final(self.end_time, fraction)
        net.after_run()
        brian2_network_logger.debug(
            f"Finished simulating network '{net.name}' (took {elapsed:.2f}s)", "run"
        )
        compat.store_profiling_info(net, self.schedule.profiling_info() if self.profile else None)
        if self.profile:
            brian2_network_logger.debug(f"\n{str(profiling_summary(net))}")


def _wait_for_kernels(objects):
    """Wait until every kernel of the objects has compiled (they compile on
    the compile thread while ``before_run`` goes on); a kernel that did not
    compile is reported as Brian2 reports an object whose preparation
    failed."""
    for obj in objects:
        if not obj.active:
            continue
        for codeobj in compat.code_objects(obj):
            for kernel in getattr(codeobj, "compiled_code", {}).values():
                if not isinstance(kernel, Kernel):
                    continue
                try:
                    kernel.function_address  # noqa: B018 - waits for it
                except CompilationError as exc:
                    raise BrianObjectException(
                        "An error occurred when preparing an object.", obj) from exc


def _calls_only_its_kernel(codeobj):
    """Whether calling ``codeobj`` (Brian2's loop does) would only call its
    ``run`` kernel: one of our code objects whose call is its ``run_block``,
    and whose template asks nothing more of the run block (``OWNER_CALLS``,
    ``RETURNS_ARRAY``, which `CppyyCodeObject.run_block` honours)."""
    if not isinstance(codeobj, CppyyCodeObject) or not compat.call_is_run_block(codeobj):
        return False
    specifiers = codeobj.specifiers
    return (codeobj.__class__.run_block is CppyyCodeObject.run_block
            and "run_block" not in codeobj.__dict__
            and "run" not in specifiers.owner_calls and specifiers.returns is None)


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
            if not compat.runs_its_code_objects(obj):
                # an object that runs Python code of its own (NetworkOperation)
                self._add_python(rows, clock, obj, obj.run)
                continue
            for codeobj in compat.code_objects(obj):
                if not _calls_only_its_kernel(codeobj):
                    self._add_python(rows, clock, obj, codeobj)
                    continue
                kernel = codeobj.compiled_code.get("run")
                if kernel is not None:  # (None: nothing to run)
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
        self.i_ends = np.array([compat.interval_end(c) for c in clocks], dtype=np.int64)
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
            return compat.time_after_stop(net)
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
        max_time = compat.maximum_run_time(device)
        C = contract.values()
        while True:
            now = time.time()
            next_check = now + CHECK_INTERVAL
            if reporter is not None:
                next_check = min(next_check, reporter.next_time)
            times[C.TIME_NEXT_CHECK] = max(next_check - now, 0.0)
            times[C.TIME_LIMIT] = (-1.0 if max_time is None
                                   else max(float(max_time) - (now - start_time), 0.0))
            state[C.STATE_STOP] = int(compat.stop_requested(net))
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
                compat.stop(net)
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
