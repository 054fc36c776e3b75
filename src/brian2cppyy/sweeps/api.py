"""`sweep`: run one simulation function over a parameter grid on Dask.

The plan is made on the client, before anything is submitted: the grid's
runs (parameter set x repeat) in a fixed order, each with the key and seed
derived from its values alone (`seeds`), and every check of the user's input
(`check_function`, `parameter_sets`). Runs that the store already holds are
taken from it; the others go to Dask as one task each, and each finished run
is written to the store as it arrives. The table is built in plan order, so
it does not depend on the number of workers nor on the order of completion.

Failures are kept apart: an exception raised by the user's function is a
*failed run* (recorded on the worker, the sweep goes on); a worker that dies
while running a task is the cluster's failure, and the task is submitted
again up to ``retries`` times before the run is recorded as failed.

Only the run that was executing when its worker died is charged an attempt.
Dask cannot tell: it marks every task the dead worker had been given as
suspicious, also those only queued behind the one that killed it (measured:
one worker of one thread, runs [killer, innocent]: both came back as
``KilledWorker`` with ``allowed-failures`` = 0). So each worker announces
the task it starts (`worker.announce_start`, a round trip to the scheduler
before the function runs), and a ``KilledWorker`` whose task had not been
announced by its last worker is resubmitted without charge, at most
``FREE_RESUBMISSIONS`` times (a worker that dies before it can announce,
e.g. while unpickling, would otherwise loop).
"""

import functools
import inspect
import itertools
import uuid
from dataclasses import dataclass

import numpy as np

from .cluster import Connection
from .seeds import canonical_value, run_key, run_seed

__all__ = ["sweep", "SweepInterrupted", "Run", "parameter_sets", "check_function", "plan_runs"]

_COMPANIONS = ("dask", "distributed", "pandas", "xarray", "cloudpickle")


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the runs not yet finished were cancelled.
    ``result`` is a `SweepResult` of the runs that finished (all of them are
    in the store, if there is one)."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Run:
    """One run of a sweep: a parameter set and a repeat, with its seed and key."""

    index: int
    params: dict
    repeat: int
    seed: int
    key: str


def require_dask():
    """Import the optional dependencies, or say how to install them."""
    for name in _COMPANIONS:
        try:
            __import__(name)
        except ImportError as exc:
            raise ImportError(
                f"brian2cppyy.sweep needs Dask and its companions ({', '.join(_COMPANIONS)}); "
                f"'{name}' is missing. Install them with: pip install 'brian2cppyy[sweep]'"
            ) from exc


def _function_name(function):
    target = function.func if isinstance(function, functools.partial) else function
    return getattr(target, "__qualname__", None) or type(target).__name__


def _full_name(function):
    target = function.func if isinstance(function, functools.partial) else function
    return f"{getattr(target, '__module__', None) or '?'}.{_function_name(function)}"


def parameter_sets(params):
    """``(names, sets)``: the parameter names and the list of parameter dicts
    of ``params``, a dict of lists (its Cartesian grid, the first name
    varying slowest) or a list of dicts (exactly those sets)."""
    from .result import RESERVED_COLUMNS

    if isinstance(params, dict):
        if not params:
            raise ValueError("sweep: the grid is empty (params is an empty dict)")
        for name, values in params.items():
            if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
                raise TypeError(f"sweep: params['{name}'] must be a list of values, not "
                                f"{values!r}; write [{values!r}] for a single value")
        values = {name: list(v) for name, v in params.items()}
        for name, v in values.items():
            if not v:
                raise ValueError(f"sweep: the grid is empty: params['{name}'] has no values")
        names = list(values)
        sets = [dict(zip(names, combination))
                for combination in itertools.product(*values.values())]
    elif isinstance(params, (list, tuple)):
        if not params:
            raise ValueError("sweep: the grid is empty (params is an empty list)")
        for i, p in enumerate(params):
            if not isinstance(p, dict):
                raise TypeError(f"sweep: params[{i}] is a {type(p).__name__}, not a dict "
                                "of parameter values")
        names = list(params[0])
        for i, p in enumerate(params):
            if set(p) != set(names):
                raise ValueError(f"sweep: params[{i}] has the parameters {sorted(p)}, params[0] "
                                 f"has {sorted(names)}; every set must name the same parameters")
        sets = [dict(p) for p in params]
    else:
        raise TypeError("sweep: params must be a dict of lists (a grid) or a list of dicts "
                        f"(parameter sets), not a {type(params).__name__}")
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"sweep: the parameter name {name!r} is not a valid keyword")
        if name in RESERVED_COLUMNS:
            raise ValueError(f"sweep: a parameter cannot be called '{name}' (a column of the "
                             "result table has that name)")
    seen = {}
    for i, p in enumerate(sets):
        identity = tuple(repr(canonical_value(n, p[n])) for n in names)
        if identity in seen:
            raise ValueError(f"sweep: the parameter set {p} appears twice (sets {seen[identity]} "
                             f"and {i}); use repeats= for repeated trials")
        seen[identity] = i
    return names, sets


