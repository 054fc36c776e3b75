"""A kernel's arguments: the slots it reads and the C++ declarations that read
them back (what the code generator emits and the templates place, as
Cython's ``load_namespace``).

A kernel is ``int64_t _kernel(brian2cppyy::Slot* _slots)``; each slot is 8
bytes (`kernel_slots`). The layout is made from the code object's variables:
for each of them, a slot of one kind and the declaration that reads it
(``double* __restrict _ptr_arr_v = static_cast<double*>(_slots[3].p);``).
Filling the slots writes the addresses of the arrays themselves: no copies,
and nothing to convert when the kernel is called.

The first slots are fixed (contract.hpp's ``KernelSlot``): the buffer of a
template that returns an array (`template_specifiers`) and the
``ErrorRecord`` where a kernel writes the details of an error
(`kernel_status`).
"""

from dataclasses import dataclass

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
from . import random_buffers, template_specifiers
from .kernel_slots import (
    CppObjectSlot,
    DeviceArraySlot,
    DynamicArraySlot,
    FloatSlot,
    IntSlot,
    NumpyArraySlot,
    capsule_name,
)

__all__ = ["ArgumentLayout", "ArrayPointer"]


def cpp_type(dtype):
    """C++ element type of an array (Brian2 stores booleans as ``char``)."""
    return c_data_type(np.dtype(dtype).type)


# -- the layout ------------------------------------------------------------------

@dataclass(frozen=True)
class ArrayPointer:
    """The pointer through which the generated code reads and writes an
    array (``_ptr_array_...``), declared as Brian2's `CPPCodeGenerator`
    declares it: ``__restrict`` unless the array is a scalar or has one
    element (brian2/codegen/generators/cpp_generator.py,
    ``determine_keywords``). A template that runs its loop in a function of
    its own may take these as that function's parameters (clang honours
    ``__restrict`` on parameters, not on local variables)."""

    ctype: str  #: element type
    name: str  #: the pointer's name in the generated code
    restrict: bool

    @property
    def parameter(self):
        """The pointer declared as a parameter (``double* __restrict _ptr_x``)."""
        qualifier = " __restrict" if self.restrict else ""
        return f"{self.ctype}*{qualifier} {self.name}"


