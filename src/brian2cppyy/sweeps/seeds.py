"""Run identity: the canonical form of a parameter set, the key of a run and
its random seed.

A run is one (parameter set, repeat) pair of a sweep. Everything that must
not depend on how a sweep was split across workers - which runs the store
already holds, and the ``seed()`` a run starts from - is derived here from
the run's values alone: a SHA-256 hash of a canonical JSON text of the base
seed, the parameter values (sorted by name) and the repeat number. The same
run therefore gets the same key and seed in every sweep, on every machine,
whatever the order in which runs are submitted or finish; repeats of one
parameter set get different seeds, i.e. independent trials.
"""

import hashlib
import json
import numbers

import numpy as np

__all__ = ["canonical_value", "run_key", "run_seed"]


def canonical_value(name, value):
    """A JSON-able form of one parameter value that identifies it exactly.

    Numbers keep their type (``1`` and ``1.0`` are different values, as they
    are for the model) and floats their full precision (``repr``); Brian2
    quantities become their value in SI units and their dimensions. Anything
    else is refused with a `TypeError` naming the parameter."""
    from brian2.units.fundamentalunits import Quantity

    if value is None or isinstance(value, (bool, np.bool_, str)):
        return value if not isinstance(value, np.bool_) else bool(value)
    if isinstance(value, Quantity):
        array = np.asarray(value)
        if array.ndim != 0:
            raise TypeError(f"sweep: parameter '{name}' has the value {value!r}, an array; "
                            "each parameter value must be a single number, string, "
                            "boolean, None or Brian2 quantity")
        return {"quantity": repr(float(array)), "dimensions": repr(value.dim)}
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return {"float": repr(float(value))}
    raise TypeError(f"sweep: parameter '{name}' has the value {value!r} of type "
                    f"{type(value).__name__}; each parameter value must be a number, "
                    "string, boolean, None or a Brian2 quantity")


def _identity(params, repeat, seed):
    canonical = {name: canonical_value(name, value) for name, value in params.items()}
    return json.dumps({"params": canonical, "repeat": int(repeat), "seed": int(seed)},
                      sort_keys=True, separators=(",", ":"))


def run_key(params, repeat, seed):
    """The store key of a run: 32 hex digits of the SHA-256 of its identity."""
    return hashlib.sha256(("key|" + _identity(params, repeat, seed)).encode()).hexdigest()[:32]


def run_seed(params, repeat, seed):
    """The seed a run passes to ``brian2.seed()``: 32 bits of the SHA-256 of
    its identity (numpy's legacy seeding, which Brian2 uses, takes < 2**32)."""
    digest = hashlib.sha256(("seed|" + _identity(params, repeat, seed)).encode()).digest()
    return int.from_bytes(digest[:4], "little")
