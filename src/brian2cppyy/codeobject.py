"""CppyyCodeObject: turns a rendered template into JIT-compiled kernels and
runs them.

Every block (``before_run``, ``run``, ``after_run``) of a code object becomes
one kernel ``int64_t _kernel(brian2cppyy::Slot*)``. The code object lays out
the kernel's arguments (array pointers, Brian2's dynamic-array objects,
constants, function namespaces) in a slot array once, writes the C++
declarations that read them back into the kernel (the line marked
``BRIAN2CPPYY_LOAD_NAMESPACE`` in the templates), and then calls the kernel
through a plain C function pointer: no argument conversion on the hot path,
no copies of the data.

Array names are replaced by neutral ones (``_arr0``, ``_dyn1``, ...) before
compilation, so that the same model structure in another network (other
object names) reuses the compiled kernel.
"""

import ctypes
import os
import re

import numpy as np
from brian2.codegen.codeobject import CodeObject, check_compiler_kwds, constant_or_scalar
from brian2.codegen.generators.cpp_generator import c_data_type
from brian2.codegen.templates import MultiTemplate, Templater
from brian2.core.base import BrianObjectException
from brian2.core.functions import Function
from brian2.core.preferences import prefs
from brian2.core.variables import (
    ArrayVariable,
    AuxiliaryVariable,
    Constant,
    DynamicArrayVariable,
    Subexpression,
)
from brian2.devices.device import get_device
from brian2.utils.stringtools import get_identifiers

from . import compiler_settings, faults, jit
from .generator import CppyyCodeGenerator

__all__ = ["CppyyCodeObject", "CppyyCompilationError"]

#: The marker line in ``common_group.cpp`` that receives the declarations
LOAD_NAMESPACE_MARKER = "// BRIAN2CPPYY_LOAD_NAMESPACE"

#: The first line of a kernel that draws from the shared random buffers
#: (kernels of several threads may run at once: see random_mutex in runtime.hpp)
RANDOM_LOCK_LINE = "brian2cppyy::RandomLock _random_lock;"

#: Keywords of ``@implementation('cpp', ...)`` that the target understands
ACCEPTED_COMPILER_KWDS = [
    "headers",
    "sources",
    "include_dirs",
    "libraries",
    "library_dirs",
    "runtime_library_dirs",
    "define_macros",
]

#: Templates whose kernel fills an output buffer: name -> how to size it
RETURNING_TEMPLATES = {
    "group_variable_get": "_group_idx",
    "group_variable_get_conditional": "N",
    "group_get_indices": "N",
}

#: C++ type of the objects Brian2 hands over in PyCapsules, by capsule name
CAPSULE_TYPES = {"CSpikeQueue": "CSpikeQueue"}

#: Python work a template needs around its kernel: (template, block) -> callable
PYTHON_HOOKS = {
    # the pathway (re)builds its spike queue from the delays before each run
    ("synapses_push_spikes", "before_run"): lambda owner: owner.initialise_queue(),
}

#: brian2cppyy::guarded_kernel_call(call) (fault_guard.hpp); call: int64[2],
#: the kernel's address and its slot array's
_GUARDED_CALL_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)
_guarded_call = None


def _guarded_call_function():
    global _guarded_call
    if _guarded_call is None:
        _guarded_call = _GUARDED_CALL_TYPE(jit.guarded_call_address())
    return _guarded_call


class CppyyCompilationError(jit.CompilationError):
    """The generated C++ code of a code object did not compile."""


def _cpp_type(dtype):
    """C++ element type of an array (Brian2 stores booleans as ``char``)."""
    return c_data_type(np.dtype(dtype).type)


class _Layout:
    """The slots of one kernel and the C++ lines that read them."""

    def __init__(self):
        # slot 0: the return buffer; slot 1: details of an error (int64[4])
        self.slots = [("ptr", None), ("ptr", None)]
        self.lines = []

    def add(self, kind, value):
        self.slots.append((kind, value))
        return len(self.slots) - 1