class ArgumentLayout:
    """The slots of the kernels of one code object and the C++ declarations
    that read them back (`lines`, in slot order), for every variable of the
    code object, in the order of their names: what Cython's
    ``load_namespace`` is for the Cython target.

    The code generator makes the layout for the declarations (the
    templates place them), the code object makes it again from the same
    variables to fill the slots: both see the same variables, so the same
    slots. ``get_array_name(var, access_data)`` names the arrays, as the
    generator names them in the generated code. ``cpp_objects``: the
    template's ``CPP_OBJECTS``; ``described_as``: the code object and its
    template, for error messages.
    """

    def __init__(self, variables, owner, codeobj_class, get_array_name, cpp_objects=None,
                 described_as="a code object"):
        self.owner = owner
        self.codeobj_class = codeobj_class
        self.get_array_name = get_array_name
        self.cpp_objects = cpp_objects or {}
        self.described_as = described_as
        self.slots = [None] * contract.values().SLOT_FIRST_ARGUMENT  # the fixed slots
        self.lines = [
            "void* const _return_buffer = _slots[brian2cppyy::SLOT_RETURN_BUFFER].p;",
            "brian2cppyy::ErrorRecord* const _error_record = "
            "static_cast<brian2cppyy::ErrorRecord*>(_slots[brian2cppyy::SLOT_ERROR_RECORD].p);",
        ]
        self.pointers = []  #: `ArrayPointer` of each array
        self.draws_random_numbers = False  #: whether a function draws from the shared buffers
        self._declared = set()
        for name, var in sorted(variables.items()):
            self._add_variable(name, var)

    @classmethod
    def of_code_object(cls, variables, owner, codeobj_class, get_array_name, name,
                       template_name):
        """The layout of the code object ``name`` of template
        ``template_name`` (whose CPP_OBJECTS it reads), for the generator and
        for the code object."""
        template = getattr(codeobj_class.templater, template_name)
        specifiers = template_specifiers.read(template.template_source, template_name)
        return cls(variables, owner, codeobj_class, get_array_name, specifiers.cpp_objects,
                   described_as=f"'{name}' (template '{template_name}')")

    def fill(self, device):
        """The slot array (uint64) and the objects it points into."""
        slots = np.zeros(len(self.slots), dtype=np.uint64)
        keepalive = []
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

    def _add_variable(self, name, var):
        if isinstance(var, Function):
            self._add_function(name, var)
        elif isinstance(var, AuxiliaryVariable):
            # set by the statements (e.g. _cond, _iter_low), declared here
            if self._declare(name):
                self.lines.append(f"{cpp_type(var.dtype)} {name};")
        elif isinstance(var, Subexpression):
            return
        elif isinstance(var, Constant):
            if self._declare(name):
                self._add_constant(name, var.get_value())
        elif isinstance(var, DynamicArrayVariable):
            self._add_dynamic_array(name, var)
        elif isinstance(var, ArrayVariable):
            self._add_device_array(name, var)
        elif type(var).__name__ == "PyCapsule":
            if self._declare(name):
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
        cpp_class = self.cpp_objects.get(name)
        cpp_name = capsule_name(capsule)
        if cpp_class is None or cpp_class != cpp_name:
            raise NotImplementedError(
                f"{self.described_as} refers to '{name}', a C++ object of type "
                f"'{cpp_name}' that its template does not declare in CPP_OBJECTS."
            )
        k = self._add(CppObjectSlot(capsule, cpp_name))
        self.lines.append(
            f"{cpp_class}* const {name} = static_cast<{cpp_class}*>(_slots[{k}].p);"
        )

    def _add_pointer(self, var, source):
        """The generated code's pointer to ``var``'s data, once per array
        (two variables may name one array: ``v_pre`` and ``v_post``)."""
        pointer = ArrayPointer(
            cpp_type(var.dtype), self.get_array_name(var, True),
            restrict=not (var.scalar or var.size == 1),
        )
        if self._declare(pointer.name):
            self.pointers.append(pointer)
            self.lines.append(f"{pointer.parameter} = {source};")

    def _add_dynamic_array(self, name, var):
        ctype = cpp_type(var.dtype)
        dyn_name = self.get_array_name(var, False)
        if self._declare(dyn_name):
            slot = DynamicArraySlot(var)
            cls = f"{slot.cpp_class}<{ctype}>"
            k = self._add(slot)
            self.lines.append(
                f"{cls}* const {dyn_name}_ptr = static_cast<{cls}*>(_slots[{k}].p);"
            )
        if var.ndim == 1:
            self._add_pointer(var, f"{dyn_name}_ptr->get_data_ptr()")
        if self._declare(f"_num{name}"):
            size = "size()" if var.ndim == 1 else "rows()"
            self.lines.append(f"const size_t _num{name} = {dyn_name}_ptr->{size};")

    def _add_device_array(self, name, var):
        pointer_name = self.get_array_name(var, True)
        if pointer_name not in self._declared:
            k = self._add(DeviceArraySlot(var))
            self._add_pointer(var, f"static_cast<{cpp_type(var.dtype)}*>(_slots[{k}].p)")
        if self._declare(f"_num{name}"):
            k = self._add(IntSlot(var.get_len()))
            self.lines.append(f"const size_t _num{name} = (size_t)_slots[{k}].i;")

    def _add_function(self, name, function):
        """The arrays in a function implementation's namespace (e.g. the
        values of a TimedArray, the random-number buffers), with its
        dependencies: each goes into the static variable that the function's
        code reads (``_namespace<key>``, declared by Brian2's generator with
        the function's code)."""
        impl = function.implementations[self.codeobj_class]
        if impl.get_code(self.owner) is not None:
            namespace = impl.get_namespace(self.owner) or {}
            for key, value in sorted(namespace.items()):
                if self._declare(key):
                    self._add_namespace_array(name, key, value)
        for dep_name, dep in (impl.dependencies or {}).items():
            self._add_function(dep_name, dep)

    def _add_namespace_array(self, function_name, key, value):
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            raise NotImplementedError(
                f"The C++ implementation of function '{function_name}' puts "
                f"'{key}' ({type(value).__name__}) into its namespace; the "
                "cppyy target can only pass numpy arrays to C++ code."
            )
        ctype = cpp_type(value.dtype)
        k = self._add(NumpyArraySlot(value))
        self.lines.append(f"_namespace{key} = static_cast<{ctype}*>(_slots[{k}].p);")
        if random_buffers.is_shared_buffer(value):
            self.draws_random_numbers = True
