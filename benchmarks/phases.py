"""Where a process's start-up time goes: wall time per phase of Brian2's
work, measured by wrapping Brian2's (and brian2cppyy's) functions in the
benchmark's own sample process (``sample.py --phases``).

Phases (each an *exclusive* time: a phase nested in another is subtracted
from the outer one, so that the phases add up):

``cling_start``
    ``brian2cppyy.cling.runtime.launch``: importing cppyy, starting Cling with its
    precompiled header, loading the runtime headers (cppyy target only).
``analysis``
    ``brian2.stateupdaters.base.StateUpdateMethod.apply_stateupdater``:
    Brian2's sympy derivation of the state-update code.
``codegen``
    the rest of ``brian2.codegen.codeobject.create_runner_codeobj`` and of
    ``device.code_object``: templates, code generation, variable bookkeeping.
``compile``
    cppyy: ``brian2cppyy.cling.jit._compile_once`` (Cling compiling a unit: a
    kernel, or runtime code compiled for the kernels that need it) on the
    main thread, and the main thread's waits for the compile thread
    (``compile_thread.wait_for`` and ``wait_idle``: kernels compile there while
    Brian2 goes on, and only the wait is time the user waits); cython:
    ``CythonExtensionManager.create_extension`` (the cache lookup, and on a
    miss Cython and the C++ compiler); numpy: ``NumpyCodeObject.compile_block``.
``run``
    the time-step loops (``device._last_run_time`` of every run; for example
    scripts, whose loops are not timed apart; nested in no other phase).

Only the main thread's time counts (a call on another thread, e.g. the
compile thread's, is not timed).  Wrapping changes no result: each wrapper
calls the original with the same arguments and returns its value.  A hook whose function is missing (a renamed
function in a later version) is skipped and listed under ``missing_hooks``.
"""

import functools
import importlib
import threading
import time

#: the phases this module measures, in the order of a run
DETAIL_PHASES = ("cling_start", "analysis", "codegen", "compile", "run")


