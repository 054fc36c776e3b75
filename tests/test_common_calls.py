"""Repeated calls of pure maths functions computed once per index
(target/common_calls.py): what is merged, what is not, and the same results."""

import numpy as np
import pytest
from brian2 import (Function, NeuronGroup, StateMonitor, defaultclock, ms, mV, prefs, run,
                    start_scope)
from brian2.codegen.statements import Statement
from brian2.core.functions import DEFAULT_FUNCTIONS

from brian2cppyy.target import common_calls

DEFAULTS = {name: DEFAULT_FUNCTIONS[name] for name in common_calls.PURE}


def _statements(*lines):
    """Statements from ``'var op expr'`` lines (``:=`` declares)."""
    out = []
    for line in lines:
        var, op, expr = line.split(" ", 2)
        out.append(Statement(var, op, expr, "", np.float64, constant=op == ":="))
    return out


def _text(statements):
    return [f"{s.var} {s.op} {s.expr}" for s in statements]


def test_a_repeated_call_is_computed_once_before_its_first_use():
    merged = common_calls.merge(_statements(
        "a := exp(v / 2) + 1", "b := 3 * exp(v / 2)", "v = a * b"), DEFAULTS)
    assert _text(merged) == ["_cse_1 := exp(v / 2)", "a := _cse_1 + 1", "b := 3 * _cse_1",
                             "v = a * b"]


def test_a_call_is_not_merged_across_an_assignment_of_what_it_reads():
    # the statement that assigns v still reads the old v
    merged = common_calls.merge(_statements(
        "a := exp(v)", "v = exp(v) + a", "b := exp(v)", "w = b + exp(v)"), DEFAULTS)
    assert _text(merged) == ["_cse_1 := exp(v)", "a := _cse_1", "v = _cse_1 + a",
                             "_cse_2 := exp(v)", "b := _cse_2", "w = b + _cse_2"]


def test_random_numbers_user_functions_and_single_calls_are_left_alone():
    statements = _statements("a := exp(rand()) + exp(rand())", "b := log(x) * sin(x)",
                             "c := sin(y)")
    assert _text(common_calls.merge(statements, DEFAULTS)) == _text(statements)
    user_exp = dict(DEFAULTS, exp=Function(np.exp, arg_units=[1], return_unit=1))
    statements = _statements("a := exp(x)", "b := exp(x)")
    assert _text(common_calls.merge(statements, user_exp)) == _text(statements)


def test_powers_of_calls_are_merged_whole_and_nested_repeats_in_turn():
    merged = common_calls.merge(_statements(
        "a := exp(v) ** 0.5 + exprel(w)", "b := exp(v) ** 0.5 * exp(exprel(w))",
        "c := exp(v) + exprel(w)"), DEFAULTS)
    text = _text(merged)
    assert "_cse_1 := exp(v) ** 0.5" in text
    assert sum("exprel(w)" in line for line in text) == 1  # computed once
    assert not any("_cse_1 ** " in line or "exp(_cse" in line and "** 0.5" in line
                   for line in text)


@pytest.mark.parametrize("method", ["exponential_euler", "rk4"])
def test_hodgkin_huxley_gives_numpys_results(method):
    """A model whose state update repeats exp and exprel, on cppyy and on
    numpy (Brian2's own code, no merging)."""
    equations = """
    dv/dt = (-(v + 65*mV) - g_na*m**3*h*(v - 50*mV) - g_k*n**4*(v + 90*mV)) / (20*ms) : volt
    dm/dt = 0.32*(mV**-1)*4*mV/exprel((13.*mV - v - 63*mV)/(4*mV))/ms*(1 - m)
            - 0.28*(mV**-1)*5*mV/exprel((v + 63*mV - 40.*mV)/(5*mV))/ms*m : 1
    dn/dt = 0.032*(mV**-1)*5*mV/exprel((15.*mV - v - 63*mV)/(5*mV))/ms*(1. - n)
            - .5*exp((10.*mV - v - 63*mV)/(40.*mV))/ms*n : 1
    dh/dt = 0.128*exp((17.*mV - v - 63*mV)/(18.*mV))/ms*(1. - h)
            - 4./(1 + exp((40.*mV - v - 63*mV)/(5.*mV)))/ms*h : 1
    g_na : 1
    g_k : 1
    """
    traces = {}
    for target in ("cppyy", "numpy"):
        start_scope()
        prefs.codegen.target = target
        defaultclock.dt = 0.01 * ms
        group = NeuronGroup(8, equations, method=method)
        group.v = "-65*mV + i*4*mV"
        group.g_na = 40
        group.g_k = 12
        monitor = StateMonitor(group, ["v", "m", "h", "n"], record=True)
        run(3 * ms)
        traces[target] = {name: np.array(getattr(monitor, name + "_")) for name in "vmhn"}
        if target == "cppyy" and method == "exponential_euler":  # it repeats exp and exprel
            assert "_cse_" in group.state_updater.codeobj.code.run
    prefs.codegen.target = "cppyy"
    for name, values in traces["cppyy"].items():
        np.testing.assert_allclose(values, traces["numpy"][name], rtol=1e-9, atol=1e-15)