class _Kernel:
    """A compiled block bound to its slot array. Calling it runs the kernel
    under the fault guard (a hardware fault or a second Ctrl-C returns an
    error status instead of ending the process)."""

    __slots__ = (
        "function", "function_address", "slots", "slots_address", "keepalive", "error_info",
        "call_record", "call_record_address",
    )

    def __init__(self, address, slots, keepalive):
        self.function = _guarded_call_function()
        self.function_address = address
        self.error_info = np.zeros(4, dtype=np.int64)
        slots[1] = self.error_info.ctypes.data
        self.slots = slots
        self.slots_address = slots.ctypes.data
        self.call_record = np.array([address, self.slots_address], dtype=np.int64)
        self.call_record_address = self.call_record.ctypes.data
        self.keepalive = keepalive

    def __call__(self):
        return self.function(self.call_record_address)


class CppyyCodeObject(CodeObject):
    """Runs Brian2's generated C++ code, JIT-compiled in memory by cppyy."""

    templater = Templater(
        "brian2cppyy",
        ".cpp",
        env_globals={
            "c_data_type": c_data_type,
            "constant_or_scalar": constant_or_scalar,
            "dtype": np.dtype,
        },
    )
    generator_class = CppyyCodeGenerator
    class_name = "cppyy"

    def __init__(
        self,
        owner,
        code,
        variables,
        variable_indices,
        template_name,
        template_source,
        compiler_kwds,
        name="cppyy_code_object*",
    ):
        try:
            check_compiler_kwds(compiler_kwds, ACCEPTED_COMPILER_KWDS, "cppyy")
        except ValueError as exc:
            raise ValueError(
                f"{exc} {_unknown_kwds_culprits(variables, owner)}".rstrip()
            ) from None
        super().__init__(
            owner,
            code,
            variables,
            variable_indices,
            template_name=template_name,
            template_source=template_source,
            compiler_kwds=compiler_kwds,
            name=name,
        )
        self.device = get_device()
        # Brian2 expects a namespace dict on runtime code objects
        self.namespace = {"_owner": owner}

    # -- compilation -------------------------------------------------------

    def _block_source(self, block):
        if isinstance(self.code, MultiTemplate):
            return getattr(self.code, block, "")
        return self.code if block == "run" else ""

    def compile_block(self, block):
        source = self._block_source(block).strip()
        if not source or "EMPTY_CODE_BLOCK" in source:
            return None
        self._prepare_compiler_kwds()
        layout = self._layout(get_identifiers(source))
        if "draw_from_buffer" in source:
            layout.lines.insert(0, RANDOM_LOCK_LINE)
        source = source.replace(LOAD_NAMESPACE_MARKER, "\n".join(layout.lines), 1)
        source = _inlinable(self._neutral_names(source))
        preamble, body, epilogue = _split_preprocessor(source, self._define_macros())
        dump_path = None
        dump_dir = prefs["codegen.runtime.cppyy.dump_dir"]
        if dump_dir:
            dump_path = os.path.join(dump_dir, f"{self.name}_{block}.cpp")
        try:
            address = jit.compile_kernel(
                body, preamble, epilogue, dump_path,
                compiler_settings.pragmas(compiler_settings.current()),
            )
        except jit.CompilationError as exc:
            raise CppyyCompilationError(
                self._compile_error_message(block, exc),
                diagnostics=exc.diagnostics,
                lines=exc.lines,
            ) from None
        slots, keepalive = self._fill_slots(layout)
        return _Kernel(address, slots, keepalive)

    def _prepare_compiler_kwds(self):
        """Headers, include dirs, libraries and sources of user functions."""
        kwds = self.compiler_kwds
        try:
            for path in list(prefs["codegen.cpp.include_dirs"]) + list(
                kwds.get("include_dirs", [])
            ):
                jit.add_include_dir(path)
            library_dirs = list(prefs["codegen.cpp.library_dirs"]) + list(
                kwds.get("library_dirs", [])
            ) + list(kwds.get("runtime_library_dirs", []))
            for library in list(prefs["codegen.cpp.libraries"]) + list(
                kwds.get("libraries", [])
            ):
                jit.load_library(library, library_dirs)
            for header in list(prefs["codegen.cpp.headers"]) + list(
                kwds.get("headers", [])
            ):
                jit.include_header(header)
            for source in kwds.get("sources", []):
                jit.compile_source_file(source)
        except jit.CompilationError as exc:
            functions = ", ".join(
                f"'{name}'"
                for name, impl in _function_implementations(self.variables)
                if impl.compiler_kwds
            )
            owner = getattr(self.owner, "name", "?")
            raise CppyyCompilationError(
                f"Preparing the C++ code of '{self.name}' (for '{owner}') failed "
                f"while loading what the implementation of function(s) {functions} "
                f"asks for: {exc}",
                diagnostics=exc.diagnostics,
            ) from None

    def _define_macros(self):
        macros = list(prefs["codegen.cpp.define_macros"]) + list(
            self.compiler_kwds.get("define_macros", [])
        )
        result = []
        for macro in macros:
            if isinstance(macro, (tuple, list)):
                name, value = macro
            else:
                name, value = macro, None
            result.append((name, value))
        return result

    def _layout(self, identifiers):
        """Slots and declarations for everything the kernel refers to."""
        layout = _Layout()
        if "_return_buffer" in identifiers:
            layout.lines.append("void* const _return_buffer = _slots[0].p;")
        if "_error_info" in identifiers:
            layout.lines.append("int64_t* const _error_info = static_cast<int64_t*>(_slots[1].p);")
        declared = set()
        for name, var in sorted(self.variables.items()):
            if isinstance(var, Function):
                self._layout_function(name, var, layout, declared)
            elif isinstance(var, AuxiliaryVariable):
                # set by the statements (e.g. _cond, _iter_low), declared here
                if name in identifiers and name not in declared:
                    declared.add(name)
                    layout.lines.append(f"{_cpp_type(var.dtype)} {name};")
            elif isinstance(var, Subexpression):
                continue
            elif isinstance(var, Constant):
                if name in identifiers and name not in declared:
                    declared.add(name)
                    self._layout_constant(name, var.get_value(), layout)
            elif isinstance(var, ArrayVariable):
                self._layout_array(name, var, layout, identifiers, declared)
            elif type(var).__name__ == "PyCapsule":
                if name in identifiers and name not in declared:
                    declared.add(name)
                    self._layout_capsule(name, var, layout)
        return layout

    def _layout_capsule(self, name, capsule, layout):
        """A C++ object of Brian2's (e.g. a pathway's spike queue) that
        reaches us as a PyCapsule: the kernel gets the pointer, typed."""
        capsule_name = jit.capsule_name(capsule)
        cpp_type = CAPSULE_TYPES.get(capsule_name)
        if cpp_type is None:
            raise NotImplementedError(
                f"'{self.name}' refers to '{name}', a C++ object of unknown type "
                f"'{capsule_name}'."
            )
        k = layout.add("capsule", (capsule, capsule_name))
        layout.lines.append(f"{cpp_type}* const {name} = static_cast<{cpp_type}*>(_slots[{k}].p);")

    def _layout_constant(self, name, value, layout):
        value = np.asarray(value)
        ctype = _cpp_type(value.dtype)
        if value.dtype.kind == "f":
            k = layout.add("f", float(value))
            layout.lines.append(f"const {ctype} {name} = ({ctype})_slots[{k}].d;")
        else:
            k = layout.add("i", int(value))
            layout.lines.append(f"const {ctype} {name} = ({ctype})_slots[{k}].i;")

    def _layout_array(self, name, var, layout, identifiers, declared):
        array_name = self.device.get_array_name(var)
        nums = [f"_num{name}", f"_num{array_name}"]
        if isinstance(var, DynamicArrayVariable):
            dyn_name = self.device.get_array_name(var, access_data=False)
            names = {array_name, f"{dyn_name}_ptr", dyn_name, *nums}
        else:
            names = {array_name, *nums}
        if not (names & identifiers):
            return
        ctype = _cpp_type(var.dtype)
        lines = layout.lines
        if isinstance(var, DynamicArrayVariable):
            cls = "DynamicArray1D" if var.ndim == 1 else "DynamicArray2D"
            size = "size()" if var.ndim == 1 else "rows()"
            if array_name not in declared:
                declared.add(array_name)
                k = layout.add("dyn", var)
                lines.append(
                    f"{cls}<{ctype}>* const {dyn_name}_ptr = "
                    f"static_cast<{cls}<{ctype}>*>(_slots[{k}].p);"
                )
                lines.append(f"{ctype}* const {array_name} = {dyn_name}_ptr->get_data_ptr();")
            for num in nums:
                if num not in declared:
                    declared.add(num)
                    lines.append(f"const size_t {num} = {dyn_name}_ptr->{size};")
        else:
            if array_name not in declared:
                declared.add(array_name)
                k = layout.add("array", var)
                lines.append(
                    f"{ctype}* const {array_name} = static_cast<{ctype}*>(_slots[{k}].p);"
                )
            for num in nums:
                if num not in declared:
                    declared.add(num)
                    k = layout.add("i", int(var.get_len()))
                    lines.append(f"const size_t {num} = (size_t)_slots[{k}].i;")

    def _layout_function(self, name, function, layout, declared):
        """Arrays in a function implementation's namespace (e.g. the values of
        a TimedArray, the random-number buffers), with its dependencies."""
        impl = function.implementations[self.__class__]
        namespace = impl.get_namespace(self.owner) or {}
        for key, value in sorted(namespace.items()):
            if key in declared:
                continue
            if not isinstance(value, np.ndarray) or value.ndim == 0:
                raise NotImplementedError(
                    f"The C++ implementation of function '{name}' puts "
                    f"'{key}' ({type(value).__name__}) into its namespace; the "
                    "cppyy target can only pass numpy arrays to C++ code."
                )
            declared.add(key)
            ctype = _cpp_type(value.dtype)
            k = layout.add("ndarray", value)
            layout.lines.append(f"{ctype}* const {key} = static_cast<{ctype}*>(_slots[{k}].p);")
        for dep_name, dep in (impl.dependencies or {}).items():
            self._layout_function(dep_name, dep, layout, declared)

    def _fill_slots(self, layout):
        slots = np.zeros(len(layout.slots), dtype=np.uint64)
        as_float = slots.view(np.float64)
        as_int = slots.view(np.int64)
        keepalive = []
        for k, (kind, value) in enumerate(layout.slots):
            if value is None:
                continue
            if kind == "f":
                as_float[k] = value
            elif kind == "i":
                as_int[k] = value
            elif kind == "array":
                array = self.device.get_value(value)
                if not array.flags["C_CONTIGUOUS"]:
                    raise TypeError(f"The array of '{value.name}' is not contiguous.")
                keepalive.append(array)
                slots[k] = array.ctypes.data
            elif kind == "ndarray":
                array = np.ascontiguousarray(value)
                keepalive.append(array)
                slots[k] = array.ctypes.data
            elif kind == "capsule":
                capsule, capsule_name = value
                keepalive.append(capsule)
                slots[k] = jit.capsule_pointer(capsule, capsule_name)
            elif kind == "dyn":
                capsule = self.device.get_capsule(value)
                keepalive.append(self.device.get_value(value, access_data=False))
                keepalive.append(capsule)
                cls = "DynamicArray1D" if value.ndim == 1 else "DynamicArray2D"
                slots[k] = jit.capsule_pointer(capsule, cls)
        return slots, keepalive

    def _neutral_names(self, source):
        """Replace array names (which contain object names) by neutral ones."""
        replacements = {}
        arrays = {}
        for name, var in sorted(self.variables.items()):
            if not isinstance(var, ArrayVariable):
                continue
            array_name = self.device.get_array_name(var)
            if array_name in arrays:
                continue
            k = len(arrays)
            arrays[array_name] = k
            replacements[array_name] = f"_arr{k}"
            replacements[f"_ptr{array_name}"] = f"_ptr_arr{k}"
            replacements[f"_num{array_name}"] = f"_num_arr{k}"
            if isinstance(var, DynamicArrayVariable):
                dyn_name = self.device.get_array_name(var, access_data=False)
                replacements[dyn_name] = f"_dyn{k}"
                replacements[f"{dyn_name}_ptr"] = f"_dyn{k}_ptr"
        if not replacements:
            return source
        pattern = re.compile(
            r"\b("
            + "|".join(re.escape(n) for n in sorted(replacements, key=len, reverse=True))
            + r")\b"
        )
        return pattern.sub(lambda m: replacements[m.group(0)], source)

    def _compile_error_message(self, block, exc):
        owner = getattr(self.owner, "name", "?")
        message = [
            f"The C++ code of '{self.name}' (template '{self.template_name}', "
            f"block '{block}', for '{owner}') does not compile."
        ]
        culprits = []
        for lineno, text, _ in exc.lines:
            for name, impl in _function_implementations(self.variables):
                try:
                    code = impl.get_code(self.owner)
                except Exception:  # noqa: BLE001 - only for the message
                    continue
                if isinstance(code, dict):
                    code = "\n".join(str(v) for v in code.values())
                if code and text and text in code and name not in culprits:
                    culprits.append(name)
        if culprits:
            message.append(
                "The error is in the C++ implementation of function(s) "
                + ", ".join(f"'{c}'" for c in culprits)
                + "."
            )
        message.append("Compiler message:")
        message.append("  " + exc.diagnostics.replace("\n", "\n  "))
        if exc.lines:
            message.append("Offending generated line(s):")
            for lineno, text, error in exc.lines:
                message.append(f"  {lineno}: {text}    <- {error}")
        return "\n".join(message)

    # -- running -----------------------------------------------------------

    def run_block(self, block):
        hook = PYTHON_HOOKS.get((self.template_name, block))
        if hook is not None:
            hook(self.owner)
        kernel = self.compiled_code.get(block)
        if kernel is None:
            return None
        returning = RETURNING_TEMPLATES.get(self.template_name) if block == "run" else None
        if returning is not None:
            buffer = self._return_buffer(returning)
            kernel.slots[0] = buffer.ctypes.data
        faults.keep_handlers_installed()
        try:
            status = kernel()
        except KeyboardInterrupt:
            # the first Ctrl-C (Python's handler) surfaces as soon as the
            # kernel returns; if a second one left the kernel, say so
            if kernel.error_info[3] != jit.ERR_KERNEL_INTERRUPTED:
                raise
            status = jit.ERR_KERNEL_INTERRUPTED
        if status < 0:
            self._raise_status(block, status, kernel.error_info)
        jit.raise_pending_error()
        if returning is not None:
            kernel.slots[0] = 0
            return buffer[:status]
        return None

    def _raise_status(self, block, status, info):
        """Turn a kernel's error status into the exception Brian2 raises."""
        info[3] = 0  # the fault guard's mark (see run_block)
        if status == jit.ERR_INDEX:
            name = "ij"[int(info[2])] if 0 <= info[2] <= 1 else "index"
            cause = IndexError(
                f"index {name}={info[0]} outside allowed range from 0 to {info[1]}"
            )
        elif status == jit.ERR_SAMPLE_SIZE:
            cause = IndexError(
                f"Requested sample size {info[0]} is bigger than the population "
                f"size {info[1]}."
            )
        elif status == jit.ERR_NEGATIVE_SAMPLE_SIZE:
            cause = IndexError(f"Requested sample size {info[0]} is negative.")
        elif status == jit.ERR_ZERO_DIVISION:
            cause = ZeroDivisionError("integer division or modulo by zero")
        elif status == jit.ERR_FAULT:
            cause = faults.fault_exception(self, block, info, self._functions_with_code())
        elif status == jit.ERR_KERNEL_INTERRUPTED:
            raise faults.interrupt_exception(self, block, self._functions_with_code())
        elif status == jit.ERR_CPP_EXCEPTION:
            functions = self._functions_with_code()
            cause = RuntimeError(
                "A C++ exception was thrown in the generated code"
                + (f" (functions used: {', '.join(functions)})" if functions else "")
                + f": {jit.last_cpp_exception_message()}"
            )
        elif status == jit.ERR_CALLBACK:
            cause = jit.take_pending_error() or RuntimeError(jit.status_message(status))
        else:
            cause = RuntimeError(jit.status_message(status))
        message = (
            f"An exception occurred during the execution of the '{block}' block "
            f"of code object '{self.name}'.\n"
        )
        raise BrianObjectException(message, self.owner) from cause

    def _functions_with_code(self):
        """Names of the functions with C++ code of their own that the code
        object calls (users' implementations, TimedArray, ...)."""
        return [
            name for name, impl in _function_implementations(self.variables)
            if impl.get_code(self.owner)
        ]

    def _return_buffer(self, size_variable):
        var = self.variables[size_variable]
        if isinstance(var, ArrayVariable) and not var.scalar:
            size = var.get_len()
        else:
            size = int(np.asarray(var.get_value()).item())
        if self.template_name == "group_get_indices":
            dtype = np.int32
        else:
            dtype = self.variables["_variable"].dtype
        return np.zeros(max(size, 1), dtype=dtype)


