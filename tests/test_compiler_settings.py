"""The optimisation level and floating-point model reach the generated code
(compiler_settings.py), and powers are rendered as cheap code (generator.py).

The probes are compiled *inside* kernels, as a user function's support code,
so they see exactly what the kernels see:

* ``reassociation_probe(a, b) = (a + b) - b`` is 0 for a = 1e-20, b = 1 under
  strict IEEE rules, and 1e-20 when the compiler may reassociate (fast-math).
* ``optimisation_probe()`` is 1 when ``__builtin_constant_p`` of an inlined
  constant argument folds to true, which only the optimiser does: 0 at -O0.
"""

import cppyy
import numpy as np
import pytest
from brian2 import Function, NeuronGroup, Synapses, ms, prefs, run

from brian2cppyy.cling import compiler_settings
from brian2cppyy.target.generator import CppyyNodeRenderer

_REASSOCIATION_PROBE = """
static inline double reassociation_probe(double a, double b) { return (a + b) - b; }
"""
_OPTIMISATION_PROBE = """
__attribute__((always_inline)) static inline double _constant_probe(double x)
{ return __builtin_constant_p(x) ? 1.0 : 0.0; }
static inline double optimisation_probe() { return _constant_probe(1.5); }
"""


def _run_probes():
    reassociation = Function(None, arg_units=[1, 1], return_unit=1)
    reassociation.implementations.add_implementation(
        "cpp", _REASSOCIATION_PROBE, name="reassociation_probe"
    )
    optimisation = Function(None, arg_units=[], return_unit=1, stateless=False)
    optimisation.implementations.add_implementation(
        "cpp", _OPTIMISATION_PROBE, name="optimisation_probe"
    )
    group = NeuronGroup(
        1,
        "a : 1\nfm : 1\nopt : 1",
        namespace={"reassociation_probe": reassociation, "optimisation_probe": optimisation},
    )
    group.a = 1e-20
    group.run_regularly("fm = reassociation_probe(a, 1.0)\nopt = optimisation_probe()", dt=0.1 * ms)
    run(0.1 * ms)
    return float(group.fm[0]), float(group.opt[0])


def test_defaults_follow_brian2_cpp_flags():
    settings = compiler_settings.current()
    assert prefs["codegen.runtime.cppyy.optimisation_level"] is None
    assert prefs["codegen.runtime.cppyy.fast_math"] is None
    assert "-O3" in prefs["codegen.cpp.extra_compile_args_gcc"]
    assert (settings.requested_level, settings.level, settings.fast_math) == ("3", 3, True)
    assert settings.level_source == settings.fast_math_source == "codegen.cpp.extra_compile_args_gcc"


def test_brian2_cpp_flags_changed_by_the_user_are_followed():
    prefs.codegen.cpp.extra_compile_args_gcc = ["-w", "-O1"]
    settings = compiler_settings.current()
    assert (settings.level, settings.fast_math) == (1, False)
    prefs.codegen.cpp.extra_compile_args_gcc = ["-Ofast"]
    settings = compiler_settings.current()
    assert (settings.level, settings.fast_math) == (3, True)
    prefs.codegen.cpp.extra_compile_args_gcc = ["-ffast-math", "-O2", "-fno-fast-math"]
    assert (compiler_settings.current().level, compiler_settings.current().fast_math) == (2, False)


def test_our_preferences_override_brian2_flags():
    prefs.codegen.runtime.cppyy.optimisation_level = 1
    prefs.codegen.runtime.cppyy.fast_math = False
    settings = compiler_settings.current()
    assert (settings.level, settings.fast_math) == (1, False)
    assert settings.level_source == "codegen.runtime.cppyy.optimisation_level"
    assert settings.fast_math_source == "codegen.runtime.cppyy.fast_math"
    prefs.codegen.runtime.cppyy.optimisation_level = "s"
    settings = compiler_settings.current()
    assert (settings.requested_level, settings.level) == ("s", 2)


