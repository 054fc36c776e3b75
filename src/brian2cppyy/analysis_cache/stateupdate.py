"""State-update derivations remembered on disk (Brian2's ``apply_stateupdater``).

Deriving the abstract code of a state updater is Brian2's most expensive pure
step (the ``exact`` integrator solves the system with sympy: seconds for the
COBA model). `cached_apply` answers one call for *one* method from the store
or computes it with Brian2's function and stores the outcome:

* ``{"outcome": "code", "code": <abstract code>}`` for a derivation;
* ``{"outcome": "unsupported", "message": ...}`` for an
  ``UnsupportedEquationsException``, so that a list of methods that tries
  ``exact`` first (Brian2's default) stays cheap. Brian2 itself loops over a
  list and logs its choice ("No numerical integration method specified ...,
  using method ...'"): lists are passed to Brian2, whose loop calls back here
  for each method.

Not stored, so computed by Brian2 every time: calls whose inputs have no
stable digest (see `digest`), methods that are not one of Brian2's (or our)
state updaters registered when brian2cppyy was imported, results that are not
text (GSL state updaters return a function), errors other than
``UnsupportedEquationsException``, and any derivation during which Brian2
logged a warning (a hit would lose it). Brian2 reads no preference when it
derives a state updater, so none is part of the key.
"""

import logging
import threading
from contextlib import contextmanager

from brian2.stateupdaters.base import StateUpdateMethod, UnsupportedEquationsException

from ..log import get_logger
from .digest import Undigestible, digest, environment_fingerprint

__all__ = ["cached_apply", "remember_builtin_methods", "statistics"]

logger = get_logger(__name__)

KIND = "stateupdate"

#: name -> state updater object, Brian2's (and our) methods at import time
_builtin_methods = {}

_lock = threading.Lock()
#: this process's lookups: answered from the store, computed (and stored if
#: possible), or not cacheable
statistics = {"hits": 0, "misses": 0, "uncacheable": 0}
#: keys and method names whose derivation logged a warning in this process:
#: not stored (a warning logged "once", e.g. a deprecation, is silent the
#: next time, for this or another model)
_warned = set()


def _count(what):
    with _lock:
        statistics[what] += 1


def remember_builtin_methods():
    """Note the registered state updaters: only these are keyed by their name."""
    _builtin_methods.update(StateUpdateMethod.stateupdaters)


def method_name(method):
    """The registered name of ``method`` (a name or a state updater object)."""
    if isinstance(method, str):
        name = method.lower()
        if _builtin_methods.get(name) is StateUpdateMethod.stateupdaters.get(name, False):
            return name
    else:
        for name, builtin in _builtin_methods.items():
            if method is builtin and StateUpdateMethod.stateupdaters.get(name) is builtin:
                return name
    raise Undigestible(f"state updater {method!r} is not one of Brian2's")


def _key(equations, variables, method, method_options):
    """The digest of one call, or None if it cannot be cached."""
    try:
        name = method_name(method)
        return digest(environment_fingerprint(), KIND, equations, variables, name,
                      method_options)
    except Undigestible as exc:
        logger.debug(f"state update not cached: {exc}", "uncacheable")
    except Exception as exc:  # noqa: BLE001 - the cache must never break a run
        logger.debug(f"state update not cached: {type(exc).__name__}: {exc}", "uncacheable")
    return None


def _valid_outcome(value):
    """The stored value if it has the documented shape, else None."""
    if not isinstance(value, dict):
        return None
    if value.get("outcome") == "code" and set(value) == {"outcome", "code"}:
        return value if isinstance(value["code"], str) else None
    if value.get("outcome") == "unsupported" and set(value) == {"outcome", "message"}:
        return value if isinstance(value["message"], str) else None
    return None


class _WarningCounter(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.count = 0

    def emit(self, record):
        self.count += 1


@contextmanager
def _counting_warnings():
    """Count the warnings Brian2's loggers emit inside the block."""
    counter = _WarningCounter()
    brian2_logger = logging.getLogger("brian2")
    brian2_logger.addHandler(counter)
    try:
        yield counter
    finally:
        brian2_logger.removeHandler(counter)


def cached_apply(store, original, equations, variables, method, method_options, group_name):
    """``original(equations, variables, method, ...)`` (one method), from
    ``store`` when it holds the outcome; else computed and stored."""
    key = _key(equations, variables, method, method_options)
    if key is None:
        _count("uncacheable")
        return original(equations, variables, method, method_options=method_options,
                        group_name=group_name)
    fingerprint = environment_fingerprint()
    stored = store.get(key, KIND, fingerprint)
    outcome = None if stored is None else _valid_outcome(stored)
    if stored is not None and outcome is None:
        store.reject(key, "its value does not have the shape of a state update")
    if outcome is not None:
        _count("hits")
        return _replay(outcome, method, group_name)
    _count("misses")
    return _compute_and_store(store, key, fingerprint, original, equations, variables,
                              method, method_options, group_name)


def _replay(outcome, method, group_name):
    """Return (or raise) a stored outcome as Brian2 would have."""
    if outcome["outcome"] == "unsupported":
        raise UnsupportedEquationsException(outcome["message"])
    where = f"Group {group_name}: using" if group_name is not None else "Using"
    logger.debug(f"{where} numerical integration method {method_name(method)} "
                 "(from brian2cppyy's analysis cache)", "method_choice")
    return outcome["code"]


def _compute_and_store(store, key, fingerprint, original, equations, variables, method,
                       method_options, group_name):
    """Brian2's derivation, stored unless Brian2 warned while deriving it or
    an earlier result of this model or method in this process."""
    name = method_name(method)
    with _counting_warnings() as warnings:
        try:
            code = original(equations, variables, method, method_options=method_options,
                            group_name=group_name)
        except UnsupportedEquationsException as exc:
            if _storable(warnings, key, name):
                store.put(key, KIND, fingerprint, {"outcome": "unsupported",
                                                   "message": str(exc)})
            raise
    if isinstance(code, str) and _storable(warnings, key, name):
        store.put(key, KIND, fingerprint, {"outcome": "code", "code": code})
    return code


def _storable(warnings, *names):
    with _lock:
        if warnings.count:
            _warned.update(names)
        return _warned.isdisjoint(names)
