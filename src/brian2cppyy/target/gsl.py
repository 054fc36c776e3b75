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
the standalone device only; on the cppyy target their container picks
`GSLCppyyCodeObject` (`brian2_hooks`: Brian2's state updaters stay
registered, and other targets keep Brian2's choice).
"""

import os

from brian2.codegen.generators.GSL_generator import GSLCPPCodeGenerator
from brian2.core.preferences import prefs
from brian2.units import second

from ..cling import contract, jit
from . import kernel_status, user_code
from .codeobject import CppyyCodeObject
from .generator import CppyyCodeGenerator

try:  # the exception the Cython target raises, so that users can catch one
    from brian2.codegen.runtime.GSLcython_rt import IntegrationError as _BrianIntegrationError
except ImportError:  # pragma: no cover - Brian2 without Cython support

    class _BrianIntegrationError(Exception):
        pass

__all__ = [
    "CppyyGSLCodeGenerator",
    "GSLCppyyCodeObject",
    "GSLIntegrationError",
    "GSLUnavailableError",
    "load_gsl",
]

#: GSL's headers that the generated code uses, included into Cling once
GSL_HEADERS = ("<gsl/gsl_errno.h>", "<gsl/gsl_matrix.h>", "<gsl/gsl_odeiv2.h>")
#: GSL's libraries, in loading order (libgsl needs the CBLAS symbols)
GSL_LIBRARIES = ("gslcblas", "gsl")

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
        "brian2cppyy.target",
        templates_dir="templates_gsl",
    )
    original_generator_class = CppyyCodeGenerator
    generator_class = CppyyGSLCodeGenerator

    def _prepare_compiler_kwds(self):
        load_gsl()
        super()._prepare_compiler_kwds()

    def kernel_exceptions(self):
        return {contract.values().ERR_GSL_INTEGRATION: integration_error}


def integration_error(error, site):
    """The `GSLIntegrationError` of a kernel whose integration failed
    (``ERR_GSL_INTEGRATION``), from its error record: the element, the start
    of the step, and whether GSL's error handler left a message."""
    options = getattr(getattr(site.owner, "state_updater", None), "method_options", None)
    options = options or {}
    if error.has_message:
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
    return GSLIntegrationError(
        "GSL integrator failed to integrate the equations (element "
        f"{error.value}, in the time step that starts at t={error.time * second}). {detail}"
    )
