"""C++ implementations that the cppyy target registers for its code object.

* ``rand``/``randn`` draw from the runtime device's random buffers (the ones
  the Cython target uses), so that ``seed(n)`` gives bit-identical streams to
  the ``cython`` target and ``get/set_random_state`` and ``store/restore``
  work unchanged. ``poisson`` and `BinomialFunction` use Brian2's ``'cpp'``
  code, which calls these.
* The maths functions that models call in their loops (``exp``, ``expm1``,
  ``exprel``, ``log``, ``log1p``, ``tanh``, ``sin``, ``cos``, ``sqrt``) are our
  own, from ``include/brian2cppyy/vmath.hpp`` and ``vmath_trig.hpp``:
  inline and branch-free, so that Cling's loop vectoriser turns a kernel's loop
  into SIMD code and can share common subexpressions between calls (a libm
  call is neither vectorised nor, with ``errno``, merged), and within 2 ulp
  of the correctly rounded result. Brian2's ``'cpp'`` versions call libm; its
  ``expm1``/``log1p``/``exprel`` also carry a ``C99Check`` that runs the
  system compiler, which ours do not need.

Everything else (the other default functions, `TimedArray`,
`BinomialFunction`, users' ``@implementation('cpp', ...)``) is found through
the ``'cpp'`` implementations, since our generator is a `CPPCodeGenerator`.
"""

from brian2.core.functions import DEFAULT_FUNCTIONS
from brian2.devices.device import all_devices

from .codeobject import CppyyCodeObject
from .random_buffers import BUFFER_KINDS

__all__ = []

_DRAW_CODE = """
inline double %NAME%(const int _vectorisation_idx)
{
    return brian2cppyy::draw_from_buffer(_namespace%BUFFER%, _namespace%BUFFER%_index,
                                         %SIZE%, %KIND%);
}
"""


def _register_random_functions():
    device = all_devices["runtime"]
    for kind, name in enumerate(BUFFER_KINDS):
        buffer = getattr(device, f"{name}_buffer")
        index = getattr(device, f"{name}_buffer_index")
        code = (
            _DRAW_CODE.replace("%NAME%", f"_{name}")
            .replace("%BUFFER%", f"_{name}_buffer")
            .replace("%SIZE%", str(len(buffer)))
            .replace("%KIND%", str(kind))
        )
        DEFAULT_FUNCTIONS[name].implementations.add_implementation(
            CppyyCodeObject,
            code=code,
            name=f"_{name}",
            namespace={f"_{name}_buffer": buffer, f"_{name}_buffer_index": index},
        )


#: Brian2's default functions that kernels compute with brian2cppyy::vmath
VECTOR_MATH_FUNCTIONS = ["exp", "expm1", "exprel", "log", "log1p", "tanh", "sin", "cos", "sqrt"]
#: the header of those not in what Cling loads when it starts (runtime.hpp):
#: Cling loads it with the first code object that calls one of them, as a
#: function's header (Brian2's ``compiler_kwds``, `user_code.include_header`)
ON_DEMAND_HEADERS = {"sin": "brian2cppyy/vmath_trig.hpp", "cos": "brian2cppyy/vmath_trig.hpp"}


def _register_math_functions():
    for name in VECTOR_MATH_FUNCTIONS:
        header = ON_DEMAND_HEADERS.get(name)
        DEFAULT_FUNCTIONS[name].implementations.add_implementation(
            CppyyCodeObject, code=None, name=f"brian2cppyy::vmath::{name}",
            compiler_kwds={"headers": [f'"{header}"']} if header else None,
        )


_register_random_functions()
_register_math_functions()
