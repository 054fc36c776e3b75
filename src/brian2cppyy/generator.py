"""CppyyCodeGenerator: Brian2's C++ code generator, adapted to kernels that
live in their own C++ namespace inside Cling.

The arithmetic helpers Brian2 prepends to every C++ unit (``_brian_mod``,
``_brian_floordiv``, ``_brian_pow``) are compiled once, from our runtime
header, instead of once per kernel.
"""

from brian2.codegen.generators.cpp_generator import CPPCodeGenerator

__all__ = ["CppyyCodeGenerator"]


class CppyyCodeGenerator(CPPCodeGenerator):
    """C++ generator for the ``cppyy`` target.

    It keeps ``class_name = 'cpp'`` so that every ``'cpp'`` function
    implementation (Brian2's defaults, `TimedArray`, `BinomialFunction`,
    users' ``@implementation('cpp', ...)``) is found for our code objects.
    """

    #: provided once by ``brian2cppyy/runtime.hpp``
    universal_support_code = ""
