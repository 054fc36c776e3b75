"""Everything of brian2cppyy that depends on Brian2's internals, in one place.

Brian2 has no hook for "run the time steps elsewhere": its device override
``network_run`` replaces all of ``Network.run``. The fused loop
(`brian2cppyy.loop.network_loop`) therefore repeats what ``Network.run`` does
before and after its time-step loop, and its C++ loop follows the rules of
Brian2's loop (which clocks run in a step, how a clock advances, what an
object's ``run`` does). This module holds those pieces as small functions,
written after Brian2's code (none is copied), and says what they rest on:

* `BRIAN2_VERSION`: the Brian2 release they follow.
* `PRIVATE_ATTRIBUTES`: every private Brian2 attribute the package uses, where
  and why. No other module of the package uses them (a test checks).
* `MIRRORED`: each Brian2 function whose code is repeated here or whose rules
  the package follows, with the SHA-256 of its source in `BRIAN2_VERSION`.
  ``tests/test_brian2_compat.py`` recomputes them from the installed Brian2
  and names each function that changed: read the change, follow it here (or
  in the module named in `DIVERGENCES`), then update the hash.
* `DIVERGENCES`: every deliberate difference from Brian2's loop, with its reason.

The functions follow ``Network.run`` in ``brian2/core/network.py`` unless
their docstring names another piece of Brian2.
"""

import gc
import hashlib
import importlib
import inspect
import sys
from contextlib import contextmanager

import brian2.groups.group as brian2_group
from brian2.codegen.codeobject import CodeObject
from brian2.core.base import BrianObject
from brian2.core.network import Network, TextReport
from brian2.core.preferences import prefs
from brian2.units.allunits import second

__all__ = [
    "BRIAN2_VERSION", "PRIVATE_ATTRIBUTES", "MIRRORED", "DIVERGENCES", "source_digest",
    "changed_functions", "brian2_network_run", "check_duration", "collect_unused_objects",
    "profile_requested", "set_interval", "report_callback", "globally_running",
    "stop_requested", "stop", "time_after_stop", "interval_end", "maximum_run_time",
    "runs_its_code_objects", "code_objects", "call_is_run_block", "record_run",
    "check_invalid_states", "store_profiling_info", "create_runner_codeobj",
    "set_create_runner_codeobj", "brian_objects_exist", "cache_irrelevant_attributes",
    "dimension_exponents",
]

#: the Brian2 release whose internals this module follows
BRIAN2_VERSION = "2.11.0"

#: ``(attribute, where we use it, why)`` for every private Brian2 attribute used
PRIVATE_ATTRIBUTES = (
    ("Network.run.original_function", "runs the fused loop cannot take",
     "Brian2's Network.run itself (device_override keeps it there)"),
    ("Network._clocks", "network run prologue",
     "the run's clocks; Brian2's _nextclocks (time after a stop) reads them"),
    ("Network._nextclocks()", "t after a stop or an interrupt",
     "Brian2's rule for the time of the next step"),
    ("Network._stopped, Network._globally_stopped", "before every step",
     "Network.stop() and brian2.stop() set them; the loop ends at the next step"),
    ("Network._globally_running", "around the time steps",
     "Brian2 sets it while its loop runs (tests and tools wait for it)"),
    ("Network._profiling_info", "end of a run",
     "what Network.profiling_info and profiling_summary read"),
    ("Clock._i_end", "the C++ loop's end of the run",
     "the last time step, as Clock.set_interval computed it"),
    ("BrianObject._code_objects", "the entry table",
     "the code objects BrianObject.run calls, replaced by their kernels"),
    ("Group._check_for_invalid_states()", "end of a run",
     "Brian2's check for NaN and other invalid values after a run"),
    ("Device._maximum_run_time", "the C++ loop's time limit",
     "set by set_device(..., build_options); Brian2 stops after the step"),
    ("Device._last_run_time, Device._last_run_completed_fraction", "end of a run",
     "what Brian2 records for the run (device.last_run_time etc.)"),
    ("brian2.groups.group.create_runner_codeobj", "loop.run_reuse",
     "the module global CodeRunner calls; replaced while a cppyy run prepares"),
    ("BrianObject.__instances__()", "loop.unused_objects",
     "Brian2's instance tracker: were Brian objects created before the import?"),
    ("CacheKey._cache_irrelevant_attributes", "analysis_cache.digest",
     "the attributes Brian2's own analysis cache ignores"),
    ("Dimension._dims", "analysis_cache.digest", "the exponents of a physical unit"),
)

