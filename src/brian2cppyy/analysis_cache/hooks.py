"""Where the analysis cache plugs into Brian2: ``StateUpdateMethod.apply_stateupdater``.

Brian2 derives a group's state updater in ``StateUpdateMethod.apply_stateupdater``
(a static method, called from ``NeuronGroup``'s and ``Synapses``' state
updaters and, once per method, from its own loop over a list of methods).
`brian2cppyy.brian2_hooks` makes that attribute `apply_stateupdater` below
(with Brian2's function bound) on the cppyy target only; on any other target or device the attribute is
Brian2's own function (no frame of ours on the call stack). With the cache
switched off (``codegen.runtime.cppyy.analysis_cache``), or for a list of
methods (Brian2's loop, which logs its choice and calls back here for each
method), Brian2's function answers.
"""

from collections.abc import Iterable

from brian2.core.preferences import prefs

from . import stateupdate
from .store import AnalysisStore

__all__ = ["apply_stateupdater", "current_store"]

_stores = {}


def current_store():
    """The store in the current cache directory (one object per directory).
    The directory is (re-)registered for ``clear_cache('cppyy')``: the
    preference may have changed since the import."""
    from ..preferences import analysis_cache_bytes, register_cache_dir

    directory = register_cache_dir()
    store = _stores.get(directory)
    if store is None:
        store = _stores[directory] = AnalysisStore(directory, analysis_cache_bytes())
    store.max_bytes = analysis_cache_bytes()
    return store


def apply_stateupdater(brian2_function, equations, variables, method, method_options=None,
                       group_name=None):
    """Brian2's ``StateUpdateMethod.apply_stateupdater`` on the cppyy target,
    answered from the analysis cache when one method is asked for;
    ``brian2_function`` is Brian2's own (`brian2_hooks` binds it)."""
    method_list = isinstance(method, Iterable) and not isinstance(method, str)
    if method_list or not prefs["codegen.runtime.cppyy.analysis_cache"]:
        return brian2_function(equations, variables, method, method_options=method_options,
                               group_name=group_name)
    return stateupdate.cached_apply(current_store(), brian2_function, equations, variables,
                                    method, method_options, group_name)
