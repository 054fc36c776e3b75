"""GSL integration for the cppyy target: ``method='gsl'`` (and ``'gsl_rk2'``,
``'gsl_rk4'``, ``'gsl_rkf45'``, ``'gsl_rkck'``, ``'gsl_rk8pd'``) integrates
the equations with the ODE solvers of the GNU Scientific Library, as with
the Cython target and the C++ standalone device.

Brian2's `GSLCPPCodeGenerator` turns the equations into an ODE system
function; our template (``templates_gsl/stateupdate.cpp``) drives
``gsl_odeiv2`` for every element. The libraries ``gsl`` and ``gslcblas`` and
GSL's headers are loaded into Cling on first use, so importing
``brian2cppyy`` does not need GSL; without it, a GSL method raises
`GSLUnavailableError`, which says what to install.

Brian2's GSL state updaters pick their code object for the Cython target and
the standalone device only. `install` re-registers the GSL method names with
state updaters of ours (`CppyyGSLStateUpdater`) whose container picks
`GSLCppyyCodeObject` when the target is ``'cppyy'`` and defers to Brian2's
choice otherwise.
"""

import os
import struct

from brian2.codegen.generators.GSL_generator import GSLCPPCodeGenerator
from brian2.core.base import BrianObjectException
from brian2.core.preferences import prefs
from brian2.devices.device import RuntimeDevice, get_device
from brian2.stateupdaters.base import StateUpdateMethod
from brian2.stateupdaters.GSL import GSLContainer, GSLStateUpdater
from brian2.units import second

from . import jit, kernel_status, user_code
from .codeobject import CppyyCodeObject
from .generator import CppyyCodeGenerator

try:  # the exception the Cython target raises, so that users can catch one
    from brian2.codegen.runtime.GSLcython_rt import IntegrationError as _BrianIntegrationError
except ImportError:  # pragma: no cover - Brian2 without Cython support

    class _BrianIntegrationError(Exception):
        pass

__all__ = [
    "CppyyGSLCodeGenerator",
    "CppyyGSLContainer",
    "CppyyGSLStateUpdater",
    "GSLCppyyCodeObject",
    "GSLIntegrationError",
    "GSLUnavailableError",
    "gsl_available",
    "install",
    "load_gsl",
]

#: GSL's headers that the generated code uses, included into Cling once
GSL_HEADERS = ("<gsl/gsl_errno.h>", "<gsl/gsl_matrix.h>", "<gsl/gsl_odeiv2.h>")
#: GSL's libraries, in loading order (libgsl needs the CBLAS symbols)
GSL_LIBRARIES = ("gslcblas", "gsl")

#: Status of a kernel whose GSL integration failed (not one of runtime.hpp's)
ERR_GSL_INTEGRATION = -100

#: Brian2's GSL method names and their gsl_odeiv2 stepping functions
GSL_METHODS = {
    "gsl_rk2": "rk2",
    "gsl_rk4": "rk4",
    "gsl_rkf45": "rkf45",
    "gsl_rkck": "rkck",
    "gsl_rk8pd": "rk8pd",
    "gsl": "rkf45",  # Brian2's default GSL method
}

INSTALL_HINT = (
    "Install the GSL development package (Debian/Ubuntu: "
    "'apt-get install libgsl-dev'; Fedora: 'dnf install gsl-devel'; conda: "
    "'conda install -c conda-forge gsl'), or set prefs.GSL.directory to the "
    "directory that contains gsl/gsl_odeiv2.h (with the libraries in ../lib)."
)


class GSLUnavailableError(RuntimeError):
    """The GSL (headers or libraries) cannot be loaded into Cling."""


class GSLIntegrationError(_BrianIntegrationError, RuntimeError):
    """GSL could not integrate the equations over a time step (a subclass of
    the ``IntegrationError`` that the Cython target raises)."""


#: the prefs.GSL.directory value for which GSL has been loaded
_loaded_for = []


def _gsl_dirs():
    directory = prefs["GSL.directory"]
    if directory is None:
        return [], []
    return [directory], [os.path.abspath(os.path.join(directory, "..", "lib"))]


def load_gsl():
    """Load GSL's libraries and headers into Cling (once); raise
    `GSLUnavailableError` saying what to install when that fails."""
    key = prefs["GSL.directory"]
    if key in _loaded_for:
        return
    include_dirs, library_dirs = _gsl_dirs()
    try:
        user_code.load(include_dirs=include_dirs, library_dirs=library_dirs,
                       libraries=GSL_LIBRARIES, headers=GSL_HEADERS)
    except jit.CompilationError as exc:
        reason = str(exc).strip().split("\n")[0]
        raise GSLUnavailableError(
            "Integrating with the GSL (method='gsl', 'gsl_rkf45', ...) on the "
            "'cppyy' target needs the GNU Scientific Library with its "
            f"development files, which could not be loaded: {reason}\n"
            + INSTALL_HINT
        ) from None
    _loaded_for.append(key)


