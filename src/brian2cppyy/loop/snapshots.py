"""Snapshots of values: two snapshots compare equal only if the values they
were taken of are the same (`run_reuse` compares a code object's inputs
between two runs with them).

Plain data is kept by value, so that a later change in place is seen: numbers
(floats by their ``repr``, so that ``-0.0`` differs from ``0.0`` and a NaN
equals itself), strings, ``None``, numpy dtypes, small numpy arrays and
scalars (dtype, shape, unit and bytes) and lists, tuples, dicts and sets of
these. Everything else is kept by identity (`Identity`): two snapshots of it
are equal only if they hold the same object. A large array compares unequal
to everything (copying it for every comparison would cost more than what a
comparison saves).
"""

import numpy as np

__all__ = ["Identity", "snapshot"]

#: arrays up to this size are compared by value, larger ones never equal
MAX_ARRAY_BYTES = 4096
#: containers nested deeper than this never compare equal
MAX_DEPTH = 16

_BY_VALUE = (bool, int, str, bytes, complex, type(None))


class Identity:
    """Equal to another `Identity` of the same object (holds the object)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return type(other) is Identity and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)

    def __repr__(self):
        return f"Identity({type(self.obj).__name__} at {id(self.obj):#x})"


class _Unequal:
    """Equal to nothing (a value too large or too deep to compare)."""

    __slots__ = ()

    def __eq__(self, other):
        return False

    def __hash__(self):
        return id(self)


def snapshot(value, depth=0):
    """A hashable snapshot of ``value`` (see the module docstring)."""
    if depth > MAX_DEPTH:
        return _Unequal()
    kind = type(value)
    if kind is Identity:
        return value
    if kind in _BY_VALUE:
        return (kind, value)
    if kind is float:
        return (float, repr(value))
    if isinstance(value, (np.ndarray, np.generic)):
        return _array(value)
    if isinstance(value, np.dtype):
        return (np.dtype, value.str)
    if isinstance(value, (list, tuple)):
        return (kind, tuple(snapshot(item, depth + 1) for item in value))
    if isinstance(value, dict):
        return (kind, tuple((snapshot(key, depth + 1), snapshot(item, depth + 1))
                            for key, item in value.items()))
    if isinstance(value, (set, frozenset)):
        return (kind, frozenset(snapshot(item, depth + 1) for item in value))
    return Identity(value)


def _array(value):
    if value.nbytes > MAX_ARRAY_BYTES or value.dtype.hasobject:
        return _Unequal()
    return (type(value), value.dtype.str, value.shape, getattr(value, "dim", None),
            np.ascontiguousarray(value).tobytes())
