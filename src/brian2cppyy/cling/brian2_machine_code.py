"""Machine code that Cling need not generate: the C++ standard library code
that Brian2's own compiled extension modules already contain.

Cling does not compile a weak (template or inline) function that a unit
needs when a library in the process's global symbol scope already defines
it (its ``ReuseExistingWeakSymbols`` pass turns the definition into a
declaration). Brian2's Cython extension modules for dynamic arrays and spike
queues (``brian2.memory.cythondynamicarray``,
``brian2.synapses.cythonspikequeue``) are compiled from the same brianlib
headers our kernels include, and export the ``std::vector`` code that
``DynamicArray1D::resize`` and ``CSpikeQueue`` instantiate (e.g.
``std::vector<double>::_M_fill_insert``). Python loads them privately
(``RTLD_LOCAL``); `share` makes their symbols global, before a kernel needs
them, so that Cling links to that code instead of generating it again in
every process (measured on a small model with synapses and monitors: the
synapse creation's compilation 209 -> 150 ms CPU, 4 alternating samples).

Nothing changes for other code: the symbols are weak instantiations of the
standard library (which the dynamic linker merges the same way between any
two libraries) and Cython's module-prefixed names. A module that is missing
or cannot be loaded is skipped: Cling then compiles the code itself.
"""

import ctypes
import importlib.util
import os

__all__ = ["share", "MODULES"]

#: Brian2's extension modules whose exported code the kernels can reuse
MODULES = ("brian2.memory.cythondynamicarray", "brian2.synapses.cythonspikequeue")


def _library_path(module):
    """The shared library of an extension module, or ``None``."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".so"):
        return None
    return spec.origin


def share():
    """Make the symbols of Brian2's extension modules (`MODULES`) global;
    returns the paths of the libraries that now are."""
    shared = []
    for module in MODULES:
        path = _library_path(module)
        if path is None:
            continue
        try:
            ctypes.CDLL(path, mode=os.RTLD_GLOBAL)
        except OSError:
            continue
        shared.append(path)
    return shared
