"""CppyyCodeObject: turns a rendered template into JIT-compiled kernels and
runs them.

Every block (``before_run``, ``run``, ``after_run``) of a code object becomes
one kernel ``int64_t _kernel(brian2cppyy::Slot*)``. The rendered template is
the kernel's source: the code generator emitted the C++ declarations that
read the kernel's arguments from its slots (`kernel_arguments`: array
pointers, Brian2's dynamic-array objects, constants, function namespaces) and
the template placed them. The code object has Cling compile the source
(`jit`), fills the slots (laid out as the generator laid them out), and then
calls the kernel through a plain C function pointer: no argument conversion
on the hot path, no copies of the data. What
is particular to a template (an array it returns, a call to its owner, the C++
objects it uses) is written in the template (`template_specifiers`); calling
a kernel and raising its errors is `kernel`'s (the fused loop calls the same
kernels).
"""

import os

import numpy as np
import jinja2
from brian2.codegen.codeobject import CodeObject, check_compiler_kwds
from brian2.codegen.generators.cpp_generator import c_data_type
from brian2.codegen.templates import MultiTemplate, Templater
from brian2.core.functions import Function
from brian2.core.preferences import prefs
from brian2.devices.device import get_device

from ..cling import compile_thread, compiler_settings, jit, runtime, runtime_support
from ..log import get_logger
from . import template_specifiers, user_code
from .array_names import ArrayNames
from .generator import CppyyCodeGenerator
from .kernel import Kernel, KernelSite
from .kernel_arguments import ArgumentLayout

__all__ = ["CppyyCodeObject", "CppyyCompilationError"]

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


class CppyyCompilationError(jit.CompilationError):
    """The generated C++ code of a code object did not compile."""


@jinja2.pass_context
def _constant_or_scalar(context, varname, variable):
    """Brian2's ``constant_or_scalar`` for our templates: ``varname`` for a
    constant, else the first element of the array, named as the code
    generator names it (``get_array_name``, `array_names`)."""
    if variable.array:
        return f"{context['get_array_name'](variable)}[0]"
    return varname


@jinja2.pass_context
def _array_names(context, variables, access_data=True):
    """Brian2's ``variables_to_array_names`` for our templates: the names of
    the variables' arrays, as the code generator names them."""
    return [context["get_array_name"](var, access_data) for var in variables]


