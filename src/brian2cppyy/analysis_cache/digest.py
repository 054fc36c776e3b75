"""Stable digests of Brian2's analysis inputs: the keys of the analysis cache.

Brian2 remembers its analyses in memory (``brian2/utils/caching.py`` of
Brian2 2.11: ``cached``), keyed by ``_hashable`` of the arguments, where a `Variable` or
`SingleEquation` stands for its ``_state_tuple`` (its attributes but the
``_cache_irrelevant_attributes``, e.g. the owner). An on-disk key has to mean
the same in every process, so `digest` follows the same rules but writes a
canonical *text* (JSON of tagged plain values) and hashes it with SHA-256:

* objects with a ``_state_tuple`` (Brian2's ``CacheKey``) become their class
  (module and name) and the *named* attributes Brian2 keys on (all but its
  ``_cache_irrelevant_attributes``), so the key is finer than Brian2's;
* numbers keep their type and their exact ``repr``; dimensions their
  exponents; dtypes their ``numpy.dtype(...).str``; sympy objects ``srepr``;
* a `Function` counts only if it is Brian2's own default function of that
  name (``DEFAULT_FUNCTIONS``), a device only by its class.

Anything else -- a user's `Function` or `TimedArray`, a class defined
outside Brian2 and brian2cppyy, an array, an unknown type -- raises
`Undigestible`: the caller then computes without the cache (never a wrong
hit). `environment_fingerprint` adds what the inputs do not show: the
versions of Brian2, sympy, numpy, Python, brian2cppyy, the cache's schema and
the source of the Brian2 modules that derive state updaters (so that an
edited Brian2 checkout with an unchanged version number does not hit).
"""

import hashlib
import json
import numbers
import os
import sys

__all__ = ["Undigestible", "digest", "canonical", "environment_fingerprint", "SCHEMA_VERSION"]

#: bump when the meaning of a stored value changes
SCHEMA_VERSION = 1

#: classes whose ``_state_tuple`` is trusted come from these packages
_TRUSTED_PACKAGES = ("brian2", "brian2cppyy")

#: Brian2 sub-packages whose source decides what a state updater returns
_BRIAN2_ANALYSIS_SOURCES = ("stateupdaters", "parsing", "equations")

#: deep enough for any model (variables nest at most a few levels)
_MAX_DEPTH = 32


class Undigestible(Exception):
    """An argument has no stable canonical text: do not cache this call."""


def digest(*parts):
    """SHA-256 (hex) of the canonical text of ``parts``; raises `Undigestible`."""
    text = json.dumps(canonical(list(parts)), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def canonical(value, depth=0):
    """``value`` as nested lists of tagged plain values (see the module docstring)."""
    if depth > _MAX_DEPTH:
        raise Undigestible("nested too deeply")
    for kind, convert in _CONVERTERS:
        if kind(value):
            return convert(value, depth + 1)
    raise Undigestible(f"no stable text for an object of type {_qualified_name(type(value))}")


def _qualified_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _trusted(cls):
    return cls.__module__.split(".")[0] in _TRUSTED_PACKAGES


def _is_scalar_quantity(value):
    return hasattr(value, "dim") and getattr(value, "shape", None) == () and hasattr(value, "dtype")


def _number(value, depth):
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, numbers.Integral):
        return ["int", int(value)]
    if isinstance(value, numbers.Real):
        return ["float", repr(float(value))]
    if isinstance(value, numbers.Complex):
        return ["complex", repr(complex(value))]
    raise Undigestible(f"an unknown number type {_qualified_name(type(value))}")


def _numpy_scalar(value, depth):
    return ["np", value.dtype.str, repr(value.item())]


def _dimension(value, depth):
    from ..brian2_compat import dimension_exponents

    return ["dim", [repr(float(x)) for x in dimension_exponents(value)]]


def _dtype(value, depth):
    import numpy as np

    return ["dtype", np.dtype(value).str]


def _is_dtype_like(value):
    import numpy as np

    if isinstance(value, np.dtype):
        return True
    return isinstance(value, type) and (
        value in (bool, int, float, complex) or issubclass(value, np.generic)
    )


def _sympy(value, depth):
    import sympy

    return ["sympy", sympy.srepr(value)]


def _function(value, depth):
    from brian2.core.functions import DEFAULT_FUNCTIONS

    for name, default in DEFAULT_FUNCTIONS.items():
        if value is default:
            return ["function", name]
    raise Undigestible(f"a user-defined function ({_qualified_name(type(value))})")