def _check_keywords(function, names):
    name = _function_name(function)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    parameters = signature.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    accepted = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [n for n in names if n not in accepted]
    if unknown:
        raise TypeError(f"sweep: {name}() has no parameter {', '.join(map(repr, unknown))} "
                        f"(its parameters: {', '.join(accepted) or 'none'})")
    missing = [p.name for p in parameters if p.default is p.empty and p.name not in names
               and p.kind is not p.VAR_POSITIONAL]
    if missing:
        raise TypeError(f"sweep: {name}() needs {', '.join(map(repr, missing))}, which params "
                        "does not give")


def _captured(function):
    """(name, value) of what ``function`` takes from outside: closure
    variables, the globals it names, defaults and a partial's arguments."""
    if isinstance(function, functools.partial):
        for i, value in enumerate(function.args):
            yield f"partial argument {i}", value
        yield from ((f"partial argument {k}", v) for k, v in function.keywords.items())
        function = function.func
    if inspect.ismethod(function):
        yield "self", function.__self__
        function = function.__func__
    if not inspect.isfunction(function):
        return
    closure = inspect.getclosurevars(function)
    yield from closure.nonlocals.items()
    yield from closure.globals.items()
    yield from ((f"default of {k}", v) for k, v in
                zip(reversed(function.__code__.co_varnames[:function.__code__.co_argcount]),
                    reversed(function.__defaults__ or ())))
    yield from ((f"default of {k}", v) for k, v in (function.__kwdefaults__ or {}).items())


def _brian_objects(value):
    import brian2
    from brian2.core.names import Nameable

    if isinstance(value, Nameable) and value is not brian2.defaultclock:
        yield value
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _brian_objects(item) if isinstance(item, Nameable) else ()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _brian_objects(item) if isinstance(item, Nameable) else ()


def check_function(function, names):
    """Refuse, before anything runs, a function that cannot be a sweep's:
    not callable, parameter names it does not take, Brian2 objects built
    outside it (each run must build its own), or not picklable."""
    if not callable(function):
        raise TypeError(f"sweep: function must be callable, not a {type(function).__name__}")
    name = _function_name(function)
    _check_keywords(function, names)
    for variable, value in _captured(function):
        for obj in _brian_objects(value):
            raise TypeError(
                f"sweep: {name}() uses '{variable}', a Brian2 {type(obj).__name__} "
                f"('{obj.name}') built outside it. Each run must build its own model: create "
                "every Brian2 object inside the function, after start_scope()")
    import cloudpickle

    try:
        cloudpickle.dumps(function)
    except Exception as exc:
        raise TypeError(f"sweep: {name}() cannot be sent to the workers: pickling it fails "
                        f"({type(exc).__name__}: {exc}). Define it at the top level of a "
                        "module or script, and let it build what it needs itself") from exc


def plan_runs(names, sets, repeats, seed):
    """The runs of the sweep in table order: each set, then each repeat."""
    return [Run(index, params, repeat, run_seed(params, repeat, seed),
                run_key(params, repeat, seed))
            for index, (params, repeat) in enumerate(
                (p, r) for p in sets for r in range(repeats))]


