"""A kernel's arguments: the slot array it reads and the C++ declarations that
read it back (its prologue).

A kernel is ``int64_t _kernel(brian2cppyy::Slot* _slots)``; each slot is 8
bytes (a pointer, a double or an int64: runtime.hpp's ``Slot``). The layout is
made once per block from the code object's variables: for each thing the
kernel's source refers to, a slot of one `kind <Slot>` and the declaration that
reads it (``double* const _array_v = static_cast<double*>(_slots[3].p);``).
Filling the slots writes the addresses of the arrays themselves: no copies,
and nothing to convert when the kernel is called.

The first slots are fixed (contract.hpp's ``KernelSlot``): the buffer of a
template that returns an array (`template_specifiers`) and the
``ErrorRecord`` where a kernel writes the details of an error
(`kernel_status`).
"""

import ctypes

import numpy as np
from brian2.codegen.generators.cpp_generator import c_data_type
from brian2.core.functions import Function
from brian2.core.variables import (
    ArrayVariable,
    AuxiliaryVariable,
    Constant,
    DynamicArrayVariable,
    Subexpression,
)

from ..cling import contract

__all__ = ["ArgumentLayout"]


def cpp_type(dtype):
    """C++ element type of an array (Brian2 stores booleans as ``char``)."""
    return c_data_type(np.dtype(dtype).type)


def _capsule_name(capsule):
    """The name a PyCapsule was created with."""
    get = ctypes.pythonapi.PyCapsule_GetName
    get.restype = ctypes.c_char_p
    get.argtypes = [ctypes.py_object]
    name = get(capsule)
    return name.decode("ascii") if name is not None else None


def _capsule_pointer(capsule, name):
    """The address stored in a PyCapsule (Brian2's dynamic arrays, spike queue)."""
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return get(capsule, name.encode("ascii"))


# -- slot kinds: each writes one 8-byte word and keeps alive what it points to --

class Slot:
    """A kernel argument; `fill` writes it into ``slots[k]``."""

    def fill(self, slots, k, device, keepalive):
        raise NotImplementedError


class FloatSlot(Slot):
    def __init__(self, value):
        self.value = float(value)

    def fill(self, slots, k, device, keepalive):
        slots.view(np.float64)[k] = self.value


class IntSlot(Slot):
    def __init__(self, value):
        self.value = int(value)

    def fill(self, slots, k, device, keepalive):
        slots.view(np.int64)[k] = self.value


class DeviceArraySlot(Slot):
    """The data of one of Brian2's arrays (``ArrayVariable``) on the device."""

    def __init__(self, variable):
        self.variable = variable

    def fill(self, slots, k, device, keepalive):
        array = device.get_value(self.variable)
        if not array.flags["C_CONTIGUOUS"]:
            raise TypeError(f"The array of '{self.variable.name}' is not contiguous.")
        keepalive.append(array)
        slots[k] = array.ctypes.data


class NumpyArraySlot(Slot):
    """A numpy array of a function's namespace (TimedArray values, random buffers)."""

    def __init__(self, array):
        self.array = array

    def fill(self, slots, k, device, keepalive):
        array = np.ascontiguousarray(self.array)
        keepalive.append(array)
        slots[k] = array.ctypes.data


class DynamicArraySlot(Slot):
    """Brian2's C++ ``DynamicArray1D``/``2D`` object of a ``DynamicArrayVariable``
    (the kernel may resize it)."""

    def __init__(self, variable):
        self.variable = variable

    @property
    def cpp_class(self):
        return "DynamicArray1D" if self.variable.ndim == 1 else "DynamicArray2D"

    def fill(self, slots, k, device, keepalive):
        capsule = device.get_capsule(self.variable)
        keepalive.append(device.get_value(self.variable, access_data=False))
        keepalive.append(capsule)
        slots[k] = _capsule_pointer(capsule, self.cpp_class)


class CppObjectSlot(Slot):
    """A C++ object of Brian2's handed over in a PyCapsule (a spike queue)."""

    def __init__(self, capsule, capsule_name):
        self.capsule = capsule
        self.capsule_name = capsule_name

    def fill(self, slots, k, device, keepalive):
        keepalive.append(self.capsule)
        slots[k] = _capsule_pointer(self.capsule, self.capsule_name)


# -- the layout ------------------------------------------------------------------