@pytest.mark.parametrize(
    "level, fast_math, expected",
    [
        (3, True, (1e-20, 1.0)),
        (2, True, (1e-20, 1.0)),
        (3, False, (0.0, 1.0)),
        (0, False, (0.0, 0.0)),
        # without the optimiser, nothing exploits the relaxed rules
        (0, True, (0.0, 0.0)),
    ],
)
def test_requested_settings_reach_the_kernels(level, fast_math, expected):
    prefs.codegen.runtime.cppyy.optimisation_level = level
    prefs.codegen.runtime.cppyy.fast_math = fast_math
    assert _run_probes() == expected


def test_default_settings_reach_the_kernels():
    # Brian2's default C++ flags: -O3 -ffast-math
    assert _run_probes() == (1e-20, 1.0)


def test_fast_math_does_not_leak_out_of_a_kernel():
    prefs.codegen.runtime.cppyy.fast_math = True
    assert _run_probes()[0] == 1e-20
    cppyy.cppdef(
        "namespace b2c_test_leak { double probe(double a, double b) { return (a + b) - b; } }"
    )
    assert cppyy.gbl.b2c_test_leak.probe(1e-20, 1.0) == 0.0


# -- powers -------------------------------------------------------------------


def _render(expr, fast_math=True, names=None):
    return CppyyNodeRenderer(names or {}, fast_math).render_expr(expr)


@pytest.mark.parametrize(
    "expr, fast, expected",
    [
        ("x**2", False, "brian2cppyy::ipow<2>(x)"),
        ("x**2.0", False, "brian2cppyy::ipow<2>(x)"),
        ("x**3", False, "brian2cppyy::vmath::powi(x, 3)"),
        ("x**3", True, "brian2cppyy::ipow<3>(x)"),
        ("x**-4", True, "brian2cppyy::ipow<-4>(x)"),
        ("x**0.5", True, "brian2cppyy::fast_pow_half<1>(x)"),
        ("x**-1.5", True, "brian2cppyy::fast_pow_half<-3>(x)"),
        ("x**0.5", False, "brian2cppyy::vmath::pow_half(x, 0)"),
        ("x**-1.5", False, "brian2cppyy::vmath::pow_half(x, -2)"),
        ("x**40", True, "brian2cppyy::vmath::pow(x, 40)"),
        ("x**y", True, "brian2cppyy::vmath::pow(x, (double)(y))"),
        ("exp(a)**0.25", True, "vexp((a) * (0.25))"),
        ("exp(a)**0.25", False, "brian2cppyy::vmath::pow(vexp(a), (double)(0.25))"),
    ],
)
def test_power_rendering(expr, fast, expected):
    assert _render(expr, fast, {"exp": "vexp"}) == expected


def test_power_of_a_users_own_exp_is_not_rewritten():
    renderer = CppyyNodeRenderer({}, True, exp_is_default=False)
    assert renderer.render_expr("exp(a)**0.25") == "brian2cppyy::vmath::pow(exp(a), (double)(0.25))"


@pytest.mark.parametrize("fast_math", [True, False])
def test_powers_compute_what_numpy_computes(fast_math, with_target):
    prefs.codegen.runtime.cppyy.fast_math = fast_math
    x = np.array([0.0, 1e-3, 0.3, 1.7, 2.5, 9.0, 123.0])

    def build():
        group = NeuronGroup(
            len(x),
            """x : 1
               p2 : 1
               p3 : 1
               p4 : 1
               m2 : 1
               h1 : 1
               h3 : 1
               hm : 1
               ex : 1
               r : 1""",
        )
        group.x = x
        group.run_regularly(
            """p2 = x**2
               p3 = x**3
               p4 = (x + 1)**4
               m2 = (x + 1)**-2
               h1 = x**0.5
               h3 = x**1.5
               hm = (x + 1)**-0.5
               ex = exp(-x)**0.3
               r = (x + 0.5)**1.7""",
            dt=0.1 * ms,
        )
        run(0.1 * ms)
        return {name: getattr(group, name)[:].copy() for name in
                ["p2", "p3", "p4", "m2", "h1", "h3", "hm", "ex", "r"]}

    ours = build()
    reference = with_target("numpy", build)
    for name, values in reference.items():
        np.testing.assert_allclose(ours[name], values, rtol=1e-14, atol=0, err_msg=name)