def gsl_available():
    """Whether GSL can be loaded into Cling (starts Cling)."""
    try:
        load_gsl()
    except GSLUnavailableError:
        return False
    return True


class CppyyGSLCodeGenerator(GSLCPPCodeGenerator):
    """Brian2's GSL C++ generator around our `CppyyCodeGenerator`.

    The ``%CONSTANTS%`` placeholder that Brian2's generator leaves in the ODE
    system function is for the standalone device (frozen constants); at
    runtime the constants reach the function through ``_dataholder``.
    """

    def make_function_code(self, lines):
        return super().make_function_code(lines).replace("%CONSTANTS%", "")


class GSLCppyyCodeObject(CppyyCodeObject):
    """The state updater of a group integrated with the GSL, on the cppyy
    target: Brian2's GSL code generation, our kernel and slot machinery."""

    templater = CppyyCodeObject.templater.derive(
        "brian2cppyy",
        templates_dir="templates_gsl",
        env_globals={"GSL_FAILURE_STATUS": ERR_GSL_INTEGRATION},
    )
    original_generator_class = CppyyCodeGenerator
    generator_class = CppyyGSLCodeGenerator

    def _prepare_compiler_kwds(self):
        load_gsl()
        super()._prepare_compiler_kwds()

    def raise_status(self, block, status, info):
        if status != ERR_GSL_INTEGRATION:
            return super().raise_status(block, status, info)
        index = int(info[0])
        t = struct.unpack("d", struct.pack("q", int(info[1])))[0]
        options = getattr(getattr(self.owner, "state_updater", None), "method_options", None)
        options = options or {}
        if info[2]:  # GSL's error handler was called
            detail = f"GSL reports: {kernel_status.last_cpp_exception_message()}."
        elif options.get("adaptable_timestep", True):
            detail = (
                "The desired error cannot be achieved with the given maximum "
                f"number of steps (max_steps={options.get('max_steps')}): try a "
                "larger absolute_error or a larger max_steps."
            )
        else:
            detail = (
                "With a fixed time step (adaptable_timestep=False), the error of "
                "one step of size dt is larger than absolute_error: try a "
                "smaller dt or a larger absolute_error."
            )
        cause = GSLIntegrationError(
            "GSL integrator failed to integrate the equations (element "
            f"{index}, in the time step that starts at t={t * second}). {detail}"
        )
        raise BrianObjectException(
            f"An exception occurred during the execution of the '{block}' block "
            f"of code object '{self.name}'.\n",
            self.owner,
        ) from cause


def _target_is_cppyy():
    device = get_device()
    if not isinstance(device, RuntimeDevice):
        return False
    try:
        codeobj_class = device.code_object_class()
    except Exception:  # noqa: BLE001 - an unknown target: Brian2 says so
        return False
    return isinstance(codeobj_class, type) and issubclass(codeobj_class, CppyyCodeObject)


class CppyyGSLContainer(GSLContainer):
    """Brian2's `GSLContainer` that also knows the cppyy target."""

    def get_codeobj_class(self):
        if _target_is_cppyy():
            load_gsl()
            return GSLCppyyCodeObject
        return super().get_codeobj_class()


class CppyyGSLStateUpdater(GSLStateUpdater):
    """Brian2's GSL state updater, returning a `CppyyGSLContainer`."""

    def __call__(self, equations, variables=None, method_options=None):
        container = super().__call__(equations, variables, method_options)
        return CppyyGSLContainer(
            method_options=container.method_options,
            integrator=container.integrator,
            abstract_code=container.abstract_code,
            needed_variables=container.needed_variables,
            variable_flags=container.variable_flags,
        )


def install():
    """Register our GSL state updaters under Brian2's GSL method names
    (idempotent). For targets other than cppyy they behave as Brian2's."""
    updaters = {}
    for name, integrator in GSL_METHODS.items():
        current = StateUpdateMethod.stateupdaters.get(name)
        if isinstance(current, CppyyGSLStateUpdater):
            continue
        if integrator not in updaters:
            updaters[integrator] = CppyyGSLStateUpdater(integrator)
        StateUpdateMethod.stateupdaters.pop(name, None)
        StateUpdateMethod.register(name, updaters[integrator])


install()
