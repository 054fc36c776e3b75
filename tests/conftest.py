"""Shared fixtures of brian2cppyy's own tests.

Every test starts in a fresh Brian2 scope with ``codegen.target = 'cppyy'``
and ``codegen.string_expression_target = 'cppyy'`` (Brian2 evaluates string
expressions such as ``G.v = 'rand()'`` or ``G.v['i > 5']`` with the latter,
which defaults to numpy). The preferences (and ``defaultclock.dt``) are
restored afterwards, so that a test that switches to ``'numpy'`` or
``'cython'`` for a reference run, or changes a ``codegen.runtime.cppyy``
preference, does not leak into the next.

The target's cache directory (``codegen.runtime.cppyy.cache_dir``, home of
the analysis cache) is a fresh temporary directory for the test session, so
that no test depends on what earlier sessions (or the user) left in the
cache.
"""

import copy

import pytest

import brian2cppyy  # noqa: F401  (registers the target and its preferences)
from brian2 import defaultclock, ms, prefs, start_scope
from brian2.devices.device import reset_device

# A script (``python tests/run_brian2_suite.py``), not a test module.
collect_ignore = ["run_brian2_suite.py"]


@pytest.fixture(autouse=True, scope="session")
def session_cache_dir(tmp_path_factory):
    """The target's cache directory of this test session (a fresh one)."""
    path = tmp_path_factory.mktemp("brian2cppyy_cache")
    prefs["codegen.runtime.cppyy.cache_dir"] = str(path)
    return path


@pytest.fixture(autouse=True)
def cppyy_target(session_cache_dir):
    """A fresh scope and the cppyy target for each test; prefs restored after."""
    reset_device("runtime")
    saved = {key: copy.deepcopy(value) for key, value in prefs.prefs.items()}
    start_scope()
    prefs.codegen.target = "cppyy"
    prefs.codegen.string_expression_target = "cppyy"
    defaultclock.dt = 0.1 * ms
    yield
    for key, value in saved.items():
        prefs[key] = value
    defaultclock.dt = 0.1 * ms
    start_scope()


@pytest.fixture
def with_target():
    """Run a model-building function under another code-generation target.

    ``with_target('numpy', build)`` starts a new scope, sets the target (for
    code generation and string expressions), calls ``build()`` and returns
    its result; the targets are set back afterwards (also when ``build``
    raises).
    """

    def run(target, build, *args, **kwds):
        start_scope()
        defaultclock.dt = 0.1 * ms
        previous = (prefs.codegen.target, prefs.codegen.string_expression_target)
        prefs.codegen.target = target
        prefs.codegen.string_expression_target = target
        try:
            return build(*args, **kwds)
        finally:
            prefs.codegen.target, prefs.codegen.string_expression_target = previous
            start_scope()

    return run
