"""What runs on a Dask worker: the plugin that prepares each worker process
once, and the wrapper that runs one simulation of a sweep.

Brian2 must be imported in a process's main thread: its import installs a
Ctrl-C (SIGINT) handler, and ``signal.signal`` raises ``ValueError`` in any
other thread (measured: ``import brian2`` in a ``threading.Thread`` fails).
Dask runs tasks in the threads of a worker's executor, never in its main
thread, but it calls a worker plugin's ``setup`` there (in the event loop).
`SweepWorkerPlugin.setup` therefore imports Brian2 and brian2cppyy and starts
Cling in the main thread, once per worker process; tasks then run in the
executor thread. That is safe: brian2cppyy serialises everything that
touches Cling, kernels run from any thread (``docs/guide.md``, Threads), and
`run_one` holds a process-wide lock so that runs of one process never
overlap, even on a worker with several threads (Brian2's scope, preferences
and ``seed()`` are process-wide).

A worker keeps its compiled kernels: brian2cppyy's in-process cache answers
every later build of the same model, so only a worker's first run of a model
compiles (``brian2cppyy.stats()`` on the worker counts it).

A process forked from one that was prepared (the embedded cluster forks
its workers from the calling process: `cluster`) is prepared again: what it
inherited describes its parent. A worker always starts on Brian2's runtime
device, also when forked from a process that chose another.

Once prepared, the plugin also freezes the worker's heap
(`brian2cppyy.loop.unused_objects.freeze_imports`): Brian2 starts every run
with a full garbage collection, which otherwise walks the 200 000 objects of
the imported modules (Dask, Brian2, SymPy, cppyy) each time (measured: 0.10-0.15 s
of each 0.4-0.5 s run of a 1 000-neuron network; 2 ms frozen).

Each run starts from the same state whatever ran before it in the process:
the preferences as they were when the worker was prepared (with
``codegen.target = 'cppyy'``; the plugin of the embedded cluster first
applies the caller's, before Cling starts, so that its Cling flags and cache
directory hold on the workers too), ``defaultclock.dt`` = 0.1 ms, a fresh scope,
and ``seed(run_seed)``.

A run that Brian2 stopped early because of a Ctrl-C (Brian2 turns the first
SIGINT into ``Network.stop()``, and ``run()`` returns normally) is reported
as failed, never as finished: the plugin chains a counting handler in front
of Brian2's, and `run_one` compares the count before and after the run.

Before a run starts, `announce_start` tells the scheduler which task this
worker is about to execute, and waits for the answer: when a worker dies,
Dask charges every task it had been given (``ws.processing``), also those
that were only queued there, and the client needs to know which one was
running (`executor.Executor` charges only that one; see ``retries``).
"""

import copy
import os
import signal
import threading
import time
import traceback

from distributed.diagnostics.plugin import WorkerPlugin

from ..loop.unused_objects import freeze_imports
from .record import RunRecord, describe_error, split_outputs

__all__ = ["SweepWorkerPlugin", "prepare_process", "preference_snapshot", "run_one",
           "run_pickled", "INTERRUPTED", "started_topic", "announce_start"]

#: the error of a run that a Ctrl-C stopped early
INTERRUPTED = ("interrupted by Ctrl-C (SIGINT): Brian2 stopped the run early, so it is not "
               "recorded as finished")

_RUN_LOCK = threading.Lock()
_prepared = None  # {'prefs': snapshot, 'setup_seconds': float, 'thread': str, 'pid': int}
_sigints = 0


class SweepWorkerPlugin(WorkerPlugin):
    """Prepares a Dask worker for sweeps once, in its main thread (see the
    module's docstring). Registered under one name, so registering it again
    (every call of `sweep`) replaces it without preparing workers twice."""

    name = "brian2cppyy-sweep"
    idempotent = True  # registering it again (every sweep) keeps the prepared workers

    def __init__(self, preferences=None):
        #: Brian2 preferences (a `preference_snapshot`) applied before Cling
        #: starts, or None to keep the worker's own
        self.preferences = preferences

    def setup(self, worker):
        prepare_process(self.preferences)
        freeze_imports(whole_process=True)


def _count_sigint(previous):
    def handler(signum, frame):
        global _sigints
        _sigints += 1
        if callable(previous):
            return previous(signum, frame)
        if previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    handler.counts_sigints = True
    return handler


def preference_snapshot():
    """A copy of this process's Brian2 preferences (``{name: value}``)."""
    from brian2 import prefs

    return {key: copy.deepcopy(value) for key, value in prefs.prefs.items()}


def _apply(preferences):
    from brian2 import prefs

    for key, value in preferences.items():
        if key in prefs and prefs[key] != value:
            prefs[key] = copy.deepcopy(value)