def _check_numbers(repeats, seed, retries, n_workers):
    for label, value, low in (("repeats", repeats, 1), ("retries", retries, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"sweep: {label} must be an integer >= {low}, not {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"sweep: seed must be an integer >= 0, not {seed!r}")
    if n_workers is not None and (not isinstance(n_workers, (int, np.integer)) or n_workers < 1):
        raise ValueError(f"sweep: n_workers must be an integer >= 1, not {n_workers!r}")


def sweep(function, params, *, repeats=1, seed=0, client=None, n_workers=None,
          store=None, resume=True, retries=0, progress=True):
    """Run ``function(**p)`` for every parameter set ``p`` of ``params`` and
    every repeat, on Dask workers; returns a `SweepResult`.

    ``function`` builds and runs one simulation (starting with
    ``start_scope()``) and returns a dict of scalars and numpy arrays.
    ``params`` is a dict of lists (their Cartesian grid) or a list of dicts.
    Each run starts with ``seed()`` of a value derived from ``seed``, its
    parameter values and its repeat number, so results do not depend on
    how runs are spread over workers; ``codegen.target`` is ``'cppyy'``
    unless the function sets another.

    ``client``: None starts a LocalCluster of ``n_workers`` processes (the
    number of cores by default; on Linux forked from this process, with its
    preferences: see `cluster`) and closes it at the end; a
    ``distributed.Client`` or a scheduler address uses that cluster.
    ``store``: a directory where each finished run is written at once; with
    ``resume`` (the default), runs already there are not run again.
    ``retries``: how many times a run is resubmitted when its worker dies.
    ``progress``: a progress bar on standard error and a summary at the end.
    Ctrl-C cancels the runs not finished and raises `SweepInterrupted`
    (a KeyboardInterrupt) that carries the result of the finished ones.
    """
    require_dask()
    from .result import SweepResult
    from .store import RunStore

    _check_numbers(repeats, seed, retries, n_workers)
    if n_workers is not None and client is not None:
        raise ValueError("sweep: n_workers is for the embedded cluster (client=None); an "
                         "existing cluster keeps its own workers")
    names, sets = parameter_sets(params)
    check_function(function, names)
    runs = plan_runs(names, sets, int(repeats), int(seed))
    run_store = RunStore(store, _full_name(function)) if store is not None else None
    records = _stored_records(run_store, runs) if (run_store is not None and resume) else {}
    executor = _Executor(function, runs, records, run_store, int(retries), progress)
    try:
        executor.run(client, n_workers)
    except KeyboardInterrupt:
        finished = [run for run in runs if run.index in records]
        result = SweepResult(names, finished, [records[r.index] for r in finished],
                             executor.summary())
        raise SweepInterrupted(f"sweep interrupted: {executor.summary()}", result) from None
    return SweepResult(names, runs, [records[r.index] for r in runs], executor.summary())


def _stored_records(run_store, runs):
    keys = run_store.keys()
    records = {}
    for run in runs:
        if run.key in keys:
            record = run_store.load(run.key)
            if record is not None:
                records[run.index] = dict(record, from_store=True)
    return records


class _Executor:
    """Submits the runs that are not in ``records`` yet, collects them into
    ``records`` (and the store) as they finish, resubmits the runs whose
    worker died, and keeps the progress bar up to date."""

    POLL_SECONDS = 0.1

    def __init__(self, function, runs, records, run_store, retries, progress):
        import cloudpickle

        from .progress import ProgressBar

        self.function_bytes = cloudpickle.dumps(function)
        self.runs, self.records, self.store, self.retries = runs, records, run_store, retries
        self.reused = len(records)
        self.pending = [run for run in runs if run.index not in records]
        self.bar = ProgressBar(len(runs), self.reused, enabled=progress)
        self.token = uuid.uuid4().hex[:12]
        self.workers = 0
        self.done = self.failed = 0
        self.interrupted = False

    def run(self, client, n_workers):
        if not self.pending:
            self.bar.close(self.summary())
            return
        connection = Connection(client, n_workers)
        futures = []
        try:
            from .worker import SweepWorkerPlugin

            connection.client.register_plugin(SweepWorkerPlugin(connection.preferences))
            self.workers = connection.workers()
            self.bar.update(force=True)
            self._collect(connection.client, futures)
        except KeyboardInterrupt:
            self.interrupted = True
            connection.client.cancel([f for f in futures if not f.done()])
            raise
        finally:
            connection.close()
            self.bar.close(self.summary())

    def _submit(self, client, run, attempt, free):
        from .worker import run_pickled

        return client.submit(run_pickled, self.function_bytes, run.params, run.seed,
                             key=f"brian2cppyy-sweep-{self.token}-{run.index}-{attempt}-{free}",
                             pure=False)

    def _collect(self, client, futures):
        import time

        from distributed import as_completed

        which = {}  # key -> (run, attempts charged before this one, free resubmissions)
        for run in self.pending:
            future = self._submit(client, run, 0, 0)
            which[future.key] = (run, 0, 0)
            futures.append(future)
        completed = as_completed(futures)
        while not completed.is_empty():
            batch = completed.next_batch(block=False) if completed.has_ready() else []
            if not batch:
                self.bar.update()
                time.sleep(self.POLL_SECONDS)
                continue
            for future in batch:
                if future.status not in ("finished", "error", "cancelled"):
                    # finished, then lost with its worker before we took the result:
                    # Dask computes it again (measured: status 'lost', then 'finished')
                    completed.add(future)
                    continue
                run, attempt, free = which.pop(future.key)
                if future.status == "finished":
                    self._finish(run, future.result())
                else:
                    again = self._charge(future, run, attempt, free)
                    if again is not None:
                        retry = self._submit(client, run, *again)
                        which[retry.key] = (run, *again)
                        futures.append(retry)
                        completed.add(retry)
                future.release()
            self.bar.update(self.done, self.failed)

    def _charge(self, future, run, attempt, free):
        """``(attempt, free)`` of the resubmission of a run whose task failed
        outside the function, or None once the run is recorded as failed."""
        from distributed.scheduler import KilledWorker

        try:
            error = future.exception()
        except Exception as exc:  # e.g. cancelled by someone else
            error = exc
        if isinstance(error, KilledWorker):
            if free < FREE_RESUBMISSIONS and not _was_started(future.client, future.key, error):
                return attempt, free + 1  # only queued on the dead worker: not charged
            if attempt < self.retries:
                return attempt + 1, free
        self._finish(run, _lost_run(error, attempt))
        return None

    def _finish(self, run, record):
        # stored first: a Ctrl-C in between leaves a stored run that the
        # partial result lacks (reused on resume), never the reverse
        if record["status"] == "ok" and self.store is not None:
            self.store.save(run.key, dict(record, params=run.params, repeat=run.repeat,
                                          seed=run.seed, key=run.key))
        self.records[run.index] = dict(record, from_store=False)
        self.done += 1
        if record["status"] != "ok":
            self.failed += 1

    def summary(self):
        from .progress import format_seconds

        ok = sum(r["status"] == "ok" for r in self.records.values())
        failed = len(self.records) - ok
        parts = [f"{len(self.records)} of {len(self.runs)} runs finished" if self.interrupted
                 else f"{len(self.runs)} runs", f"{ok} ok, {failed} failed"]
        parts.append(f"{self.done} run in {format_seconds(self.bar.elapsed())}"
                     + (f" on {self.workers} workers" if self.workers else ""))
        if self.reused:
            parts.append(f"{self.reused} from the store")
        return "sweep: " + "; ".join(parts)


#: how many times a run lost with a dead worker that had not started it is
#: resubmitted without charge (Dask's default ``allowed-failures``)
FREE_RESUBMISSIONS = 3


def _was_started(client, key, error):
    """Whether the task ``key`` had started on the worker whose death failed
    it (``error``, a ``KilledWorker``): its announcement is among the recent
    ones of that worker (`worker.announce_start`)."""
    from .worker import started_topic

    events = client.get_events(started_topic(error.last_worker.address))
    return any(message == key for _, message in events)


def _lost_run(error, attempt):
    """The record of a run whose task failed outside the function."""
    from distributed.scheduler import KilledWorker

    if isinstance(error, KilledWorker):
        what = f"the worker died while running it ({attempt + 1} attempt" + \
               ("s)" if attempt else ")")
    else:
        what = "its task failed outside the function"
    return {"status": "failed", "error": f"{what}: {type(error).__name__}: {error}",
            "traceback": "", "scalars": {}, "arrays": {}, "units": {}, "wall_s": np.nan,
            "worker": ""}
