"""CppyyCodeGenerator: Brian2's C++ code generator, adapted to kernels that
live in their own C++ namespace inside Cling, and to a compiler that does not
rewrite maths the way gcc's ``-ffast-math`` does.

* The arithmetic helpers Brian2 prepends to every C++ unit (``_brian_mod``,
  ``_brian_floordiv``, ``_brian_pow``) are compiled once, from our runtime
  header, instead of once per kernel.
* Powers are rendered by `CppyyNodeRenderer`: ``x**n`` with a constant
  integer ``n`` becomes multiplications (``brian2cppyy::ipow<n>(x)``, see
  ``include/brian2cppyy/powers.hpp``). Under fast-math (Brian2's default C++
  flags, see `compiler_settings`) also, as gcc does there, ``x**(k+1/2)``
  becomes a square root times multiplications and ``exp(a)**b`` becomes
  ``exp(a*b)``. Brian2's Hodgkin-Huxley code is full of ``n**4`` and
  ``exp(v/mV)**0.0555``: gcc turns those into cheap code, Cling does not.
* Repeated calls of pure maths functions in the vector code are computed
  once per index (`common_calls`: exponential Euler repeats every ``exp``).
* The template learns what the vector code does (``_traits``, a
  `kernel_traits.KernelTraits`): whether its loop may be split over threads.
* Arrays are named after the code object's variables, not after their
  owners (`array_names`), so that the same model in another network gives
  the same source and reuses the compiled kernels.
* Function names are translated while rendering, not by a text substitution
  before parsing, so that an implementation may be named by a qualified C++
  name (``brian2cppyy::vmath::exp``).
* The generator emits the kernel's declarations, as Cython's generator
  emits ``load_namespace``, and the templates place them (`determine_keywords`):
  ``load_namespace`` (the lines that read the kernel's arguments from its
  slots, `kernel_arguments`), ``array_pointers`` (the pointers to the arrays,
  for a template that takes them as ``__restrict`` parameters) and
  ``random_lock`` (for a kernel that draws random numbers). It also makes
  the functions' code fit for a kernel unit (`support_code`).
"""

import ast

from brian2.codegen.generators.cpp_generator import CPPCodeGenerator
from brian2.core.functions import DEFAULT_FUNCTIONS
from brian2.devices.device import get_device
from brian2.parsing.rendering import CPPNodeRenderer

from ..cling import compiler_settings
from . import common_calls, kernel_traits, random_buffers, support_code
from .array_names import ArrayNames
from .kernel_arguments import ArgumentLayout

__all__ = ["CppyyCodeGenerator", "CppyyNodeRenderer"]

#: integer exponents up to this size become multiplications (gcc's
#: -ffast-math expands every constant integer power; beyond a few dozen
#: factors the rounding errors add up, and such powers are rare)
MAX_EXPANDED_EXPONENT = 16


