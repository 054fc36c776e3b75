"""Dask worker preload of ``sweep_startup.py``: records when each start-up
phase of a sweep's worker ends (wall clock and the process's CPU time) and
writes the events to ``$SWEEP_STARTUP_DIR/worker-<pid>.json``.

A spawned worker imports brian2cppyy after this preload runs: an import
hook marks the start and end of that import, then wraps the functions of
``brian2cppyy.sweeps.worker``. A forked worker has them already (wrapped,
possibly, by the parent's copy of this module): they are wrapped again from
the originals, so the events go to this process's list.
"""

import importlib.abc
import importlib.machinery
import json
import os
import sys
import time

import psutil

_process = psutil.Process()
_events = [("process created", _process.create_time(), 0.0)]


def mark(name):
    cpu = _process.cpu_times()
    _events.append((name, time.time(), cpu.user + cpu.system))


def dump():
    path = os.path.join(os.environ["SWEEP_STARTUP_DIR"], f"worker-{os.getpid()}.json")
    with open(path, "w") as f:
        json.dump(_events, f)


def _wrap(worker):
    original = getattr(worker, "_startup_originals", None)
    if original is None:
        original = worker._startup_originals = (worker.prepare_process, worker.freeze_imports,
                                                worker.run_one)
    prepare, freeze, run_one = original
    first = []

    def prepare_process(preferences=None):
        if worker._prepared is None or worker._prepared["pid"] != os.getpid():
            mark("plugin setup starts")
            from brian2cppyy.cling import runtime

            if preferences is not None:
                worker._apply(preferences)
            runtime.start()
            mark("Cling started")
        return prepare() if preferences is None else prepare(preferences)

    def freeze_imports(**options):
        frozen = freeze(**options)
        mark("heap frozen: worker prepared")
        dump()
        return frozen

    def timed_run_one(function, params, seed):
        if not first:
            mark("first task starts")
        record = run_one(function, params, seed)
        if not first:
            first.append(True)
            mark("first task ends")
            dump()
        return record

    worker.prepare_process, worker.freeze_imports = prepare_process, freeze_imports
    worker.run_one = timed_run_one


class _ImportHook(importlib.abc.MetaPathFinder):
    """Marks the import of brian2cppyy (with Brian2) and wraps its worker module."""

    def find_spec(self, name, path, target=None):
        marks = {"brian2cppyy": "brian2cppyy import starts",
                 "brian2cppyy.sweeps": "brian2cppyy and Brian2 imported"}
        if name in marks and marks[name] not in (event[0] for event in _events):
            mark(marks[name])
        if name != "brian2cppyy.sweeps.worker":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _wrap(module)

        spec.loader.exec_module = exec_module
        return spec


if "brian2cppyy.sweeps.worker" in sys.modules:
    mark("Dask worker starts (forked)")
    _wrap(sys.modules["brian2cppyy.sweeps.worker"])
else:
    mark("Dask worker starts (spawned, Dask imported)")
    sys.meta_path.insert(0, _ImportHook())
