"""brian2cppyy: the ``'cppyy'`` runtime code-generation target for Brian2.

Importing this package registers the target; Cling itself starts on the
first compilation, not on import::

    import brian2cppyy
    from brian2 import *
    prefs.codegen.target = 'cppyy'
"""

from . import preference_files

# registers codegen.runtime.cppyy.* before Brian2 reads preference files
preference_files.install()
try:
    from brian2.codegen.targets import codegen_targets
finally:
    preference_files.uninstall()

from . import brian2_hooks, preferences
from .loop import unused_objects
from .target import functions  # noqa: F401  (registers rand, randn, ...)
from .target.codeobject import CppyyCodeObject, CppyyCompilationError
from .target.faults import KernelFault
from .cling.jit import stats
from .target.user_code import cache_info

__all__ = ["CppyyCodeObject", "CppyyCompilationError", "KernelFault", "cache_info", "stats",
           "sweep", "SweepResult", "SweepInterrupted"]
__version__ = "0.1.0"

#: names exported lazily from brian2cppyy.sweeps, so that importing brian2cppyy
#: does not import Dask (an optional dependency)
_SWEEP_NAMES = ("sweep", "SweepResult", "SweepInterrupted")


def __getattr__(name):
    if name in _SWEEP_NAMES:
        from . import sweeps

        return getattr(sweeps, name)
    raise AttributeError(f"module 'brian2cppyy' has no attribute '{name}'")


codegen_targets.add(CppyyCodeObject)
preferences.register_cache_dir()
brian2_hooks.install()
unused_objects.freeze_imports()  # last: everything the package imports is loaded