class CppyyCodeObject(CodeObject):
    """Runs Brian2's generated C++ code, JIT-compiled in memory by cppyy."""

    templater = Templater(
        "brian2cppyy.target",
        ".cpp",
        env_globals={
            "c_data_type": c_data_type,
            "constant_or_scalar": _constant_or_scalar,
            "array_names": _array_names,
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
        self.specifiers = template_specifiers.read(template_source, template_name)
        # Brian2 expects a namespace dict on runtime code objects
        self.namespace = {"_owner": owner}
        self._argument_layout = None

    # -- compilation -------------------------------------------------------

    def _block_source(self, block):
        if isinstance(self.code, MultiTemplate):
            return getattr(self.code, block, "")
        return self.code if block == "run" else ""

    def compile_block(self, block):
        """The block's `Kernel`; its unit compiles on the compile thread
        (`compile_thread`, unless ``codegen.runtime.cppyy.compile_in_background``
        is off) while Brian2 goes on, and the kernel waits for it when it is
        first called. A unit that does not compile raises
        `CppyyCompilationError` there."""
        source = self._block_source(block).strip()
        if not source or "EMPTY_CODE_BLOCK" in source:
            return None
        self._prepare_compiler_kwds()
        preamble, epilogue = self._unit_frame()
        dump_path = None
        dump_dir = prefs["codegen.runtime.cppyy.dump_dir"]
        if dump_dir:
            dump_path = os.path.join(dump_dir, f"{self.name}_{block}.cpp")
        pragmas = compiler_settings.pragmas(
            compiler_settings.current(), self.specifiers.block_runs_once(block)
        )
        unit = (block, source, preamble, epilogue, dump_path, pragmas)
        if prefs["codegen.runtime.cppyy.compile_in_background"]:
            runtime.launch()  # here: its preparation must not run on the compile thread
            compiled = compile_thread.submit(self._compile_unit, *unit)
            for header in self.specifiers.prepares:
                compile_thread.submit_when_idle(_prepare_header, header,
                                                compiler_settings.current())
        else:
            compiled = self._compile_unit(*unit)
        slots, keepalive = self.argument_layout().fill(self.device)
        site = KernelSite(self.name, self.template_name, block, self.owner,
                          tuple(self.functions_with_code()), self.kernel_exceptions())
        return Kernel(compiled, slots, keepalive, site)

    def _compile_unit(self, block, source, preamble, epilogue, dump_path, pragmas):
        """Compile a block's unit (with the runtime code it needs first);
        returns the kernel's address."""
        try:
            if runtime_support.HEADER in self.specifiers.includes:
                runtime_support.prepare_for(self.variables)
            return jit.compile_kernel(source, preamble, epilogue, dump_path, pragmas)
        except jit.CompilationError as exc:
            raise CppyyCompilationError(
                self._compile_error_message(block, exc),
                diagnostics=exc.diagnostics,
                lines=exc.lines,
            ) from None

    def _unit_frame(self):
        """``(preamble, epilogue)``: what goes before and after the kernel's
        namespace. Before it, the macros of ``codegen.cpp.define_macros`` and
        of the functions' ``define_macros``, the template's INCLUDES and
        its ``preamble``; after it, the template's ``epilogue`` and the
        ``#undef`` of those macros."""
        macros = self._define_macros()
        preamble = (
            [f"#define {name} {value if value is not None else ''}".rstrip()
             for name, value in macros]
            + [f'#include "{header}"' for header in self.specifiers.includes]
            + [getattr(self.code, "preamble", "").strip()]
        )
        epilogue = [getattr(self.code, "epilogue", "").strip()] + [
            f"#undef {name}" for name, _ in macros
        ]
        preamble, epilogue = ("\n".join(filter(None, lines)) for lines in (preamble, epilogue))
        return preamble, epilogue

    def argument_layout(self):
        """The slots of the code object's kernels, as the code generator laid
        them out when it declared them (the same variables give the same
        slots)."""
        if self._argument_layout is None:
            self._argument_layout = ArgumentLayout.of_code_object(
                self.variables, self.owner, type(self), ArrayNames(self.variables, self.device),
                self.name, self.template_name,
            )
        return self._argument_layout

    def _prepare_compiler_kwds(self):
        """Headers, include dirs, libraries and sources of user functions."""
        kwds = self.compiler_kwds

        def both(pref, key):
            return list(prefs[f"codegen.cpp.{pref}"]) + list(kwds.get(key, []))

        try:
            user_code.load(
                include_dirs=both("include_dirs", "include_dirs"),
                library_dirs=both("library_dirs", "library_dirs")
                + list(kwds.get("runtime_library_dirs", [])),
                libraries=both("libraries", "libraries"),
                headers=both("headers", "headers"),
                sources=kwds.get("sources", []),
            )
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

    def kernel_exceptions(self):
        """status -> function(error record, `KernelSite`) -> exception, for
        the statuses of this code object's templates (`Kernel.raise_error`;
        those of every kernel are `kernel_status`'s)."""
        return {}

    def run_block(self, block):
        method = self.specifiers.owner_calls.get(block)
        if method is not None:
            getattr(self.owner, method)()
        kernel = self.compiled_code.get(block)
        if kernel is None:
            return None
        returns = self.specifiers.returns if block == "run" else None
        if returns is None:
            kernel.run()
            return None
        buffer = returns.buffer(self.variables)
        kernel.set_return_buffer(buffer.ctypes.data)
        try:
            size = kernel.run()
        finally:
            kernel.set_return_buffer(0)
        return buffer[:size]

    def functions_with_code(self):
        """Names of the functions with C++ code of their own that the code
        object calls (users' implementations, TimedArray, ...)."""
        return [
            name for name, impl in _function_implementations(self.variables)
            if impl.get_code(self.owner)
        ]


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


def _prepare_header(header, settings):
    """Compile a runtime header (``PREPARES``) with the kernels' settings
    (its non-inline code is compiled as a kernel that includes it would
    compile it). Its errors are left to that kernel, which reports them."""
    head, tail = compiler_settings.pragmas(settings)
    try:
        jit.compile_runtime_unit(f'{head}\n#include "{header}"\n{tail}\n')
    except jit.CompilationError as exc:
        get_logger(__name__).debug(f"Preparing {header} failed: {exc}")