def _function_implementations(variables):
    """``(name, implementation)`` of each function a code object uses, by
    name (functions without an implementation for our target are left out)."""
    for name, var in sorted(variables.items()):
        if isinstance(var, Function):
            try:
                yield name, var.implementations[CppyyCodeObject]
            except KeyError:
                continue


def _unknown_kwds_culprits(variables, owner):
    """Which user functions of a code object carry compiler keywords the
    target does not know (for the error message)."""
    culprits = []
    for name, impl in _function_implementations(variables):
        kwds = impl.compiler_kwds
        unknown = sorted(set(kwds or {}) - set(ACCEPTED_COMPILER_KWDS))
        if unknown:
            culprits.append(f"'{name}' ({', '.join(unknown)})")
    if not culprits:
        return ""
    return (
        f"They come from the implementation of the function(s) {', '.join(culprits)}, "
        f"used by '{getattr(owner, 'name', '?')}'."
    )


#: ``static inline`` at the start of a declaration
_STATIC_INLINE = re.compile(r"\bstatic(\s+)inline\b")


def _inlinable(source):
    """The source with ``static inline`` functions made ``inline``.

    Cling (cppyy 3.5) never inlines a function of internal linkage into
    its caller (measured: a ``static inline`` helper stays a call, an
    ``inline`` one is inlined), and a call in a kernel's loop stops the loop
    vectoriser. Brian2 writes every support function (``_timestep``,
    ``_rand``, TimedArray lookups, users' functions) as ``static inline``.
    Each unit lives in a namespace of its own, so external linkage changes
    nothing else."""
    return _STATIC_INLINE.sub(r"inline", source)


def _split_preprocessor(source, define_macros):
    """Move ``#include`` lines out of the kernel's namespace (into the
    preamble) and ``#undef`` every macro the unit defines (in the epilogue),
    so that nothing leaks into later units."""
    preamble, body, undefs = [], [], []
    for name, value in define_macros:
        preamble.append(f"#define {name} {value if value is not None else ''}".rstrip())
        undefs.append(f"#undef {name}")
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#include"):
            preamble.append(stripped)
            continue
        match = re.match(r"#\s*define\s+([A-Za-z_]\w*)", stripped)
        if match:
            undefs.append(f"#undef {match.group(1)}")
        body.append(line)
    return "\n".join(preamble), "\n".join(body), "\n".join(undefs)
