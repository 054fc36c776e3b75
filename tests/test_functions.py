"""Functions in generated code: Brian2's default functions, TimedArray,
BinomialFunction, and users' ``@implementation('cpp', ...)`` functions with
headers, include dirs, sources, macros and libraries."""

import subprocess

import numpy as np
import pytest
from brian2 import (
    BinomialFunction,
    NeuronGroup,
    StateMonitor,
    TimedArray,
    check_units,
    defaultclock,
    implementation,
    ms,
    mV,
    run,
    seed,
    start_scope,
)
from brian2.devices.device import RANDOM_BUFFER_SIZE

import brian2cppyy
from helpers import full_message

# -- default functions ------------------------------------------------------------

_WIDE = np.concatenate(
    [np.linspace(-5, 5, 41), [-2.5, -0.5, 0.0, 0.5, 2.5, 1e-12, -1e-12, 3.999999]]
)
_POSITIVE = np.concatenate([np.linspace(0.01, 50, 40), [1.0, 10.0, 1e-8, 1e5]])
_UNIT = np.concatenate([np.linspace(-1, 1, 41), [0.999999, -0.999999]])
_SMALL = np.concatenate([np.linspace(-3, 3, 31), [1e-10, -1e-10, 1e-17, 0.0, 1e-5]])

# expression, inputs, the numpy reference (None: only the numpy target)
FLOAT_CASES = {
    "sin": ("sin(x)", _WIDE, np.sin),
    "cos": ("cos(x)", _WIDE, np.cos),
    "tan": ("tan(x)", _WIDE, np.tan),
    "sinh": ("sinh(x)", _WIDE, np.sinh),
    "cosh": ("cosh(x)", _WIDE, np.cosh),
    "tanh": ("tanh(x)", _WIDE, np.tanh),
    "exp": ("exp(x)", _WIDE, np.exp),
    "log": ("log(x)", _POSITIVE, np.log),
    "log10": ("log10(x)", _POSITIVE, np.log10),
    "sqrt": ("sqrt(x)", _POSITIVE, np.sqrt),
    "ceil": ("ceil(x)", _WIDE, np.ceil),
    "floor": ("floor(x)", _WIDE, np.floor),
    "arcsin": ("arcsin(x)", _UNIT, np.arcsin),
    "arccos": ("arccos(x)", _UNIT, np.arccos),
    "arctan": ("arctan(x)", _WIDE, np.arctan),
    "abs": ("abs(x)", _WIDE, np.abs),
    "sign": ("sign(x)", _WIDE, np.sign),
    "clip": ("clip(x, -1.5, 2.25)", _WIDE, lambda x: np.clip(x, -1.5, 2.25)),
    "expm1": ("expm1(x)", _SMALL, np.expm1),
    "log1p": ("log1p(x)", np.abs(_SMALL), np.log1p),
    "exprel": (
        "exprel(x)",
        np.concatenate([_SMALL, [800.0, -800.0]]),
        lambda x: np.where(
            np.abs(x) < 1e-16,
            1.0,
            np.where(x > 717, np.inf, np.expm1(x) / np.where(x == 0, 1, x)),
        ),
    ),
    "power": ("x**3 + 2**x", _WIDE, lambda x: x**3 + 2**x),
    "mod": ("x % 1.5", _WIDE, lambda x: x % 1.5),
    "floordiv": ("x // 1.5", _WIDE, lambda x: x // 1.5),
}


def _evaluate(expression, values, var_type="1"):
    N = len(values)
    G = NeuronGroup(N, f"x : 1\ny : {var_type}")
    G.x = values
    G.y = expression
    return np.array(G.y[:])


@pytest.mark.parametrize("name", sorted(FLOAT_CASES))
def test_default_function(with_target, name):
    expression, values, reference = FLOAT_CASES[name]
    ours = _evaluate(expression, values)
    with np.errstate(all="ignore"):
        expected = reference(values)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0)
    theirs = with_target("numpy", _evaluate, expression, values)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_default_functions_in_stateupdate():
    # functions also work in the state updater, with units
    G = NeuronGroup(
        5,
        "dv/dt = (clip(sin(x)*exp(-abs(x)), -0.2, 0.2) - v)/(0.1*ms) : 1\nx : 1",
        method="exact",
    )
    G.x = np.linspace(-2, 2, 5)
    run(10 * ms)
    x = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(
        G.v[:], np.clip(np.sin(x) * np.exp(-np.abs(x)), -0.2, 0.2), rtol=1e-12
    )