class ArgumentLayout:
    """The slots of one kernel of ``code_object`` and the C++ lines that read
    them, for the names in ``identifiers`` (those its source uses)."""

    def __init__(self, code_object, identifiers):
        self.code_object = code_object
        self.identifiers = identifiers
        self.slots = [None] * contract.values().SLOT_FIRST_ARGUMENT  # the fixed slots
        self.lines = []
        self._declared = set()
        if "_return_buffer" in identifiers:
            self.lines.append(
                "void* const _return_buffer = _slots[brian2cppyy::SLOT_RETURN_BUFFER].p;")
        if "_error_record" in identifiers:
            self.lines.append(
                "brian2cppyy::ErrorRecord* const _error_record = "
                "static_cast<brian2cppyy::ErrorRecord*>(_slots[brian2cppyy::SLOT_ERROR_RECORD].p);")
        for name, var in sorted(code_object.variables.items()):
            self._add_variable(name, var)

    def fill(self):
        """The slot array (uint64) and the objects it points into."""
        slots = np.zeros(len(self.slots), dtype=np.uint64)
        keepalive = []
        device = self.code_object.device
        for k, slot in enumerate(self.slots):
            if slot is not None:
                slot.fill(slots, k, device, keepalive)
        return slots, keepalive

    def _add(self, slot):
        self.slots.append(slot)
        return len(self.slots) - 1

    def _declare(self, name):
        """Whether ``name`` is not declared yet (then it is, from now on)."""
        if name in self._declared:
            return False
        self._declared.add(name)
        return True

    def _first_use(self, name):
        """Whether the kernel uses ``name`` and it is not declared yet (then it is)."""
        return name in self.identifiers and self._declare(name)

    def _add_variable(self, name, var):
        if isinstance(var, Function):
            self._add_function(name, var)
        elif isinstance(var, AuxiliaryVariable):
            # set by the statements (e.g. _cond, _iter_low), declared here
            if self._first_use(name):
                self.lines.append(f"{cpp_type(var.dtype)} {name};")
        elif isinstance(var, Subexpression):
            return
        elif isinstance(var, Constant):
            if self._first_use(name):
                self._add_constant(name, var.get_value())
        elif isinstance(var, ArrayVariable):
            self._add_array(name, var)
        elif type(var).__name__ == "PyCapsule":
            if self._first_use(name):
                self._add_cpp_object(name, var)

    def _add_constant(self, name, value):
        value = np.asarray(value)
        ctype = cpp_type(value.dtype)
        if value.dtype.kind == "f":
            k = self._add(FloatSlot(value))
            self.lines.append(f"const {ctype} {name} = ({ctype})_slots[{k}].d;")
        else:
            k = self._add(IntSlot(value))
            self.lines.append(f"const {ctype} {name} = ({ctype})_slots[{k}].i;")

    def _add_cpp_object(self, name, capsule):
        """A C++ object (``CPP_OBJECTS`` of the template): the kernel gets
        the pointer, typed."""
        code_object = self.code_object
        cpp_class = code_object.specifiers.cpp_objects.get(name)
        capsule_name = _capsule_name(capsule)
        if cpp_class is None or cpp_class != capsule_name:
            raise NotImplementedError(
                f"'{code_object.name}' refers to '{name}', a C++ object of type "
                f"'{capsule_name}' that its template '{code_object.template_name}' "
                "does not declare in CPP_OBJECTS."
            )
        k = self._add(CppObjectSlot(capsule, capsule_name))
        self.lines.append(
            f"{cpp_class}* const {name} = static_cast<{cpp_class}*>(_slots[{k}].p);"
        )

    def _add_array(self, name, var):
        device = self.code_object.device
        array_name = device.get_array_name(var)
        nums = [f"_num{name}", f"_num{array_name}"]
        names = {array_name, *nums}
        if isinstance(var, DynamicArrayVariable):
            dyn_name = device.get_array_name(var, access_data=False)
            names |= {f"{dyn_name}_ptr", dyn_name}
        if not (names & self.identifiers):
            return
        if isinstance(var, DynamicArrayVariable):
            self._add_dynamic_array(var, array_name, dyn_name, nums)
        else:
            self._add_device_array(var, array_name, nums)

    def _add_dynamic_array(self, var, array_name, dyn_name, nums):
        ctype = cpp_type(var.dtype)
        if self._declare(array_name):
            slot = DynamicArraySlot(var)
            cls = f"{slot.cpp_class}<{ctype}>"
            k = self._add(slot)
            self.lines.append(
                f"{cls}* const {dyn_name}_ptr = static_cast<{cls}*>(_slots[{k}].p);"
            )
            self.lines.append(f"{ctype}* const {array_name} = {dyn_name}_ptr->get_data_ptr();")
        size = "size()" if var.ndim == 1 else "rows()"
        for num in nums:
            if self._declare(num):
                self.lines.append(f"const size_t {num} = {dyn_name}_ptr->{size};")

    def _add_device_array(self, var, array_name, nums):
        ctype = cpp_type(var.dtype)
        if self._declare(array_name):
            k = self._add(DeviceArraySlot(var))
            self.lines.append(
                f"{ctype}* const {array_name} = static_cast<{ctype}*>(_slots[{k}].p);"
            )
        for num in nums:
            if self._declare(num):
                k = self._add(IntSlot(var.get_len()))
                self.lines.append(f"const size_t {num} = (size_t)_slots[{k}].i;")

    def _add_function(self, name, function):
        """Arrays in a function implementation's namespace (e.g. the values of
        a TimedArray, the random-number buffers), with its dependencies."""
        code_object = self.code_object
        impl = function.implementations[type(code_object)]
        namespace = impl.get_namespace(code_object.owner) or {}
        for key, value in sorted(namespace.items()):
            if not self._declare(key):
                continue
            if not isinstance(value, np.ndarray) or value.ndim == 0:
                raise NotImplementedError(
                    f"The C++ implementation of function '{name}' puts "
                    f"'{key}' ({type(value).__name__}) into its namespace; the "
                    "cppyy target can only pass numpy arrays to C++ code."
                )
            ctype = cpp_type(value.dtype)
            k = self._add(NumpyArraySlot(value))
            self.lines.append(f"{ctype}* const {key} = static_cast<{ctype}*>(_slots[{k}].p);")
        for dep_name, dep in (impl.dependencies or {}).items():
            self._add_function(dep_name, dep)
