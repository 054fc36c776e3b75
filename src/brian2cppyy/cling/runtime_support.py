"""Runtime code compiled once per process and element type, instead of inside
every kernel that uses it: growing Brian2's dynamic arrays.

Brian2's ``DynamicArray1D<T>::resize`` (and ``DynamicArray2D<T>::
resize_along_first``) grow a ``std::vector<T>``; instantiating and optimising
that code costs Cling about 100 ms per element type, and each kernel that
inlines it pays again (a monitor, each synapse creation). The kernels reach
these functions only through ``brian2cppyy::monitor_arrays`` (``append``,
``append_row``, ``resize``; ``include/brian2cppyy/monitor_arrays.hpp``),
whose generic templates work for any element type. Before a kernel that
calls them compiles, `prepare_for` has Cling compile, once per element type
and array kind, plain overloads that call the generic templates (those a
kernel needs that the process lacks in one unit: one transaction, e.g. a
SpikeMonitor's int32 and double arrays, 91 -> 80 ms); overload resolution
prefers a plain function to a template, so the kernel then only calls them.
A type without its overloads (none is ever missing: they are compiled from
the kernel's own variables) would still compile, through the templates.

The overloads are compiled with the kernels' settings (those in effect when a
process first needs them; Cling cannot define a function twice). Not at the
lower level of code that runs once: below -O2 Cling inlines nothing, the unit
then leaves dozens of small library functions compiled on their own, and the
next kernel that touches the same arrays compiles them again (measured: a
unit at -O1 took 46 ms and the next small kernel 65 ms; at -O3, 73 ms and
7 ms). Measured on the trivial model and on COBA, the overloads save 40 ms
of compilation per process (4 and 3 alternating runs).
"""

from brian2.codegen.generators.cpp_generator import c_data_type
from brian2.core.variables import DynamicArrayVariable

from . import compiler_settings, jit

__all__ = ["prepare_for", "HEADER"]

#: (C++ element type, number of dimensions) of the overloads compiled
_compiled = set()

#: the header of what a kernel calls when it grows dynamic arrays (the
#: templates that do name it in their INCLUDES)
HEADER = "brian2cppyy/monitor_arrays.hpp"

_HEAD = f'#include "{HEADER}"\nnamespace brian2cppyy {{\nnamespace monitor_arrays {{\n'
_TAIL = "}  // namespace monitor_arrays\n}  // namespace brian2cppyy\n"

#: the overloads for one element type ``T``, by number of dimensions
_OVERLOADS = {
    1: (
        "T* append(DynamicArray1D<T>* array, size_t count) {\n"
        "    return generic::append(array, count);\n}\n"
        "void resize(DynamicArray1D<T>* array, size_t size) {\n"
        "    array->resize(size);\n}\n"
    ),
    2: (
        "T* append_row(DynamicArray2D<T>* array) {\n"
        "    return generic::append_row(array);\n}\n"
    ),
}


def overloads_source(kinds, settings):
    """The C++ unit with the overloads for arrays of each ``(c_type, ndim)``
    of ``kinds``, compiled with ``settings``."""
    head, tail = compiler_settings.pragmas(settings)
    body = "".join(_OVERLOADS[ndim].replace("T*", f"{c_type}*").replace("<T>", f"<{c_type}>")
                   for c_type, ndim in kinds)
    return f"{head}\n{_HEAD}{body}{_TAIL}{tail}\n"


def array_kinds(variables):
    """``{(C++ element type, number of dimensions)}`` of the dynamic arrays
    among a code object's ``variables``."""
    return {
        (c_data_type(var.dtype), var.ndim)
        for var in variables.values()
        if isinstance(var, DynamicArrayVariable) and var.ndim in _OVERLOADS
    }


def prepare_for(variables):
    """Compile (once per process) the overloads that a kernel growing the
    dynamic arrays of these ``variables`` calls, before the kernel compiles."""
    missing = sorted(array_kinds(variables) - _compiled)
    if missing:  # in one unit: one transaction, their common code generated once
        jit.compile_runtime_unit(overloads_source(missing, compiler_settings.current()))
        _compiled.update(missing)
