"""The kinds of a kernel's argument slots: each writes one 8-byte word of
the slot array (a pointer, a double or an int64: contract.hpp's ``Slot``) and
keeps alive what it points to. `kernel_arguments` says which slot a kernel
reads for what.
"""

import ctypes

import numpy as np

__all__ = ["Slot", "FloatSlot", "IntSlot", "DeviceArraySlot", "NumpyArraySlot",
           "DynamicArraySlot", "CppObjectSlot", "capsule_name"]


def capsule_name(capsule):
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
