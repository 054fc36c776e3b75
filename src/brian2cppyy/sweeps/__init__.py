"""Parameter sweeps on Dask with compile-once workers (``brian2cppyy.sweep``).

Modules, one concept each: `api` (the `sweep` function), `plan` (the runs
and the checks of ``params``), `user_function` (the checks of the function
and its pickle), `executor` (the loop over Dask futures and the retries),
`cluster` (the Dask connection, and the local cluster that `sweep` starts,
its workers forked from the caller), `seeds` (a run's key and seed from its
values), `record` (`RunRecord`, a run's outcome and its table columns),
`store` (atomic on-disk records of finished runs), `worker` (the worker
plugin and the wrapper that runs one simulation), `result` (`SweepResult`),
`progress` (the progress bar). Dask, pandas and xarray are imported only
when a sweep runs (optional extra ``brian2cppyy[sweep]``).
"""

from .api import SweepInterrupted, sweep
from .result import SweepResult

__all__ = ["sweep", "SweepResult", "SweepInterrupted"]
