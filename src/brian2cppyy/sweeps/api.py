"""`sweep`: run one simulation function over a parameter grid on Dask.

The plan is made on the client, before anything is submitted: the grid's
runs (parameter set x repeat) in a fixed order, each with the key and seed
derived from its values alone (`seeds`), and every check of the user's input
(`user_function.check_function`, `plan.parameter_sets`). Runs that the store already holds are
taken from it; the others go to Dask as one task each, and each finished run
is written to the store as it arrives. The table is built in plan order, so
it does not depend on the number of workers nor on the order of completion.

Modules: `plan` (the runs), `user_function` (its checks and its pickle),
`executor` (the loop over Dask futures, retries), `record` (`RunRecord`),
`store`, `result`.
"""

from .plan import check_numbers, parameter_sets, plan_runs
from .user_function import check_function, full_name, pickle_function

__all__ = ["sweep", "SweepInterrupted"]

_COMPANIONS = ("dask", "distributed", "pandas", "xarray", "cloudpickle")


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the runs not yet finished were cancelled.
    ``result`` is a `SweepResult` of the runs that finished (all of them are
    in the store, if there is one)."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


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
    from .executor import Executor
    from .result import SweepResult
    from .store import RunStore

    check_numbers(repeats, seed, retries, n_workers)
    if n_workers is not None and client is not None:
        raise ValueError("sweep: n_workers is for the embedded cluster (client=None); an "
                         "existing cluster keeps its own workers")
    names, sets = parameter_sets(params)
    check_function(function, names)
    function_bytes = pickle_function(function)
    runs = plan_runs(names, sets, int(repeats), int(seed))
    run_store = RunStore(store, full_name(function)) if store is not None else None
    records = _stored_records(run_store, runs) if (run_store is not None and resume) else {}
    executor = Executor(function_bytes, runs, records, run_store, int(retries), progress)
    try:
        executor.run(client, n_workers)
    except KeyboardInterrupt:
        finished = [run for run in runs if run.index in records]
        result = SweepResult(names, finished, [records[r.index] for r in finished],
                             executor.summary())
        raise SweepInterrupted(f"sweep interrupted: {executor.summary()}", result) from None
    return SweepResult(names, runs, [records[r.index] for r in runs], executor.summary())


def _stored_records(run_store, runs):
    """``{run index: RunRecord}`` of the runs that the store holds."""
    keys = run_store.keys()
    records = {}
    for run in runs:
        if run.key in keys:
            record = run_store.load(run.key)
            if record is not None:
                records[run.index] = record.taken_from_store()
    return records