class PhaseClock:
    """Exclusive wall time per phase: a stack of the phases entered; the time
    spent in an inner phase is taken out of the outer one."""

    def __init__(self):
        self.totals = {phase: 0.0 for phase in DETAIL_PHASES}
        self.calls = {phase: 0 for phase in DETAIL_PHASES}
        self._stack = []  # [phase, start, time spent in inner phases]

    def wrap(self, phase, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():
                return function(*args, **kwargs)
            frame = [phase, time.perf_counter(), 0.0]
            self._stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - frame[1]
                self._stack.pop()
                self.totals[phase] += elapsed - frame[2]
                self.calls[phase] += 1
                if self._stack:
                    self._stack[-1][2] += elapsed

        timed.__wrapped_for_phase__ = phase
        return timed

    def snapshot(self):
        """A copy of the totals (to take differences between two moments)."""
        return dict(self.totals)


def _patch_attribute(clock, phase, owner, name, missing, static=False):
    original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if original is None:
        missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
        return
    if static:
        # the class attribute as installed (a staticmethod, or brian2cppyy's
        # dispatch to its own on the cppyy target), looked up at each call
        def call(*args, **kwds):
            return original.__get__(None, owner)(*args, **kwds)

        setattr(owner, name, staticmethod(clock.wrap(phase, call)))
    else:
        setattr(owner, name, clock.wrap(phase, original))


def _module(name, missing):
    try:
        return importlib.import_module(name)
    except ImportError:
        missing.append(name)
        return None


def install(target, time_runs=False):
    """Wrap Brian2's functions for ``target`` (after ``import brian2``, before
    the model is built).  Returns ``(clock, missing_hooks)``.  ``time_runs``
    also adds up the loops' times (phase ``run``)."""
    clock = PhaseClock()
    missing = []
    from brian2.stateupdaters.base import StateUpdateMethod

    _patch_attribute(clock, "analysis", StateUpdateMethod, "apply_stateupdater", missing,
                     static=True)
    # create_runner_codeobj is imported by name into these modules
    wrapped_runner = None
    for name in ("brian2.codegen.codeobject", "brian2.groups.group", "brian2.synapses.synapses"):
        module = _module(name, missing)
        if module is None or not hasattr(module, "create_runner_codeobj"):
            missing.append(f"{name}.create_runner_codeobj")
            continue
        if wrapped_runner is None:
            wrapped_runner = clock.wrap("codegen", module.create_runner_codeobj)
        module.create_runner_codeobj = wrapped_runner
    from brian2.devices.device import Device

    _patch_attribute(clock, "codegen", Device, "code_object", missing)
    if target == "cppyy":
        # every compilation goes through jit._compile_once (kernels and the
        # runtime units they need); Cling starts inside the first one
        for module_name, name, phase in (("brian2cppyy.cling.runtime", "launch", "cling_start"),
                                         ("brian2cppyy.cling.jit", "_compile_once", "compile"),
                                         ("brian2cppyy.cling.compile_thread", "wait_for",
                                          "compile"),
                                         ("brian2cppyy.cling.compile_thread", "wait_idle",
                                          "compile")):
            module = _module(module_name, missing)
            if module is not None:
                _patch_attribute(clock, phase, module, name, missing)
    elif target == "cython":
        module = _module("brian2.codegen.runtime.cython_rt.extension_manager", missing)
        if module is not None:
            _patch_attribute(clock, "compile", module.CythonExtensionManager,
                             "create_extension", missing)
    elif target == "numpy":
        from brian2.codegen.runtime.numpy_rt.numpy_rt import NumpyCodeObject

        _patch_attribute(clock, "compile", NumpyCodeObject, "compile_block", missing)
    if time_runs:
        _count_loops(clock, missing)
    return clock, missing


def _count_loops(clock, missing):
    """Phase ``run``: the time-step loop of every run, as Brian2 measures it
    (``device._last_run_time``, set before ``Network.after_run``).  Not a
    wrapper of ``Network.run``: that would add a frame between the user's
    code and ``Network.run``, which finds the user's namespace by counting
    frames (its ``level`` argument)."""
    from brian2.core.network import Network
    from brian2.devices.device import get_device

    original = Network.__dict__.get("after_run")
    if original is None:
        missing.append("Network.after_run")
        return

    @functools.wraps(original)
    def after_run(self, *args, **kwargs):
        clock.totals["run"] += float(getattr(get_device(), "_last_run_time", 0.0) or 0.0)
        clock.calls["run"] += 1
        return original(self, *args, **kwargs)

    Network.after_run = after_run


def workload_breakdown(phases, detail_before_loop, detail_in_loop):
    """The stacked phases of a workload sample (seconds, adding up to the
    process time): ``import``, the detail phases measured up to the end of the
    first run, ``first_run`` (the rest of building and of ``net.run(0*ms)``:
    Brian2's bookkeeping, initialisation kernels), ``loop`` (the timed run
    without any detail phase inside it) and ``other`` (interpreter start,
    the sample's own imports, exit).  ``phases`` are sample.py's phases with
    ``process``."""
    out = {"import": phases["import"]}
    for phase in DETAIL_PHASES:
        if phase != "run":
            out[phase] = detail_before_loop.get(phase, 0.0) + detail_in_loop.get(phase, 0.0)
    before = sum(detail_before_loop.get(p, 0.0) for p in DETAIL_PHASES)
    inside = sum(detail_in_loop.get(p, 0.0) for p in DETAIL_PHASES)
    out["first_run"] = phases["build"] + phases["first_run"] - before
    out["loop"] = phases["loop"] - inside
    out["other"] = phases["process"] - sum(out.values())
    return out


def script_breakdown(phases, detail):
    """The stacked phases of an example script's sample: ``import``, the
    detail phases (``run``: the time-step loops)
    and ``other`` (the rest of the script: building objects, analysis of the
    results, plotting; interpreter start and exit)."""
    out = {"import": phases["import"]}
    for phase in DETAIL_PHASES:
        out[phase] = detail.get(phase, 0.0)
    out["other"] = phases["process"] - sum(out.values())
    return out
