"""Errors in C++ code: clear messages, and a process that keeps working."""

import numpy as np
import pytest

from brian2 import Network, NeuronGroup, StateMonitor, check_units, implementation, ms, run
from brian2.core.base import BrianObjectException

import brian2cppyy
from brian2cppyy import CppyyCompilationError
from helpers import cause_of_type, full_message, valid_model_runs



def _broken_function():
    @implementation(
        "cpp",
        """
        double broken_fn(double x)
        {
            return x + ;
        }
        """,
    )
    @check_units(x=1, result=1)
    def broken_fn(x):
        return x + 2.0

    return broken_fn


def test_syntax_error_in_user_function():
    broken_fn = _broken_function()  # noqa: F841  (used in the equations)
    G = NeuronGroup(
        5, "dv/dt = broken_fn(v)/ms : 1\nx : 1", method="euler", name="faulty_group"
    )
    G.x = "i * 1.5"
    G.v = 0.25
    failed = brian2cppyy.stats()["failed"]

    with pytest.raises(Exception) as excinfo:
        run(1 * ms)

    message = full_message(excinfo.value)
    assert "broken_fn" in message
    assert "faulty_group" in message
    # the compiler's own words and the offending line are quoted
    assert "error:" in message
    assert "expected expression" in message
    assert "return x + ;" in message
    assert brian2cppyy.stats()["failed"] > failed
    # our exception is in the chain (Brian2 may wrap it)
    error = cause_of_type(excinfo.value, CppyyCompilationError)
    assert "'broken_fn'" in str(error) and "'faulty_group'" in str(error)
    assert error.diagnostics and "expected expression" in error.diagnostics
    assert error.lines and any("x + ;" in text for _, text, _ in error.lines)

    # The user's data are still there
    np.testing.assert_array_equal(G.x[:], np.arange(5) * 1.5)
    np.testing.assert_array_equal(G.v[:], 0.25)


def test_process_keeps_working_after_error():
    broken_fn = _broken_function()  # noqa: F841
    G = NeuronGroup(3, "v : 1", name="faulty_setter")
    with pytest.raises(Exception) as excinfo:
        G.v = "broken_fn(i)"
    assert "broken_fn" in full_message(excinfo.value)
    np.testing.assert_array_equal(G.v[:], 0.0)

    # A valid model (new code) compiles and runs correctly afterwards ...
    H = NeuronGroup(4, "dv/dt = -v/(2.5*ms) : 1\nk : integer", method="exact")
    H.v = "1 + i"
    H.k = "i * 7"
    M = StateMonitor(H, "v", record=True)
    run(1 * ms)
    np.testing.assert_allclose(H.v[:], (1 + np.arange(4)) * np.exp(-1 / 2.5), rtol=1e-12)
    np.testing.assert_array_equal(H.k[:], 7 * np.arange(4))
    assert M.v.shape == (4, 10)

    # ... and so does a corrected user function of the same name
    @implementation("cpp", "double broken_fn(double x) { return x + 2.0; }")
    @check_units(x=1, result=1)
    def broken_fn(x):  # noqa: F811
        return x + 2.0

    G.v = "broken_fn(i)"
    np.testing.assert_array_equal(G.v[:], np.arange(3) + 2.0)


def test_type_error_in_user_function():
    @implementation(
        "cpp",
        """
        double typo_fn(double x) { return undeclared_thing_xyz * x; }
        """,
    )
    @check_units(x=1, result=1)
    def typo_fn(x):
        return x

    G = NeuronGroup(2, "v : 1", name="typo_group")
    G.v = 3.0
    with pytest.raises(Exception) as excinfo:
        G.run_regularly("v = typo_fn(v)")
        run(0.1 * ms)
    message = full_message(excinfo.value)
    assert "typo_fn" in message
    assert "typo_group" in message
    assert "undeclared_thing_xyz" in message
    assert "undeclared identifier" in message
    np.testing.assert_array_equal(G.v[:], 3.0)


def test_missing_header_names_function_and_object():
    @implementation(
        "cpp",
        "double needs_header(double x) { return x; }",
        headers=["<no_such_header_xyz.h>"],
    )
    @check_units(x=1, result=1)
    def needs_header(x):
        return x

    G = NeuronGroup(2, "dv/dt = needs_header(v)/ms : 1", method="euler", name="header_group")
    G.v = 1.5
    with pytest.raises(BrianObjectException) as excinfo:
        Network(G).run(0.1 * ms)
    error = cause_of_type(excinfo.value, CppyyCompilationError)
    for fact in ("no_such_header_xyz.h", "'needs_header'", "'header_group'"):
        assert fact in str(error), fact
    assert "file not found" in error.diagnostics  # Clang's reason is kept
    np.testing.assert_array_equal(G.v[:], 1.5)
    valid_model_runs()


def test_missing_source_file(tmp_path):
    missing = tmp_path / "not_there.cpp"

    @implementation(
        "cpp",
        "double needs_source(double x) { return x; }",
        sources=[str(missing)],
    )
    @check_units(x=1, result=1)
    def needs_source(x):
        return x

    G = NeuronGroup(2, "v : 1", name="source_group")
    with pytest.raises(Exception) as excinfo:
        G.v = "needs_source(i)"
    message = full_message(excinfo.value)
    assert "not_there.cpp" in message
    assert "needs_source" in message


def test_missing_library_names_function_and_object():
    @implementation(
        "cpp",
        "double needs_lib(double x) { return x; }",
        libraries=["no_such_library_xyz"],
    )
    @check_units(x=1, result=1)
    def needs_lib(x):
        return x

    G = NeuronGroup(2, "dv/dt = needs_lib(v)/ms : 1", method="euler", name="library_group")
    with pytest.raises(BrianObjectException) as excinfo:
        Network(G).run(0.1 * ms)
    error = cause_of_type(excinfo.value, CppyyCompilationError)
    for fact in ("'no_such_library_xyz'", "'needs_lib'", "'library_group'"):
        assert fact in str(error), fact
    valid_model_runs()


def test_unknown_implementation_keyword_names_keyword_function_and_object():
    @implementation("cpp", "double odd_kwd(double x) { return x; }",
                    extra_compile_args=["-O3"])
    @check_units(x=1, result=1)
    def odd_kwd(x):
        return x

    G = NeuronGroup(2, "dv/dt = odd_kwd(v)/ms : 1", method="euler", name="kwd_group")
    with pytest.raises(BrianObjectException) as excinfo:
        Network(G).run(0.1 * ms)
    error = cause_of_type(excinfo.value, ValueError)
    for fact in ("'extra_compile_args'", "'odd_kwd'", "'kwd_group'"):
        assert fact in str(error), fact
    valid_model_runs()