def test_int_function():
    values = np.array([-2.7, -2.5, -1.0, -0.3, 0.0, 0.3, 0.99, 1.0, 2.5, 7.9])
    ours = _evaluate("int(x)", values, "integer")
    assert ours.dtype.kind == "i"
    np.testing.assert_array_equal(ours, np.trunc(values).astype(int))
    # int() of a boolean expression
    ours = _evaluate("int(x > 0.5) + 10*int(x < 0)", values, "integer")
    np.testing.assert_array_equal(ours, (values > 0.5) + 10 * (values < 0))


def test_integer_arguments():
    G = NeuronGroup(9, "k : integer\na : integer\ns : integer\nc : integer")
    G.k = "i - 4"
    G.a = "abs(k)"
    G.s = "sign(k)"
    G.c = "clip(k, -2, 3)"
    k = np.arange(9) - 4
    np.testing.assert_array_equal(G.a[:], np.abs(k))
    np.testing.assert_array_equal(G.s[:], np.sign(k))
    np.testing.assert_array_equal(G.c[:], np.clip(k, -2, 3))


def test_timestep_function(with_target):
    def build():
        G = NeuronGroup(8, "t_x : second\nn : integer")
        G.t_x = np.array([0.0, 0.1, 0.2999999999, 0.3, 1.0, 2.05, 12.3456, 99.99]) * ms
        G.n = "timestep(t_x, dt)"
        return np.array(G.n[:])

    ours = build()
    np.testing.assert_array_equal(ours, [0, 1, 3, 3, 10, 20, 123, 999])
    np.testing.assert_array_equal(ours, with_target("numpy", build))


def test_constants_pi_e_inf():
    G = NeuronGroup(1, "a : 1\nb : 1\nc : 1")
    G.a = "pi"
    G.b = "e"
    G.c = "-inf"
    assert G.a[0] == np.pi
    assert G.b[0] == np.e
    assert G.c[0] == -np.inf


# -- TimedArray ---------------------------------------------------------------------


def _timed_1d():
    values = np.array([0.0, 1.5, -2.0, 4.25, 3.0, 0.5]) * mV
    ta = TimedArray(values, dt=0.5 * ms)
    G = NeuronGroup(
        2,
        """v : volt
           dw/dt = (ta(t) - w)/(0.05*ms) : volt""",
        method="euler",
    )
    G.run_regularly("v = ta(t) + i*mV", when="start")
    M = StateMonitor(G, ["v", "w"], record=True, when="end")
    run(4 * ms)  # longer than the array: the last value is kept
    return np.array(M.t[:]), np.array(M.v[:]), np.array(M.w[:])


