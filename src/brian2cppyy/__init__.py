"""brian2cppyy: the ``'cppyy'`` runtime code-generation target for Brian2.

Importing this package registers the target; Cling itself starts on the
first compilation, not on import::

    import brian2cppyy
    from brian2 import *
    prefs.codegen.target = 'cppyy'
"""

from brian2.codegen.targets import codegen_targets

from . import preferences  # noqa: F401  (registers codegen.runtime.cppyy.*)
from . import functions  # noqa: F401  (registers rand, randn, ...)
from . import network_loop
from . import gsl  # noqa: F401  (GSL state updaters for the cppyy target)
from .codeobject import CppyyCodeObject, CppyyCompilationError
from .faults import KernelFault
from .jit import cache_info, stats

__all__ = ["CppyyCodeObject", "CppyyCompilationError", "KernelFault", "cache_info", "stats"]
__version__ = "0.1.0"

codegen_targets.add(CppyyCodeObject)
preferences.register_cache_dir()
network_loop.install()
