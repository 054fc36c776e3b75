"""The plan of a sweep, made on the client before anything is submitted:
the parameter sets of ``params`` (`parameter_sets`, every check of them
included) and the runs (parameter set x repeat) in table order, each with
the key and seed derived from its values alone (`seeds`).
"""

import itertools
from dataclasses import dataclass

import numpy as np

from .record import RESERVED_COLUMNS
from .seeds import canonical_value, run_key, run_seed

__all__ = ["Run", "parameter_sets", "plan_runs", "check_numbers"]


@dataclass(frozen=True)
class Run:
    """One run of a sweep: a parameter set and a repeat, with its seed and key."""

    index: int
    params: dict
    repeat: int
    seed: int
    key: str


def parameter_sets(params):
    """``(names, sets)``: the parameter names and the list of parameter dicts
    of ``params``, a dict of lists (its Cartesian grid, the first name
    varying slowest) or a list of dicts (exactly those sets)."""
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


def plan_runs(names, sets, repeats, seed):
    """The runs of the sweep in table order: each set, then each repeat."""
    return [Run(index, params, repeat, run_seed(params, repeat, seed),
                run_key(params, repeat, seed))
            for index, (params, repeat) in enumerate(
                (p, r) for p in sets for r in range(repeats))]


def check_numbers(repeats, seed, retries, n_workers):
    """Refuse repeats, seeds, retries and worker counts that are not
    integers in range."""
    for label, value, low in (("repeats", repeats, 1), ("retries", retries, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"sweep: {label} must be an integer >= {low}, not {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"sweep: seed must be an integer >= 0, not {seed!r}")
    if n_workers is not None and (not isinstance(n_workers, (int, np.integer)) or n_workers < 1):
        raise ValueError(f"sweep: n_workers must be an integer >= 1, not {n_workers!r}")