def _use_runtime_device():
    """The runtime device (the cppyy target's), also in a process forked from
    one that chose another with ``set_device``."""
    from brian2.devices.device import get_device, runtime_device, set_device

    if get_device() is not runtime_device:
        set_device(runtime_device)


def prepare_process(preferences=None):
    """Import Brian2 and brian2cppyy, apply ``preferences`` (a
    `preference_snapshot`, or None), start Cling, count SIGINTs and snapshot
    the preferences; once per process. Must first be called in the main
    thread. Returns ``setup_seconds``, ``thread`` (the name of the thread
    that prepared the process) and ``pid``."""
    global _prepared
    if _prepared is not None and _prepared["pid"] == os.getpid():
        return {k: v for k, v in _prepared.items() if k != "prefs"}
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            "brian2cppyy.sweep: this worker was not prepared in its main thread (Brian2 "
            "can only be imported there); sweep() registers SweepWorkerPlugin for this")
    start = time.perf_counter()
    import brian2  # noqa: F401  (installs Brian2's SIGINT handler)

    from ..cling import runtime

    if preferences is not None:
        _apply(preferences)
    _use_runtime_device()
    runtime.ready()
    handler = signal.getsignal(signal.SIGINT)
    if not getattr(handler, "counts_sigints", False):  # a forked process has it already
        signal.signal(signal.SIGINT, _count_sigint(handler))
    prefs = preference_snapshot()
    prefs["codegen.target"] = "cppyy"
    prefs["codegen.runtime.cppyy.threads"] = 1  # the workers share the cores
    _prepared = {"prefs": prefs, "setup_seconds": time.perf_counter() - start,
                 "thread": threading.current_thread().name, "pid": os.getpid()}
    return {k: v for k, v in _prepared.items() if k != "prefs"}


def started_topic(worker_address):
    """The scheduler event topic under which the worker at ``worker_address``
    announces each task it starts (the message is the task's key)."""
    return f"brian2cppyy-sweep-started {worker_address}"


def announce_start():
    """Log the key of the current Dask task under `started_topic` of this
    worker, synchronously (a round trip to the scheduler), so that the
    announcement has arrived before the run can kill the process. Nothing
    outside a Dask task."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except ValueError:  # not in a Dask worker
        return
    key = worker.get_current_task()
    from distributed.utils import sync

    sync(worker.loop, worker.scheduler.log_event, topic=started_topic(worker.address), msg=key)


def _fresh_state(seed):
    from brian2 import defaultclock, ms, prefs, start_scope
    from brian2 import seed as brian2_seed

    for key, value in _prepared["prefs"].items():
        if prefs[key] != value:
            prefs[key] = value
    defaultclock.dt = 0.1 * ms
    start_scope()
    brian2_seed(seed)


def _worker_name():
    try:
        from distributed import get_worker

        return get_worker().address
    except ValueError:  # not in a Dask worker
        return f"pid {os.getpid()}"


def run_one(function, params, seed):
    """Run ``function(**params)`` once, from a fresh state seeded with
    ``seed``; returns the run's `RunRecord`. An exception of the function
    is recorded, not raised."""
    prepare_process()
    record = RunRecord(worker=_worker_name())
    with _RUN_LOCK:
        announce_start()
        start = time.perf_counter()
        _fresh_state(seed)
        sigints = _sigints
        try:
            outputs = function(**params)
            if _sigints != sigints:
                raise KeyboardInterrupt
            record.scalars, record.arrays, record.units = split_outputs(outputs, set(params))
            record.status = "ok"
        except KeyboardInterrupt:
            record.error = INTERRUPTED
        except Exception as exc:  # the user's model failed: recorded, the sweep goes on
            record.error = describe_error(exc)
            record.traceback = traceback.format_exc()
        record.wall_s = time.perf_counter() - start
    return record


_functions = {}  # SHA-256 of a pickled function -> the function (one unpickling per process)


def run_pickled(function_bytes, params, seed):
    """`run_one` for a function pickled by the client (cloudpickle). The
    function is unpickled once per process; if that fails (e.g. its module is
    not importable on the worker), the run is recorded as failed."""
    import hashlib

    import cloudpickle

    prepare_process()
    digest = hashlib.sha256(function_bytes).hexdigest()
    function = _functions.get(digest)
    if function is None:
        try:
            function = cloudpickle.loads(function_bytes)
        except Exception as exc:
            return RunRecord(error=f"the function cannot be loaded on this worker: "
                                   f"{type(exc).__name__}: {exc}",
                             traceback=traceback.format_exc(), wall_s=0.0,
                             worker=_worker_name())
        _functions[digest] = function
    return run_one(function, params, seed)
