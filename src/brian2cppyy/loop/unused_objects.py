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
process has frozen objects already (someone else's policy). A sweep
worker, a process that runs only our code, freezes again once it is
prepared (Cling started), everything then alive. The freeze is the
interpreter's, so collections on Brian2's other targets skip those objects
too: they run the same code and give the same results and warnings, only
the collections are shorter.

Brian2 internals used: ``BrianObject.__instances__()`` (its instance tracker,
through `brian2cppyy.brian2_compat`).
"""

import gc
import threading

from .. import brian2_compat
from ..log import get_logger

__all__ = ["freeze_imports"]

logger = get_logger(__name__)

_lock = threading.Lock()
#: whether we froze objects in this process
_frozen = False


def freeze_imports(whole_process=False):
    """Freeze every object the collector tracks now, after a collection;
    returns how many objects are frozen (0: none by this call).

    In the user's process (the end of ``import brian2cppyy``), once, and
    only if no Brian object exists and the process has not frozen objects
    already (see the module docstring); the collection before it is of the
    young generations (the imports' garbage; the old one was collected
    already). ``whole_process``: the process runs only our code (a sweep
    worker, once Cling has started: `brian2cppyy.sweeps.worker`), so
    everything alive is frozen after a full collection, whatever it is and
    whatever was frozen before (a worker forked from the user's process
    inherits its objects, which it never uses)."""
    global _frozen
    with _lock:
        if whole_process:
            gc.collect()
        else:
            if _refuse_to_freeze():
                return 0
            gc.collect(1)
        gc.freeze()
        _frozen = True
        return gc.get_freeze_count()


def _refuse_to_freeze():
    """Why not to freeze the user's process (logged), or None."""
    if _frozen:
        return "frozen already"
    if gc.get_freeze_count():
        logger.debug("Not freezing the imported objects: the process has frozen "
                     "objects already.", "freeze")
        return "someone else's freeze"
    if brian2_compat.brian_objects_exist():
        logger.debug("Not freezing the imported objects: Brian objects were created "
                     "before brian2cppyy was imported.", "freeze")
        return "Brian objects exist"
    return None
