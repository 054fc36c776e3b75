"""Where the analysis cache plugs into Brian2: one hook, installed by `install`.

Brian2 derives a group's state updater in ``StateUpdateMethod.apply_stateupdater``
(a static method, called from ``NeuronGroup``'s and ``Synapses``' state
updaters and, once per method, from its own loop over a list of methods).
Brian2 offers no documented hook there, so `install` replaces that one class
attribute with `apply_stateupdater` below. It checks the target *first*: for
any other target or device (numpy, cython, cpp_standalone, ...) or with the
cache switched off, it calls Brian2's own function at once, with the same
arguments, so those runs execute Brian2's code and get Brian2's results.

(If no frame of brian2cppyy may appear on the call stack of other targets'
runs, the replacement can instead be put in place only for the duration of a
cppyy ``Network.before_run`` -- a context manager around that call in
``network_loop`` -- using `install` and `uninstall` below.)
"""

from collections.abc import Iterable

from brian2.core.preferences import prefs
from brian2.devices.device import RuntimeDevice, get_device
from brian2.stateupdaters.base import StateUpdateMethod

from . import stateupdate
from .store import AnalysisStore

__all__ = ["install", "uninstall", "cppyy_target_active", "current_store"]

#: Brian2's ``apply_stateupdater`` (with its in-memory cache), set by `install`
_brian2_apply_stateupdater = None
_stores = {}


def cppyy_target_active():
    """True when code is generated for cppyy on the runtime device and the
    analysis cache is switched on."""
    target = prefs["codegen.target"]
    is_cppyy = target == "cppyy" or getattr(target, "class_name", None) == "cppyy"
    return (
        is_cppyy
        and isinstance(get_device(), RuntimeDevice)
        and prefs["codegen.runtime.cppyy.analysis_cache"]
    )


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


def apply_stateupdater(equations, variables, method, method_options=None, group_name=None):
    """Brian2's ``StateUpdateMethod.apply_stateupdater``, answered from the
    analysis cache when the target is cppyy and one method is asked for."""
    method_list = isinstance(method, Iterable) and not isinstance(method, str)
    if method_list or not cppyy_target_active():
        return _brian2_apply_stateupdater(equations, variables, method,
                                          method_options=method_options,
                                          group_name=group_name)
    return stateupdate.cached_apply(current_store(), _brian2_apply_stateupdater, equations,
                                    variables, method, method_options, group_name)


def install():
    """Put `apply_stateupdater` in place of Brian2's (idempotent). The only
    change brian2cppyy makes to Brian2 for the analysis cache."""
    global _brian2_apply_stateupdater
    if _brian2_apply_stateupdater is None:
        _brian2_apply_stateupdater = StateUpdateMethod.apply_stateupdater
        stateupdate.remember_builtin_methods()
    StateUpdateMethod.apply_stateupdater = staticmethod(apply_stateupdater)


def uninstall():
    """Put Brian2's own ``apply_stateupdater`` back."""
    if _brian2_apply_stateupdater is not None:
        StateUpdateMethod.apply_stateupdater = staticmethod(_brian2_apply_stateupdater)
