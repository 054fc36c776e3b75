"""Where brian2cppyy plugs into Brian2, and only for the ``cppyy`` target.

Importing brian2cppyy must leave runs on Brian2's other targets (``numpy``,
``cython``, the standalone device) exactly as Brian2 wrote them. So every
hook is an attribute of a Brian2 class replaced by a `TargetDispatch`
descriptor: looking the attribute up gives Brian2's own attribute unless the
current target is ``cppyy``, and ours if it is. The choice is made when the
attribute is looked up, before anything is called: a run on another target
calls Brian2's function itself, with no frame of this package on the stack
(only the look-up, which returns at once, is ours).

The hooks, all of them (`install`):

``RuntimeDevice.network_run``
    Brian2's device-override hook of ``Network.run`` (``Network.run`` calls
    the device's ``network_run`` when the device has one). On the cppyy target
    it is the fused C++ loop (`network_loop.network_run`, its clocks claimed
    by `clock_guard`); on any other target the device has no such attribute,
    and ``Network.run`` runs Brian2's loop.
``StateUpdateMethod.apply_stateupdater``
    Brian2's derivation of a state updater (sympy for ``exact``: seconds).
    On the cppyy target it is answered from the on-disk analysis cache when it
    can be (`analysis_cache.hooks.apply_stateupdater`); otherwise Brian2's.
``RuntimeDevice.add_array``
    Brian2's allocation of a variable's array. On the cppyy target a model's
    first one starts Cling in the background (`cling.runtime.launch`), then
    Brian2's runs: Cling starts while the model is being built.
``GSLContainer.get_codeobj_class``
    Brian2's GSL state updaters choose their code-object class for the Cython
    target and the standalone device only. On the cppyy target the container
    chooses `gsl.GSLCppyyCodeObject` (so every GSL method, by name or as the
    ``gsl_rk4``-style objects Brian2 exports, works); otherwise Brian2's choice.

Brian2's registries (state updaters, preferences, devices, functions) keep
Brian2's entries; the package only adds its own target, its preferences
(``codegen.runtime.cppyy``) and the implementations of functions for its code
object class.
"""

import functools

from brian2.core.preferences import prefs
from brian2.devices.device import RuntimeDevice, get_device
from brian2.stateupdaters.base import StateUpdateMethod
from brian2.stateupdaters.GSL import GSLContainer

__all__ = ["TargetDispatch", "target_is_cppyy", "brian2_original", "install"]

_MISSING = object()


def target_is_cppyy():
    """Whether code objects made now would be the cppyy target's: the runtime
    device with ``codegen.target`` ``'cppyy'`` (or our code object class)."""
    from .target.codeobject import CppyyCodeObject

    if not isinstance(get_device(), RuntimeDevice):
        return False
    target = prefs["codegen.target"]
    if isinstance(target, str):
        return target == CppyyCodeObject.class_name
    return isinstance(target, type) and issubclass(target, CppyyCodeObject)


class TargetDispatch:
    """A class attribute that is Brian2's own unless the target is cppyy.

    ``cppyy_attribute`` is what the attribute is on the cppyy target (a
    function, which becomes a method, or a ``staticmethod``). Brian2's
    original stays in ``original`` (``None`` if the class had none: then the
    attribute does not exist on other targets)."""

    def __init__(self, owner, name, cppyy_attribute):
        self.owner, self.name = owner, name
        self.original = owner.__dict__.get(name, _MISSING)
        self.cppyy_attribute = cppyy_attribute

    def __get__(self, instance, owner=None):
        if target_is_cppyy():
            return self.cppyy_attribute.__get__(instance, owner)
        if self.original is _MISSING:
            raise AttributeError(
                f"'{self.owner.__name__}' has no attribute '{self.name}' on this target"
            )
        if hasattr(self.original, "__get__"):
            return self.original.__get__(instance, owner)
        return self.original


#: (class, attribute name) -> the TargetDispatch installed there
_installed = {}


def dispatch(owner, name, cppyy_attribute):
    """Make ``owner.name`` a `TargetDispatch` (once: installing again keeps
    Brian2's original)."""
    hook = _installed.get((owner, name))
    if hook is None:
        hook = _installed[owner, name] = TargetDispatch(owner, name, cppyy_attribute)
    hook.cppyy_attribute = cppyy_attribute
    setattr(owner, name, hook)
    return hook


def brian2_original(owner, name):
    """Brian2's own ``owner.name``, which a `TargetDispatch` stands in for
    (also if someone has replaced the class attribute since)."""
    return _installed[owner, name].original.__get__(None, owner)


def _brian2_apply_stateupdater(*args, **kwds):
    """Brian2's ``StateUpdateMethod.apply_stateupdater`` (for the analysis
    cache's hook, which must not import this module: it would be a cycle)."""
    return brian2_original(StateUpdateMethod, "apply_stateupdater")(*args, **kwds)


def _add_array(device, var):
    """``RuntimeDevice.add_array`` on the cppyy target: a model's first array
    (its first group's variables) is the first sign that it is built for
    this target, so Cling starts now, on the compile thread
    (`runtime.launch`), while Brian2 builds the rest of the model; then
    Brian2's own. Starting early only saves time: if it fails, the first
    compilation reports it (Cling's start is tried again there)."""
    from .cling import runtime

    try:
        runtime.launch()  # returns at once once launched
    except Exception:  # noqa: BLE001 - reported by the first compilation
        pass
    return brian2_original(RuntimeDevice, "add_array")(device, var)


def _gsl_codeobj_class(container):
    """``GSLContainer.get_codeobj_class`` on the cppyy target."""
    from .target import gsl

    gsl.load_gsl()
    return gsl.GSLCppyyCodeObject


def install():
    """Install every hook (see the module docstring); idempotent."""
    from .loop import clock_guard, network_loop
    from .analysis_cache import hooks as analysis_hooks, stateupdate

    dispatch(RuntimeDevice, "network_run",
             staticmethod(clock_guard.guarded(network_loop.network_run)))
    stateupdate.remember_builtin_methods()
    dispatch(StateUpdateMethod, "apply_stateupdater",
             staticmethod(functools.partial(analysis_hooks.apply_stateupdater,
                                            _brian2_apply_stateupdater)))
    dispatch(RuntimeDevice, "add_array", _add_array)
    dispatch(GSLContainer, "get_codeobj_class", _gsl_codeobj_class)
