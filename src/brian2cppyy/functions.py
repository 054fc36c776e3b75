"""C++ implementations that the cppyy target registers for its code object.

* ``rand``/``randn`` draw from the runtime device's random buffers (the ones
  the Cython target uses), so that ``seed(n)`` gives bit-identical streams to
  the ``cython`` target and ``get/set_random_state`` and ``store/restore``
  work unchanged. ``poisson`` and `BinomialFunction` use Brian2's ``'cpp'``
  code, which calls these.
* ``expm1``, ``log1p`` and ``exprel`` are re-registered without Brian2's
  ``C99Check`` (which runs the system compiler): Cling always has C99 math.

Everything else (the other default functions, `TimedArray`,
`BinomialFunction`, users' ``@implementation('cpp', ...)``) is found through
the ``'cpp'`` implementations, since our generator is a `CPPCodeGenerator`.
"""

from brian2.core.functions import DEFAULT_FUNCTIONS
from brian2.devices.device import all_devices

from .codeobject import CppyyCodeObject

__all__ = []

_DRAW_CODE = """
static inline double %NAME%(const int _vectorisation_idx)
{
    return brian2cppyy::draw_from_buffer(_namespace%BUFFER%, _namespace%BUFFER%_index,
                                         %SIZE%, %KIND%);
}
"""


def _register_random_functions():
    device = all_devices["runtime"]
    for kind, name in enumerate(["rand", "randn"]):
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


_EXPREL_CODE = """
static inline double _exprel(const double x)
{
    if (std::fabs(x) < 1e-16)
        return 1.0;
    if (x > 717)
        return INFINITY;
    return std::expm1(x) / x;
}
"""


def _register_math_functions():
    for name in ["expm1", "log1p"]:
        DEFAULT_FUNCTIONS[name].implementations.add_implementation(
            CppyyCodeObject, code=None
        )
    DEFAULT_FUNCTIONS["exprel"].implementations.add_implementation(
        CppyyCodeObject, code=_EXPREL_CODE, name="_exprel"
    )


_register_random_functions()
_register_math_functions()
