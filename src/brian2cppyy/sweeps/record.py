"""The record of one run of a sweep (`RunRecord`): its outcome, its outputs
split into scalars, arrays and units (`split_outputs`), and the columns of
the result table that it fills next to the parameters and the outputs
(`RESERVED_COLUMNS`, which neither a parameter nor an output may be named).

A record is made on the worker that ran the function (`worker.run_one`), or
on the client for a run that failed outside it (its worker died, its
function could not be loaded); the store keeps the records of finished runs.
"""

import dataclasses
from dataclasses import dataclass, field

import numpy as np

__all__ = ["RunRecord", "RESERVED_COLUMNS", "split_outputs", "describe_error"]

#: the columns a record fills, in table order (after ``repeat`` and ``seed``,
#: which come from the run)
_RECORD_COLUMNS = ("status", "error", "wall_s", "worker", "from_store")
#: the table's columns besides parameters and outputs (neither may take these names)
RESERVED_COLUMNS = ("repeat", "seed") + _RECORD_COLUMNS


@dataclass
class RunRecord:
    """The outcome of one run. ``status`` is ``'ok'`` or ``'failed'``;
    ``error`` (the exception and its causes) and ``traceback`` say why a run
    failed; ``wall_s`` is the run's wall time (NaN if it never ran),
    ``worker`` the Dask worker's address; ``scalars``, ``arrays`` and
    ``units`` are the function's outputs (`split_outputs`); ``from_store``:
    taken from the store instead of run."""

    status: str = "failed"
    error: str = ""
    traceback: str = ""
    wall_s: float = float("nan")
    worker: str = ""
    scalars: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    from_store: bool = False

    @property
    def ok(self):
        return self.status == "ok"

    def row(self, run):
        """The table row of this record for ``run`` (a `plan.Run`): the
        parameters, `RESERVED_COLUMNS` and the scalar outputs."""
        row = dict(run.params, repeat=run.repeat, seed=run.seed)
        row.update((name, getattr(self, name)) for name in _RECORD_COLUMNS)
        row.update(self.scalars)
        return row

    def taken_from_store(self):
        return dataclasses.replace(self, from_store=True)


def describe_error(exc):
    """``'Type: message'`` of an exception and of its causes (Brian2 wraps the
    error of a model in a ``BrianObjectException`` whose message names the
    object; the cause says what went wrong)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {str(exc).strip()}")
        exc = exc.__cause__ or (exc.__context__ if not exc.__suppress_context__ else None)
    return "\n  caused by ".join(parts)


def _describe(name, value):
    """``(kind, value, unit)`` of one output: ``'scalar'`` or ``'array'``, the
    value in SI units, the name of its unit (None without one)."""
    from brian2.units.fundamentalunits import Quantity, get_unit

    unit = None
    if isinstance(value, Quantity):
        unit = str(get_unit(value.dim)) if not value.is_dimensionless else None
        value = np.asarray(value)
    if isinstance(value, (bool, int, float, complex, str, np.generic)):
        return "scalar", value.item() if isinstance(value, np.generic) else value, unit
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"the output '{name}' is an array of Python objects; return "
                            "numbers (numpy arrays of a numeric dtype)")
        if value.ndim == 0:
            return "scalar", value.item(), unit
        return "array", np.array(value), unit
    raise TypeError(f"the output '{name}' is a {type(value).__name__}; a sweep's function "
                    "must return scalars (numbers, booleans, strings) and numpy arrays")


def split_outputs(outputs, param_names):
    """``(scalars, arrays, units)`` of what a run's function returned, or a
    `TypeError` that says what is wrong with it. Brian2 quantities become
    numbers in SI units; ``units`` names the unit of each that had one."""
    if not isinstance(outputs, dict):
        raise TypeError(f"the function returned a {type(outputs).__name__}, not a dict of "
                        "outputs (scalars and numpy arrays)")
    scalars, arrays, units = {}, {}, {}
    for name, value in outputs.items():
        if not isinstance(name, str):
            raise TypeError(f"the output name {name!r} is not a string")
        if name in RESERVED_COLUMNS or name in param_names:
            raise TypeError(f"the output '{name}' has the name of a "
                            f"{'table column' if name in RESERVED_COLUMNS else 'parameter'}; "
                            "rename it")
        kind, value, unit = _describe(name, value)
        (scalars if kind == "scalar" else arrays)[name] = value
        if unit is not None:
            units[name] = unit
    return scalars, arrays, units
