"""The analysis cache: Brian2's expensive symbolic analysis, remembered on disk.

Every fresh process redoes Brian2's analysis of a model; for the ``exact``
integrator (sympy) that is seconds. With the target ``'cppyy'`` this package
keeps the derived state updaters in an SQLite file in the target's cache
directory (preference ``codegen.runtime.cppyy.cache_dir``), keyed by a
digest of everything the result depends on:

* `digest` -- stable canonical keys of Brian2's arguments and environment;
* `store` -- the SQLite store (atomic, size-bounded, validated on reading);
* `stateupdate` -- the cached state-update derivation;
* `hooks` -- what Brian2's ``apply_stateupdater`` is on the cppyy target
  (installed by `brian2cppyy.brian2_hooks`);
* `report` -- its lines in ``python -m brian2cppyy info``.

``clear_cache('cppyy')`` empties it; ``codegen.runtime.cppyy.analysis_cache``
switches it off and ``codegen.runtime.cppyy.analysis_cache_size`` bounds it;
`info` (and ``python -m brian2cppyy info``) shows it.
"""

from . import hooks, stateupdate
from .report import report, report_lines

__all__ = ["info", "report", "report_lines"]


def info():
    """The analysis cache as a dict: ``path``, ``enabled`` (the preference),
    ``entries``, ``bytes`` (stored), ``file_bytes`` (on disk), ``max_bytes``,
    and this process's ``hits``, ``misses``, ``uncacheable`` and
    ``hit_rate`` (hits / lookups that could be cached, None before any)."""
    from brian2 import prefs

    store = hooks.current_store()
    result = {"path": store.path, "enabled": prefs["codegen.runtime.cppyy.analysis_cache"],
              "max_bytes": store.max_bytes}
    result.update(store.summary())
    counts = dict(stateupdate.statistics)
    result.update(counts)
    lookups = counts["hits"] + counts["misses"]
    result["hit_rate"] = counts["hits"] / lookups if lookups else None
    return result
