"""Brian2's unused-object warnings, cheaply: the full collection Brian2
starts every run with visits only the objects built since ``import
brian2cppyy``, because those that existed then are frozen out of Python's
garbage collector (``gc.freeze``), for the cppyy target only.

Brian2 starts every run with a full ``gc.collect()`` when
``prefs.logging.warn_for_unused_objects`` is on (the default): a Brian object
that is collected without ever having been part of a network warns in its
``__del__``, and the collection makes that happen before the run. A full
collection visits every object the collector tracks; after the imports
(Brian2, SymPy, NumPy, Matplotlib) those are about 150 000, which cost
0.1-0.3 s of every ``run()`` (measured, more than the 1 ms of simulated time
of a 2 000-neuron network took).

A frozen object is skipped by every collection (the automatic ones too); the
collection at the start of a run then visits only what was created since the
freeze (a few thousand objects for that network: 2-5 ms), and the warnings,
which concern the objects of the user's model, work as before. (Skipping the
collection when no live Brian object could warn would save those milliseconds
too, but Brian2's own test ``test_conditional_gc_collect`` counts the calls.)

What is frozen, and when:

* Once, at the end of ``import brian2cppyy`` (`freeze_imports`, called by
  ``network_loop.install``), every tracked object: modules and what they
  hold, which live until the process ends anyway. Nothing is frozen if a
  Brian object exists already (a model built before the import could then
  never be collected, nor warned about) or if the process has frozen objects
  already (someone else's policy, e.g. a sweep worker's, which freezes its
  own heap).
* The user's model is built after the import, so it is never frozen: its
  objects are collected, and warned about, as in Brian2, and a network that
  is dropped is freed. A frozen object is never freed if it becomes
  unreachable.
* Only the cppyy target keeps the freeze: the first run on Brian2's runtime
  device decides (`settle`, called by the network loop's ``network_run``).
  If that run's target is another one (numpy, cython), the objects are
  unfrozen (``gc.unfreeze``) and the process behaves as without brian2cppyy.
  A process that only ever runs a standalone device never reaches that
  decision and keeps its import-time objects frozen.

Brian2 internals used: ``BrianObject.__instances__()`` (its instance tracker).
"""

import gc
import threading

from brian2.core.base import BrianObject
from brian2.devices.device import get_device

from .log import get_logger

__all__ = ["freeze_imports", "settle", "state"]

logger = get_logger(__name__)

_lock = threading.Lock()
#: "not frozen" (nothing frozen by us), "pending" (frozen at import, not
#: decided yet), "kept" (the first run was cppyy), "released" (unfrozen)
_state = "not frozen"
_frozen = 0  # how many objects we froze


def state():
    """What happened to the import-time objects (see ``_state``)."""
    return _state


def freeze_imports():
    """Freeze every tracked object, once, unless a Brian object exists or
    the process has frozen objects already; returns how many were frozen."""
    global _state, _frozen
    with _lock:
        if _state != "not frozen":
            return 0
        if gc.get_freeze_count():
            logger.debug("Not freezing the imported objects: the process has frozen "
                         "objects already.", "freeze")
            return 0
        if any(ref() is not None for ref in BrianObject.__instances__()):
            logger.debug("Not freezing the imported objects: Brian objects were created "
                         "before brian2cppyy was imported.", "freeze")
            return 0
        gc.collect(1)  # the young garbage of the imports (the old is collected already)
        gc.freeze()
        _frozen = gc.get_freeze_count()
        _state = "pending"
        return _frozen


def settle():
    """At a run on the runtime device: the first one decides whether the
    freeze is kept (the cppyy target) or undone (any other target)."""
    global _state
    if _state != "pending":
        return
    from .codeobject import CppyyCodeObject

    try:
        target = get_device().code_object_class(None)
    except Exception:  # noqa: BLE001 - an unknown target: the run raises, no decision
        return
    with _lock:
        if _state != "pending":
            return
        if target is CppyyCodeObject:
            _state = "kept"
            return
        _state = "released"
        if gc.get_freeze_count() <= _frozen:  # nobody else froze objects since
            gc.unfreeze()
        logger.debug("Unfroze the objects frozen at import: the first run's target is "
                     f"{target.class_name!r}.", "freeze")