#: Brian2 function -> SHA-256 of its source in `BRIAN2_VERSION` (`source_digest`)
MIRRORED = {
    # the prologue and epilogue below; the loop's order (network_loop.hpp)
    "brian2.core.network.Network.run":
        "5bccab46c6f26ad388204e1cad05833f614edee1c01f292b4c585da9e03b4906",
    # the clocks of a step (network_loop.hpp) and `time_after_stop`
    "brian2.core.network.Network._nextclocks":
        "ec67d5b9ef4ce54ca373140f1d69f0e37bafe29c89e28db11c590bf1800f9789",
    # the same-time rule of network_loop.hpp (min of both dts, epsilon_dt)
    "brian2.core.clocks.Clock.same_time":
        "90d699e8978b4f97abe7909ea625118bd6053b47e188f2f1813dea73145158e8",
    # t = timestep * dt after a step (network_loop.hpp)
    "brian2.core.clocks.Clock.advance":
        "10c8dd85ccb9868e532b202cf4f82abc6373a6f2ba1e8725a9eb65ba517fff1b",
    # `runs_its_code_objects`: an object's run is its code objects, in order
    "brian2.core.base.BrianObject.run":
        "73ba6478ecfc24d9951846034e1da6ea032e0754598d6835c4a8b2769e2e7b0f",
    # `call_is_run_block`: calling a code object runs its run block
    "brian2.codegen.codeobject.CodeObject.__call__":
        "739903569b044120493dd69c82566664551a07ea36c32951a5bc403a04280325",
    # loop.run_reuse: the names it resolves, and the runner's code-object name
    "brian2.codegen.codeobject.create_runner_codeobj":
        "266c3572a39cf566eeb9a5d7d703869f9ed1fecab5eb3e37fceaf4396ef5ff65",
    "brian2.groups.group.CodeRunner.create_default_code_object":
        "6760f1d1c7d50276832ddcfb5672271fefc83df51e1da6ae3e667177bece7d71",
    # analysis_cache.digest keys objects as Brian2's cache does
    "brian2.utils.caching.CacheKey._state_tuple":
        "48d4c5c1bda44d554fad68b1962baa61b30d087be286a229cbb07f7ca1baf70d",
}

#: ``(difference from Brian2's Network.run, reason)``
DIVERGENCES = (
    ("Network.t is written when the C++ loop returns to Python (Python entries, "
     "checks, the end), not before every step.",
     "no Python runs in between to read it; objects read their own clock's t"),
    ("Progress reports and Ctrl-C are looked at on a step boundary when a check is "
     "due (the next report, or every CHECK_INTERVAL), not before every step.",
     "calling into Python at every step is what the fused loop saves; the C++ loop "
     "reads a steady clock at every step and returns only when a check is due"),
    ("Ctrl-C (not turned into a stop) raises KeyboardInterrupt at the next step "
     "boundary, not inside a step.",
     "a kernel cannot be left in the middle; the groups and monitors stay "
     "consistent, Network.t is the next step's and, as in Brian2, no after_run"),
    ("An object's run is looked at when the run starts: BrianObject.run is "
     "replaced by the object's kernels; any other run is called from Python.",
     "the entry table is built once per run"),
    ("A code object is called as its kernel only if calling it would do nothing "
     "else (Brian2's CodeObject.__call__, our run_block, no OWNER_CALLS or "
     "RETURNS_ARRAY on its run block); any other is called from Python.",
     "the C++ loop can only call kernels; Python runs the rest at its place"),
    ("With profile=True a kernel is timed in C++ around its call.",
     "the kernels are not called from Python; Python entries are timed in Python"),
    ("Among clocks at exactly the same time, the one that gives Network.t is the "
     "first by name; Brian2 takes min() over a set (any of them).",
     "a reproducible choice; the times are equal, so t is the same"),
    ("Clock.advance's StopIteration past the clock's end is not checked in C++.",
     "the loop ends when the earliest clock reaches its end (as Brian2's)"),
    ("Network._clock_variables is not set.",
     "Brian2 reads this cache only inside its own Network.run"),
    ("A code object whose inputs have not changed since the previous run is used "
     "again (loop.run_reuse).",
     "generating it anew costs most of a short re-run; it keeps its name"),
)