def test_code_that_runs_once_is_compiled_at_the_run_once_level(tmp_path):
    """Synapse creation (RUNS_ONCE) and after_run blocks get RUN_ONCE_LEVEL;
    the kernels of every time step keep the configured level; the
    floating-point model is the configured one for both."""
    prefs.codegen.runtime.cppyy.dump_dir = str(tmp_path)
    group = NeuronGroup(5, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0",
                        method="exact", name="once_group")
    synapses = Synapses(group, group, "w : 1", on_pre="v += w", name="once_synapses")
    synapses.connect(p=0.5)
    run(0.1 * ms)
    sources = {p.name: p.read_text() for p in tmp_path.iterdir()}

    def source(owner, block):
        return sources[f"{owner}_codeobject_{block}.cpp"]

    once = f"#pragma cling optimize({compiler_settings.RUN_ONCE_LEVEL})"
    assert once in source("once_synapses_synapses_create_generator", "run")
    assert once in source("once_group_spike_thresholder", "after_run")
    for every_step in (source("once_group_stateupdater", "run"),
                       source("once_group_spike_thresholder", "run"),
                       source("once_synapses_pre", "run")):
        assert "#pragma cling optimize(3)" in every_step
    assert all("float_control(precise, off)" in text for text in sources.values())


def test_run_once_level_never_raises_the_configured_level():
    settings = compiler_settings.current()
    low = compiler_settings.CompilerSettings("0", 0, True, "test", "test")
    assert f"optimize({compiler_settings.RUN_ONCE_LEVEL})" in compiler_settings.pragmas(
        settings, runs_once=True)[0]
    assert "optimize(0)" in compiler_settings.pragmas(low, runs_once=True)[0]


def test_hodgkin_huxley_powers_become_multiplications(tmp_path):
    """n**4, m**3 and exp(x)**c in generated code: no call of the general pow."""
    prefs.codegen.runtime.cppyy.dump_dir = str(tmp_path)
    group = NeuronGroup(
        3,
        """dv/dt = (-(v + 60) - 120*m**3*h*(v - 50) - 36*n**4*(v + 77)) / (10*ms) : 1
           dm/dt = 0.1*(1 - m)*exp(v/18)**0.5 / ms - m/ms : 1
           dh/dt = (0.07*(1 - h) - h) / ms : 1
           dn/dt = (0.01*(1 - n) - n) / ms : 1""",
        method="exponential_euler",
    )
    group.v = -60
    run(0.1 * ms)
    (source,) = [p.read_text() for p in tmp_path.iterdir() if "stateupdater" in p.name]
    assert "vmath::pow(" not in source and "_brian_pow" not in source
    assert "ipow<3>" in source and "ipow<4>" in source


def test_powers_with_integer_variables(with_target):
    """An int64 exponent or base (a variable or a constant from the
    namespace) must not make the call of vmath::pow ambiguous."""
    exponent = 3

    def build():
        group = NeuronGroup(
            4, "x : 1\nk : integer\np : 1\nq : 1\nr : 1",
            namespace={"exponent": exponent},
        )
        group.x = [0.5, 1.5, 2.0, 3.0]
        group.k = [0, 1, 2, 5]
        group.run_regularly("p = x**k\nq = k**1.5\nr = x**exponent", dt=0.1 * ms)
        run(0.1 * ms)
        return group.p[:].copy(), group.q[:].copy(), group.r[:].copy()

    ours = build()
    reference = with_target("numpy", build)
    for values, expected in zip(ours, reference):
        np.testing.assert_allclose(values, expected, rtol=1e-15)
