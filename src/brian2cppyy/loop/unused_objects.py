"""Brian2's unused-object warnings, cheaply: the full collection Brian2
starts every run with visits only the objects built since ``import
brian2cppyy``, because those that existed then are frozen out of Python's
garbage collector (``gc.freeze``).

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

What is frozen, and when: once, at the end of ``import brian2cppyy``
(`freeze_imports`), every object the collector tracks: modules and what
they hold, which live until the process ends anyway. The user's model is
built after the import, so it is never frozen: its objects are collected,
and warned about, as in Brian2, and a network that is dropped is freed.
Nothing is frozen if a Brian object exists already (a model built before
the import could then never be collected, nor warned about) or if the
process has frozen objects already (someone else's policy, e.g. a sweep
worker's). The freeze is the interpreter's, so collections on Brian2's
other targets skip those objects too: they run the same code and give the
same results and warnings, only the collections are shorter. (Collecting
only when a live Brian object could warn would be cheaper still, but
Brian2's own test ``test_conditional_gc_collect`` asks for one collection
per run.)

Brian2 internals used: ``BrianObject.__instances__()`` (its instance tracker).
"""

import gc
import threading

from brian2.core.base import BrianObject

from ..log import get_logger

__all__ = ["freeze_imports", "state"]

logger = get_logger(__name__)

_lock = threading.Lock()
#: "not frozen" (nothing frozen by us) or "frozen" (at import)
_state = "not frozen"


def state():
    """Whether the import-time objects were frozen (see ``_state``)."""
    return _state


def freeze_imports():
    """Freeze every tracked object, once, unless a Brian object exists or
    the process has frozen objects already; returns how many were frozen."""
    global _state
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
        _state = "frozen"
        return gc.get_freeze_count()