# -- the check that this module still matches the installed Brian2 ---------


def _resolve(qualified_name):
    """The function ``module.[Class.]name`` names (a property's getter)."""
    parts = qualified_name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            obj = vars(obj)[part]
        return obj.fget if isinstance(obj, property) else obj
    raise ImportError(f"No module in '{qualified_name}'")


def source_digest(qualified_name):
    """SHA-256 of the source of the installed Brian2's function (unwrapped)."""
    source = inspect.getsource(inspect.unwrap(_resolve(qualified_name)))
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def changed_functions():
    """The names in `MIRRORED` whose installed source differs."""
    return [name for name, digest in MIRRORED.items() if source_digest(name) != digest]


def brian2_network_run(net, *args):
    """Brian2's own ``Network.run`` (not the device's override)."""
    return Network.run.original_function(net, *args)


# -- Network.run's prologue -------------------------------------------------


def check_duration(duration):
    if duration < 0:
        raise ValueError(f"Function 'run' expected a non-negative duration but got '{duration}'")


def collect_unused_objects():
    """The collection that makes unused Brian objects warn (see unused_objects)."""
    if prefs.logging.warn_for_unused_objects:
        gc.collect()


def profile_requested(profile, device):
    return device.build_options.get("profile", False) if profile is None else profile


def set_interval(net, objects, t_end):
    """The run's clocks (``net._clocks``), each set to run from ``net.t`` to ``t_end``."""
    net._clocks = {obj.clock for obj in objects}
    for clock in net._clocks:
        clock.set_interval(net.t, t_end)
    return net._clocks


def report_callback(report):
    """The callback for ``Network.run``'s ``report`` argument, or ``None``."""
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


# -- during the time steps --------------------------------------------------


@contextmanager
def globally_running():
    """``Network._globally_running`` for the time steps."""
    Network._globally_running = True
    try:
        yield
    finally:
        Network._globally_running = False


def stop_requested(net):
    return bool(net._stopped or Network._globally_stopped)


def stop(net):
    """Stop after this step, as Brian2's loop does for the maximum run time."""
    net._stopped = True


def time_after_stop(net):
    """``Network.t`` between two steps: the time of the next step."""
    return net._nextclocks()[0].t_


def interval_end(clock):
    return clock._i_end


def maximum_run_time(device):
    return device._maximum_run_time


def runs_its_code_objects(obj):
    """Whether ``obj.run`` is ``BrianObject.run`` (its code objects in turn)."""
    return getattr(obj.run, "__func__", None) is BrianObject.run


def code_objects(obj):
    return obj._code_objects


def call_is_run_block(codeobj):
    """Whether calling ``codeobj`` only runs ``codeobj.run_block('run')``
    (Brian2's ``CodeObject.__call__``, ``update_namespace`` and ``run``)."""
    cls, own = codeobj.__class__, codeobj.__dict__  # (a weakref.proxy in _code_objects)
    return (cls.__call__ is CodeObject.__call__ and "run" not in own
            and "update_namespace" not in own
            and cls.update_namespace is CodeObject.update_namespace
            and cls.run is CodeObject.run)


# -- Network.run's epilogue -------------------------------------------------


def record_run(device, net, t_start, duration, elapsed):
    """The device's run statistics; returns the completed fraction."""
    device._last_run_time = elapsed
    fraction = (net.t - t_start) / duration if duration > 0 else 1.0
    device._last_run_completed_fraction = fraction
    return fraction


def check_invalid_states(objects):
    for obj in objects:
        if isinstance(obj, brian2_group.Group):
            obj._check_for_invalid_states()


def store_profiling_info(net, seconds_by_name):
    """``net.profiling_info`` (``None``: no profiling in this run)."""
    net._profiling_info = (None if seconds_by_name is None else
                           [(name, t * second) for name, t in seconds_by_name.items()])


# -- other modules' uses ----------------------------------------------------


def create_runner_codeobj():
    """The function ``CodeRunner.create_default_code_object`` calls now."""
    return brian2_group.create_runner_codeobj


def set_create_runner_codeobj(function):
    brian2_group.create_runner_codeobj = function


def brian_objects_exist():
    return any(ref() is not None for ref in BrianObject.__instances__())


def cache_irrelevant_attributes(obj):
    return obj._cache_irrelevant_attributes


def dimension_exponents(dimension):
    return tuple(dimension._dims)