def test_timed_array_1d(with_target):
    t, v, w = _timed_1d()
    values = np.array([0.0, 1.5, -2.0, 4.25, 3.0, 0.5]) * 1e-3
    idx = np.clip((np.round(t / 1e-4).astype(int)) // 5, 0, 5)
    np.testing.assert_allclose(v[0], values[idx], rtol=1e-15)
    np.testing.assert_allclose(v[1], values[idx] + 1e-3, rtol=1e-15)
    t_np, v_np, w_np = with_target("numpy", _timed_1d)
    np.testing.assert_array_equal(t, t_np)
    np.testing.assert_array_equal(v, v_np)
    np.testing.assert_allclose(w, w_np, rtol=1e-12, atol=1e-18)


def _timed_2d():
    values = np.arange(4 * 3, dtype=float).reshape(4, 3) ** 1.5  # 4 times, 3 neurons
    ta2 = TimedArray(values, dt=0.3 * ms)
    G = NeuronGroup(3, "v = ta2(t, i) : 1")
    M = StateMonitor(G, "v", record=True)
    run(1.5 * ms)
    return np.array(M.t[:]), np.array(M.v[:])


def test_timed_array_2d(with_target):
    t, v = _timed_2d()
    values = np.arange(4 * 3, dtype=float).reshape(4, 3) ** 1.5
    steps = np.round(t / 1e-4).astype(int)
    idx = np.clip(steps // 3, 0, 3)
    np.testing.assert_allclose(v, values[idx].T, rtol=1e-15)
    t_np, v_np = with_target("numpy", _timed_2d)
    np.testing.assert_array_equal(t, t_np)
    np.testing.assert_array_equal(v, v_np)


def test_timed_array_changed_values_in_new_scope():
    # Same structure, other values: the cached kernel must read the new data
    results = []
    for scale in [1.0, -3.0]:
        ta = TimedArray(scale * np.array([1.0, 2.0, 3.0]), dt=defaultclock.dt)
        G = NeuronGroup(1, "v : 1")
        G.run_regularly("v = ta(t)", when="start")
        M = StateMonitor(G, "v", record=0, when="end")
        run(0.3 * ms)
        results.append(np.array(M.v[0]))
        start_scope()
    np.testing.assert_array_equal(results[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(results[1], [-3.0, -6.0, -9.0])


# -- BinomialFunction ------------------------------------------------------------------


def _constants(n, p):
    # as brian2.input.binomial formats them into the C++ code
    reverse = p > 0.5
    P = 1.0 - p if reverse else p
    q = 1.0 - P
    qn = np.exp(n * np.log(q))
    bound = min(n, n * P + 10.0 * np.sqrt(n * P * q + 1))
    r = lambda v: float(f"{v:.15f}")  # noqa: E731
    return reverse, r(P), r(q), r(qn), r(bound)


def _binomial_inversion(n, p, uniforms):
    """brian2's C++ inversion algorithm, drawing from ``uniforms``."""
    reverse, P, q, qn, bound = _constants(n, p)
    draws = iter(uniforms)
    X = 0
    px = qn
    U = next(draws)
    while U > px:
        X += 1
        if X > bound:
            X = 0
            px = qn
            U = next(draws)
        else:
            U -= px
            px = ((n - X + 1) * P * px) / (X * q)
    return (n - X) if reverse else X, draws


def _expected_binomials(n, p, count, uniforms):
    out = []
    draws = iter(uniforms)
    for _ in range(count):
        value, draws = _binomial_inversion(n, p, draws)
        out.append(value)
    return np.array(out)


@pytest.mark.parametrize("n, p", [(20, 0.1), (15, 0.85), (7, 0.5)])
@pytest.mark.parametrize("approximate", [True, False])
def test_binomial_exact(n, p, approximate):
    # n*p or n*(1-p) <= 5: the exact algorithm even with approximate=True
    binom = BinomialFunction(n, p, approximate=approximate)  # noqa: F841  (used in the expression)
    N = 2000
    G = NeuronGroup(N, "y : integer")
    seed(4321)
    G.y = "binom()"
    values = np.array(G.y[:])
    rng = np.random.RandomState(4321)
    uniforms = rng.rand(RANDOM_BUFFER_SIZE)
    expected = _expected_binomials(n, p, N, uniforms)
    np.testing.assert_array_equal(values, expected)
    assert values.min() >= 0 and values.max() <= n
    assert abs(values.mean() - n * p) < 5 * np.sqrt(n * p * (1 - p) / N)


@pytest.mark.parametrize("n, p", [(100, 0.3), (1000, 0.6)])
def test_binomial_approximate(n, p):
    binom = BinomialFunction(n, p, approximate=True)  # noqa: F841  (used in the expression)
    N = 5000
    G = NeuronGroup(N, "y : 1")
    seed(99)
    G.y = "binom()"
    values = np.array(G.y[:])
    normals = np.random.RandomState(99).randn(RANDOM_BUFFER_SIZE)[:N]
    loc = float(f"{n * p:.15f}")
    scale = float(f"{np.sqrt(n * p * (1 - p)):.15f}")
    # computed in double, returned as float
    expected = (normals * scale + loc).astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert abs(values.mean() - n * p) < 5 * np.sqrt(n * p * (1 - p) / N)
    # not integers: the normal approximation
    assert np.any(values != np.round(values))


def test_binomial_exact_not_approximated():
    # (with larger n, (1-p)**n rounds to 0 in Brian2's code: an endless loop)
    binom = BinomialFunction(40, 0.3, approximate=False)  # noqa: F841  (used in the expression)
    N = 25000  # more draws than the buffer holds
    G = NeuronGroup(N, "y : integer")
    seed(5)
    G.y = "binom()"
    values = np.array(G.y[:])
    assert values.min() >= 0 and values.max() <= 40
    assert abs(values.mean() - 12) < 5 * np.sqrt(8.4 / N)
    assert abs(values.var() - 8.4) < 0.5
    # the buffer is refilled from the same stream after RANDOM_BUFFER_SIZE draws
    uniforms = np.random.RandomState(5).rand(2 * RANDOM_BUFFER_SIZE)
    np.testing.assert_array_equal(values, _expected_binomials(40, 0.3, N, uniforms))


# -- user functions -------------------------------------------------------------------


def test_user_function_plain():
    @implementation(
        "cpp",
        """
        double uf_poly(double x, int k)
        {
            double result = 0;
            for (int j = 0; j <= k; j++)
                result += std::pow(x, j);
            return result;
        }
        """,
    )
    @check_units(x=1, k=1, result=1)
    def uf_poly(x, k):
        return sum(x**j for j in range(int(k) + 1))

    G = NeuronGroup(5, "y : 1")
    G.y = "uf_poly(0.5*i, 3)"
    x = 0.5 * np.arange(5)
    np.testing.assert_allclose(G.y[:], 1 + x + x**2 + x**3, rtol=1e-14)


def test_user_function_headers_include_dirs_sources(tmp_path):
    (tmp_path / "uf_lib.h").write_text(
        "#ifndef UF_LIB_H\n#define UF_LIB_H\n"
        "double uf_lib_triple_plus(double x);\n"
        "inline double uf_lib_inline_square(double x) { return x*x; }\n"
        "#endif\n"
    )
    (tmp_path / "uf_lib.cpp").write_text(
        '#include "uf_lib.h"\n'
        "double uf_lib_triple_plus(double x) { return 3.0*x + 0.25; }\n"
    )

    @implementation(
        "cpp",
        """
        double uses_uf_lib(double x)
        {
            return uf_lib_triple_plus(x) + uf_lib_inline_square(x);
        }
        """,
        headers=['"uf_lib.h"'],
        include_dirs=[str(tmp_path)],
        sources=[str(tmp_path / "uf_lib.cpp")],
    )
    @check_units(x=1, result=1)
    def uses_uf_lib(x):
        return 3.0 * x + 0.25 + x * x

    G = NeuronGroup(6, "y : 1\ndz/dt = uses_uf_lib(1.0)/ms : 1", method="euler")
    G.y = "uses_uf_lib(i*1.0)"
    x = np.arange(6.0)
    np.testing.assert_allclose(G.y[:], 3 * x + 0.25 + x * x, rtol=1e-15)
    run(0.5 * ms)
    np.testing.assert_allclose(G.z[:], 0.5 * 4.25, rtol=1e-12)


def test_user_function_angle_bracket_header():
    @implementation(
        "cpp",
        """
        double uf_hypot(double x, double y) { return std::hypot(x, y); }
        """,
        headers=["<cmath>"],
    )
    @check_units(x=1, y=1, result=1)
    def uf_hypot(x, y):
        return np.hypot(x, y)

    G = NeuronGroup(4, "y : 1")
    G.y = "uf_hypot(3.0*i, 4.0*i)"
    np.testing.assert_allclose(G.y[:], 5.0 * np.arange(4), rtol=1e-15)


def test_user_function_define_macros():
    code = """
    double uf_macro(double x)
    {
    #ifdef UF_FLAG
        return UF_SCALE * x;
    #else
        return -1.0;
    #endif
    }
    """

    @implementation("cpp", code, define_macros=[("UF_SCALE", "7.5"), ("UF_FLAG", None)])
    @check_units(x=1, result=1)
    def uf_macro(x):
        return 7.5 * x

    G = NeuronGroup(4, "y : 1")
    G.y = "uf_macro(i)"
    np.testing.assert_array_equal(G.y[:], 7.5 * np.arange(4))

    # the macros do not leak into code compiled later
    @implementation(
        "cpp",
        """
        double uf_no_macro(double x)
        {
        #if defined(UF_FLAG) || defined(UF_SCALE)
            return 1.0;
        #else
            return 2.0 * x;
        #endif
        }
        """,
    )
    @check_units(x=1, result=1)
    def uf_no_macro(x):
        return 2.0 * x

    H = NeuronGroup(4, "y : 1")
    H.y = "uf_no_macro(i)"
    np.testing.assert_array_equal(H.y[:], 2.0 * np.arange(4))


def test_user_function_libm():
    @implementation(
        "cpp",
        """
        extern "C" double cbrt(double);
        double uf_cbrt(double x) { return cbrt(x); }
        """,
        libraries=["m"],
    )
    @check_units(x=1, result=1)
    def uf_cbrt(x):
        return np.cbrt(x)

    G = NeuronGroup(5, "y : 1")
    G.y = "uf_cbrt(i*i*i - 8.0)"
    np.testing.assert_allclose(G.y[:], np.cbrt(np.arange(5) ** 3 - 8.0), rtol=1e-15)


def test_user_function_own_library(tmp_path):
    src = tmp_path / "ufcube.c"
    src.write_text("double uf_c_cube_plus(double x) { return x*x*x + 0.5; }\n")
    libdir = tmp_path / "lib"
    libdir.mkdir()
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(libdir / "libufcube.so"), str(src)],
        check=True,
        capture_output=True,
    )

    @implementation(
        "cpp",
        """
        extern "C" double uf_c_cube_plus(double);
        double uf_cube(double x) { return uf_c_cube_plus(x); }
        """,
        libraries=["ufcube"],
        library_dirs=[str(libdir)],
    )
    @check_units(x=1, result=1)
    def uf_cube(x):
        return x**3 + 0.5

    G = NeuronGroup(4, "y : 1")
    G.y = "uf_cube(i)"
    np.testing.assert_array_equal(G.y[:], np.arange(4.0) ** 3 + 0.5)


def test_user_function_with_namespace_array():
    # a user function that reads an array passed through its namespace
    table = np.array([10.0, 20.0, 30.0, 40.0])

    @implementation(
        "cpp",
        """
        double uf_lookup(int k) { return _namespace_uf_table[k % 4]; }
        """,
        namespace={"_uf_table": table},  # seen as _namespace_uf_table in C++
    )
    @check_units(k=1, result=1)
    def uf_lookup(k):
        return table[k % 4]

    G = NeuronGroup(7, "y : 1")
    G.y = "uf_lookup(i)"
    np.testing.assert_array_equal(G.y[:], table[np.arange(7) % 4])


def test_user_function_compiled_once_per_body():
    @implementation("cpp", "double uf_once(double x) { return x + 0.125; }")
    @check_units(x=1, result=1)
    def uf_once(x):
        return x + 0.125

    G = NeuronGroup(3, "y : 1")
    G.y = "uf_once(i)"
    compiled = brian2cppyy.stats()["compiled"]
    H = NeuronGroup(3, "y : 1")
    H.y = "uf_once(i)"
    assert brian2cppyy.stats()["compiled"] == compiled
    np.testing.assert_array_equal(H.y[:], np.arange(3) + 0.125)


def test_edited_source_file_is_an_error_naming_it(tmp_path):
    source = tmp_path / "uf_edited.cpp"
    source.write_text("double uf_edited_offset() { return 1.0; }\n")

    def function():
        @implementation(
            "cpp",
            "double uses_uf_edited(double x) { return x + uf_edited_offset(); }",
            headers=[], sources=[str(source)],
        )
        @check_units(x=1, result=1)
        def uses_uf_edited(x):
            return x + 1.0

        return uses_uf_edited

    uses_uf_edited = function()  # noqa: F841  (used in the expression)
    G = NeuronGroup(3, "y : 1")
    G.y = "uses_uf_edited(i*1.0)"
    np.testing.assert_array_equal(G.y[:], [1.0, 2.0, 3.0])

    source.write_text("double uf_edited_offset() { return 2.0; }\n")
    uses_uf_edited = function()  # noqa: F841
    H = NeuronGroup(3, "y : 1")
    with pytest.raises(Exception) as excinfo:
        H.y = "uses_uf_edited(i*1.0)"
    message = full_message(excinfo.value)
    assert str(source) in message
    assert "has changed since it was compiled" in message
    assert "restart the Python process" in message


def test_edited_header_is_an_error_naming_it(tmp_path):
    header = tmp_path / "uf_edited_header.h"
    header.write_text("inline double uf_edited_header_offset() { return 1.0; }\n")

    def function():
        @implementation(
            "cpp",
            "double uses_uf_edited_header(double x) { return x + uf_edited_header_offset(); }",
            headers=['"uf_edited_header.h"'], include_dirs=[str(tmp_path)],
        )
        @check_units(x=1, result=1)
        def uses_uf_edited_header(x):
            return x + 1.0

        return uses_uf_edited_header

    uses_uf_edited_header = function()  # noqa: F841  (used in the expression)
    G = NeuronGroup(3, "y : 1")
    G.y = "uses_uf_edited_header(i*1.0)"
    np.testing.assert_array_equal(G.y[:], [1.0, 2.0, 3.0])

    header.write_text("inline double uf_edited_header_offset() { return 2.0; }\n")
    uses_uf_edited_header = function()  # noqa: F841
    H = NeuronGroup(3, "y : 1")
    with pytest.raises(Exception) as excinfo:
        H.y = "uses_uf_edited_header(i*1.0)"
    message = full_message(excinfo.value)
    assert f"The header '{header}' has changed since it was compiled" in message
    assert "restart the Python process" in message
