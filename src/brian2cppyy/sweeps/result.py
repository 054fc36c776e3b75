"""`SweepResult`: the outcome of a sweep as a table, per-run arrays and an
``xarray.Dataset`` over the parameter grid."""

import warnings

import numpy as np

from .record import RESERVED_COLUMNS

__all__ = ["SweepResult"]


def _plain(value):
    """A parameter value as a coordinate: Brian2 quantities in SI units."""
    from brian2.units.fundamentalunits import Quantity

    if isinstance(value, Quantity):
        return float(np.asarray(value))
    return value.item() if isinstance(value, np.generic) else value


class SweepResult:
    """The runs of a sweep, one per (parameter set, repeat), in grid order.

    ``table`` is a pandas DataFrame with one row per run: the parameter
    columns, ``repeat``, ``seed``, ``status`` (``'ok'`` or ``'failed'``),
    ``error``, ``wall_s``, ``worker``, ``from_store`` and one column per
    scalar output. Array outputs are in `arrays`; `to_xarray` puts both on
    the grid. ``units`` names the unit of outputs that were Brian2
    quantities (their values are in SI units). ``summary`` is the one-line
    summary printed at the end of the sweep."""

    def __init__(self, param_names, runs, records, summary=""):
        # runs: the `plan.Run` of each row; records: their `record.RunRecord`
        self.param_names = list(param_names)
        self._runs = runs
        self._records = records
        self.summary = summary
        self.units = {}
        for record in records:
            self.units.update(record.units)
        self.table = self._make_table()

    def _output_names(self, kind):
        names = {}
        for record in self._records:
            names.update(dict.fromkeys(getattr(record, kind)))
        return list(names)

    def _make_table(self):
        import pandas as pd

        rows = [record.row(run) for run, record in zip(self._runs, self._records)]
        columns = self.param_names + list(RESERVED_COLUMNS) + self._output_names("scalars")
        return pd.DataFrame(rows, columns=columns)

    @property
    def array_names(self):
        """The names of the array outputs."""
        return self._output_names("arrays")

    def arrays(self, name):
        """The array output ``name`` of every run, as a list aligned with the
        rows of ``table`` (None for runs without it, e.g. failed ones)."""
        if name not in self.array_names:
            raise KeyError(f"no array output '{name}'; the array outputs are "
                           f"{', '.join(self.array_names) or 'none'}")
        return [record.arrays.get(name) for record in self._records]

    def _grid(self):
        coords = {name: list(dict.fromkeys(_plain(run.params[name]) for run in self._runs))
                  for name in self.param_names}
        coords["repeat"] = sorted({run.repeat for run in self._runs})
        position = {name: {value: i for i, value in enumerate(values)}
                    for name, values in coords.items()}
        cells = [tuple(position[name][_plain(run.params[name])] for name in self.param_names)
                 + (position["repeat"][run.repeat],) for run in self._runs]
        return coords, cells

    def _attributes(self, name):
        return {"units": self.units[name]} if name in self.units else {}

    @staticmethod
    def _filled(shape, values):
        kinds = {np.asarray(v).dtype.kind for v in values if v is not None}
        if kinds <= set("biuf"):
            return np.full(shape, np.nan)
        if kinds <= set("biufc"):
            return np.full(shape, np.nan, dtype=complex)
        return np.full(shape, None, dtype=object)

    def to_xarray(self):
        """An ``xarray.Dataset`` over the grid: dimensions are the parameters
        (coordinates: their values in order of first appearance, quantities in
        SI units) and ``repeat``; a variable per scalar output, ``status``,
        and a variable per array output whose shape is the same in every run
        (its own dimensions are ``<name>_dim_0``, ...). Missing cells (failed
        runs, or a list of parameter sets that is not a full grid) are NaN.
        Array outputs whose shapes differ between runs are left out, with a
        warning: `arrays` gives them."""
        import xarray as xr

        coords, cells = self._grid()
        dims = tuple(coords)
        shape = tuple(len(coords[d]) for d in dims)
        variables = {}
        for name in ["status"] + self._output_names("scalars"):
            values = ([r.status for r in self._records] if name == "status" else
                      [r.scalars.get(name) for r in self._records])
            data = self._filled(shape, values) if name != "status" else np.full(shape, None, object)
            for cell, value in zip(cells, values):
                if value is not None:
                    data[cell] = value
            variables[name] = (dims, data, self._attributes(name))
        for name in self.array_names:
            values = self.arrays(name)
            shapes = {v.shape for v in values if v is not None}
            if len(shapes) != 1:
                warnings.warn(f"SweepResult.to_xarray: the array output '{name}' has different "
                              f"shapes in different runs ({sorted(shapes)}), so it is left out; "
                              f"use SweepResult.arrays('{name}')", stacklevel=2)
                continue
            (item_shape,) = shapes
            data = self._filled(shape + item_shape, values)
            for cell, value in zip(cells, values):
                if value is not None:
                    data[cell] = value
            item_dims = tuple(f"{name}_dim_{k}" for k in range(len(item_shape)))
            variables[name] = (dims + item_dims, data, self._attributes(name))
        return xr.Dataset(variables, coords=coords)

    @property
    def failed(self):
        """The rows of ``table`` whose run failed."""
        return self.table[self.table["status"] != "ok"]

    def __len__(self):
        return len(self._runs)

    def __repr__(self):
        return f"<SweepResult: {self.summary or f'{len(self)} runs'}>"