def _constant_exponent(node):
    """The value of a numeric constant exponent (``3``, ``-2``, ``0.5``), else None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sign * node.value
    return None


class CppyyNodeRenderer(CPPNodeRenderer):
    """Brian2's C++ renderer with our rendering of powers and of function
    names (``function_names``: Brian2 name -> C++ name)."""

    def __init__(self, function_names, fast_math, exp_is_default=True, auto_vectorise=None):
        super().__init__(auto_vectorise=auto_vectorise)
        self.function_names = function_names
        self.fast_math = fast_math
        self.exp_is_default = exp_is_default

    def render_func(self, node):
        return self.function_names.get(node.id, node.id)

    def render_BinOp(self, node):
        if isinstance(node.op, ast.Pow):
            return self.render_power(node.left, node.right)
        return super().render_BinOp(node)

    def render_power(self, base, exponent):
        value = _constant_exponent(exponent)
        small = value is not None and abs(value) <= MAX_EXPANDED_EXPONENT
        rendered = self.render_node(base)
        if small and float(value).is_integer():
            n = int(value)
            if n == 2 or self.fast_math:  # x*x is exact
                return f"brian2cppyy::ipow<{n}>({rendered})"
            return f"brian2cppyy::vmath::powi({rendered}, {n})"
        if small and float(2 * value).is_integer():
            if self.fast_math:
                return f"brian2cppyy::fast_pow_half<{int(2 * value)}>({rendered})"
            return f"brian2cppyy::vmath::pow_half({rendered}, {int(value - 0.5)})"
        if self.fast_math and self.exp_is_default and _is_call_of(base, "exp"):
            # exp(a)**b == exp(a*b): one exp instead of exp, log and exp
            (argument,) = base.args
            return (
                f"{self.render_func(base.func)}"
                f"(({self.render_node(argument)}) * ({self.render_node(exponent)}))"
            )
        if value is not None and float(value).is_integer():
            # a large constant integer exponent: vmath::pow(double, int)
            return f"brian2cppyy::vmath::pow({rendered}, {int(value)})"
        # a variable exponent may be of any type (int64_t would make the
        # call ambiguous between pow(double, double) and pow(double, int))
        return f"brian2cppyy::vmath::pow({rendered}, (double)({self.render_node(exponent)}))"


def _is_call_of(node, name):
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and len(node.args) == 1
    )


class CppyyCodeGenerator(CPPCodeGenerator):
    """C++ generator for the ``cppyy`` target.

    It keeps ``class_name = 'cpp'`` so that every ``'cpp'`` function
    implementation (Brian2's defaults, `TimedArray`, `BinomialFunction`,
    users' ``@implementation('cpp', ...)``) is found for our code objects.
    """

    #: provided once by ``brian2cppyy/runtime.hpp``
    universal_support_code = ""

    def __init__(self, *args, **kwds):
        super().__init__(*args, **kwds)
        # arrays are named after the code object's variables (`array_names`)
        self.get_array_name = ArrayNames(self.variables, get_device())

    def translate_expression(self, expr):
        renderer = CppyyNodeRenderer(
            self.func_name_replacements,
            compiler_settings.current().fast_math,
            exp_is_default=self.variables.get("exp", DEFAULT_FUNCTIONS["exp"])
            is DEFAULT_FUNCTIONS["exp"],
            auto_vectorise={
                name for name, var in self.variables.items()
                if getattr(var, "auto_vectorise", False)
            },
        )
        return renderer.render_expr(expr).strip()

    def translate_statement_sequence(self, scalar_statements, vector_statements):
        vector_statements = {block: common_calls.merge(statements, self.variables)
                             for block, statements in vector_statements.items()}
        scalar_code, vector_code, kwds = super().translate_statement_sequence(
            scalar_statements, vector_statements)
        read, write = set(), set()
        for statements in vector_statements.values():
            block_read, block_write, _, _ = self.arrays_helper(statements)
            read |= block_read
            write |= block_write
        kwds["_traits"] = kernel_traits.traits(self.variables, self.variable_indices, read, write)
        return scalar_code, vector_code, kwds

    def determine_keywords(self):
        """Brian2's keywords, with our kernel's declarations instead of
        Brian2's ``pointers_lines``, and the functions' code made fit for a
        kernel unit (`support_code`): ``include_lines`` (placed before the
        unit's namespace) and ``defined_macros`` (undefined after it)."""
        keywords = super().determine_keywords()
        del keywords["pointers_lines"]  # declared by load_namespace
        includes, support = support_code.split_includes(
            support_code.inlinable(keywords["support_code_lines"])
        )
        keywords["support_code_lines"] = support
        keywords["include_lines"] = includes
        keywords["defined_macros"] = support_code.defined_macros(
            support + keywords["hashdefine_lines"]
        )
        layout = ArgumentLayout.of_code_object(
            self.variables, self.owner, self.codeobj_class, self.get_array_name,
            self.name, self.template_name,
        )  # the code object lays out the same slots (`CppyyCodeObject.argument_layout`)
        keywords["load_namespace"] = "\n".join(layout.lines)
        keywords["array_pointers"] = layout.pointers
        keywords["random_lock"] = random_buffers.RANDOM_LOCK if layout.draws_random_numbers else ""
        return keywords

    def denormals_to_zero_code(self):
        """Brian2's code that flushes denormals to zero, without its macro
        (which would outlive the unit) and as lines (Brian2 joins the
        characters of its string with newlines)."""
        if not self.flush_denormals:
            return []
        return [
            "unsigned csr = __builtin_ia32_stmxcsr();",
            "csr |= (1 << 15);  // flush to zero",
            "__builtin_ia32_ldmxcsr(csr);",
        ]