def _device(value, depth):
    return ["device", _qualified_name(type(value))]


def _code_string(value, depth):
    if not _trusted(type(value)):
        raise Undigestible(f"a code string of class {_qualified_name(type(value))}")
    return ["code", _qualified_name(type(value)), value.code]


def _state(value, depth):
    """An object as Brian2 keys it: its attributes but the irrelevant ones."""
    cls = type(value)
    if not _trusted(cls):
        raise Undigestible(f"an object of class {_qualified_name(cls)} defined outside Brian2")
    from ..brian2_compat import cache_irrelevant_attributes

    ignored = cache_irrelevant_attributes(value)
    attributes = [
        [name, canonical(attribute, depth)]
        for name, attribute in sorted(vars(value).items())
        if name not in ignored
    ]
    return ["state", _qualified_name(cls), attributes]


def _sorted_texts(items):
    return sorted(items, key=lambda item: json.dumps(item, separators=(",", ":")))


def _mapping(value, depth):
    pairs = [[canonical(k, depth), canonical(v, depth)] for k, v in value.items()]
    return ["map", _sorted_texts(pairs)]


def _set(value, depth):
    return ["set", _sorted_texts([canonical(v, depth) for v in value])]


def _sequence(value, depth):
    return ["seq", [canonical(v, depth) for v in value]]


def _quantity(value, depth):
    return ["quantity", repr(float(value)), _dimension(value.dim, depth)]


def _isinstance_of(dotted):
    """A test ``isinstance(value, <class named dotted>)`` importing lazily."""

    def test(value):
        module, _, name = dotted.rpartition(".")
        cls = getattr(sys.modules.get(module), name, None)
        return cls is not None and isinstance(value, cls)

    return test


def _is_mapping(value):
    from collections.abc import Mapping

    return isinstance(value, Mapping)


def _is_numpy_scalar(value):
    import numpy as np

    return isinstance(value, np.generic) and not _is_scalar_quantity(value)


#: (test, converter) in order; the first test that holds converts
_CONVERTERS = (
    (lambda v: v is None, lambda v, d: ["none"]),
    (lambda v: type(v) is str, lambda v, d: ["str", v]),
    (lambda v: type(v) in (bool, int, float, complex), _number),
    (_isinstance_of("brian2.units.fundamentalunits.Dimension"), _dimension),
    (_is_scalar_quantity, _quantity),
    (_is_numpy_scalar, _numpy_scalar),
    (_is_dtype_like, _dtype),
    (_isinstance_of("sympy.core.basic.Basic"), _sympy),
    (_isinstance_of("brian2.core.functions.Function"), _function),
    (_isinstance_of("brian2.devices.device.Device"), _device),
    (_isinstance_of("brian2.equations.codestrings.CodeString"), _code_string),
    (lambda v: hasattr(type(v), "_state_tuple"), _state),
    (_is_mapping, _mapping),
    (lambda v: isinstance(v, (set, frozenset)), _set),
    (lambda v: type(v) in (list, tuple), _sequence),
)


def _source_digest(package_dir, subdirs):
    """SHA-256 over the ``.py`` files of ``subdirs`` of a package (names and contents)."""
    sha = hashlib.sha256()
    for subdir in subdirs:
        folder = os.path.join(package_dir, subdir)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                sha.update(f"{subdir}/{name}\0".encode())
                with open(os.path.join(folder, name), "rb") as f:
                    sha.update(f.read())
    return sha.hexdigest()


_fingerprint = None


def environment_fingerprint():
    """What decides a stored result besides the inputs (computed once per process)."""
    global _fingerprint
    if _fingerprint is None:
        import brian2
        import numpy
        import sympy

        from .. import __version__ as brian2cppyy_version

        brian2_dir = os.path.dirname(os.path.abspath(brian2.__file__))
        _fingerprint = digest(
            ["schema", SCHEMA_VERSION],
            ["python", f"{sys.version_info[0]}.{sys.version_info[1]}"],
            ["brian2", brian2.__version__, _source_digest(brian2_dir, _BRIAN2_ANALYSIS_SOURCES)],
            ["sympy", sympy.__version__],
            ["numpy", numpy.__version__],
            ["brian2cppyy", brian2cppyy_version],
        )
    return _fingerprint
