"""Accuracy of the vectorisable sin, cos and sqrt of ``vmath_trig.hpp``.

Each function is compiled once per module into a tiny Cling loop
``y[i] = f(a[i])`` (the shape of a Brian2 kernel) and called on numpy
arrays. Results are compared in ulp with numpy's float64 functions (glibc,
< 1 ulp); where they differ by more than 1 ulp, the exact value from mpmath
decides, so a reported error is ours, not libm's. sqrt must equal numpy's
(both correctly rounded) bit for bit. The same loops are also compiled with
a relaxed floating-point model in the caller, as a kernel may be.
"""

import ctypes
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

mpmath = pytest.importorskip("mpmath")

from brian2cppyy import jit  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
MAX_ULP = 2.0
N = 1_000_000

_LOOP = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_FUNCTIONS = ("sin", "cos", "sqrt")


def _loop_source(namespace, relaxed):
    pragma = "#pragma float_control(precise, off)\n" if relaxed else ""
    lines = [f"namespace {namespace} {{"]
    for name in _FUNCTIONS:
        lines += [
            f"void loop_{name}(const double* __restrict a, double* __restrict y, size_t n) {{",
            pragma + "    for (size_t i = 0; i < n; i++) {",
            f"        y[i] = brian2cppyy::vmath::{name}(a[i]);",
            "    }",
            "}",
            f"intptr_t address_{name} = reinterpret_cast<intptr_t>(&loop_{name});",
        ]
    lines.append("}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def loops():
    """{(name, relaxed): f(array) -> array} for the compiled loops."""
    cppyy = jit.ensure_started()
    cppyy.cppdef('#pragma cling optimize(3)\n#include "brian2cppyy/vmath_trig.hpp"\n')
    result = {}
    for relaxed in (False, True):
        namespace = "_test_vmath_trig_relaxed" if relaxed else "_test_vmath_trig"
        if not hasattr(cppyy.gbl, namespace):
            cppyy.cppdef("#pragma cling optimize(3)\n" + _loop_source(namespace, relaxed))
        for name in _FUNCTIONS:
            function = _LOOP(getattr(getattr(cppyy.gbl, namespace), f"address_{name}"))

            def call(values, function=function):
                values = np.ascontiguousarray(values, dtype=np.float64)
                out = np.empty_like(values)
                function(values.ctypes.data, out.ctypes.data, values.size)
                return out

            result[name, relaxed] = call
    return result


# -- exact references -------------------------------------------------------------


def _exact(name, x):
    """The correctly rounded f(x) (a Python float) from mpmath."""
    exponent = math.frexp(x)[1] if x != 0 else 0
    with mpmath.workprec(max(200, exponent + 200)):
        return float(getattr(mpmath, name)(mpmath.mpf(x)))


def _ulp_error(name, x, y):
    """|y - f(x)| in ulp of the exact f(x), with f(x) from mpmath (exact to
    far below an ulp: the difference is taken in high precision)."""
    exponent = math.frexp(x)[1] if x != 0 else 0
    with mpmath.workprec(max(200, exponent + 200)):
        exact = getattr(mpmath, name)(mpmath.mpf(x))
        ulp = np.spacing(abs(float(exact)))
        return float(abs(mpmath.mpf(y) - exact) / mpmath.mpf(ulp))


def _errors(name, x, y):
    """ulp errors of y = f(x): vs numpy, replaced by the exact error where
    numpy and we differ by more than 1 ulp (libm itself may be off by < 1)."""
    reference = getattr(np, name)(x)
    error = np.abs(y - reference) / np.spacing(np.abs(reference))
    for i in np.flatnonzero(~(error <= 1.0)):
        error[i] = _ulp_error(name, float(x[i]), float(y[i]))
    return error


def _log_uniform(rng, n, low_exp=-1074, high_exp=1024):
    """Random doubles of all magnitudes and both signs (uniform exponents)."""
    mantissas = rng.uniform(1.0, 2.0, n)
    exponents = rng.integers(low_exp, high_exp, n)
    return np.ldexp(mantissas, exponents) * rng.choice([-1.0, 1.0], n)


def _near_multiples_of_pio2(rng, n):
    """The doubles nearest to k*pi/2 (k up to 2**20 and random large k), and
    their neighbours a few ulp away: the hard cases of argument reduction."""
    small = rng.integers(1, 2**20, n // 2).astype(np.float64) * (np.pi / 2)
    centres = []
    with mpmath.workprec(1200):
        halfpi = mpmath.pi / 2
        for k in rng.integers(1, 2**20, 300):
            centres.append(float(halfpi * int(k)))
        for e in rng.integers(20, 1020, 300):
            k = int(rng.integers(2**52, 2**53)) << int(e)
            centres.append(float(halfpi * k))
    centres = np.array([c for c in centres if np.isfinite(c)])
    offsets = np.arange(-3, 4)
    around = np.concatenate([np.nextafter(centres, np.inf * np.sign(o)) if o else centres
                             for o in offsets])
    return np.concatenate([small, -small, around])


#: a double closest to a multiple of pi/2 (Muller, "Elementary Functions"):
#: 6381956970095103 * 2**797, and some classic hard cases
HARD_CASES = np.array(
    [
        math.ldexp(6381956970095103, 797),
        -math.ldexp(6381956970095103, 797),
        1e22,
        5e-324,
        math.ldexp(1, 1023),
        1.7976931348623157e308,
        -1.7976931348623157e308,
        2.0**20,
        np.nextafter(2.0**20, 0),
        355.0,
        103993.0,
        float(2**62),
        np.pi,
        np.pi / 2,
        np.pi / 4,
        np.nextafter(np.pi / 4, 1),
    ]
)


def _ranges(rng):
    return {
        "uniform [-10, 10]": rng.uniform(-10, 10, N),
        "uniform [-1e4, 1e4]": rng.uniform(-1e4, 1e4, N),
        "log-uniform, whole range": _log_uniform(rng, N),
        "near multiples of pi/2": _near_multiples_of_pio2(rng, 20_000),
        "hard cases": HARD_CASES,
    }


@pytest.mark.parametrize("relaxed", [False, True], ids=["strict-caller", "relaxed-caller"])
@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_within_two_ulp(loops, name, relaxed):
    rng = np.random.default_rng(20261126)
    worst = {}
    for label, x in _ranges(rng).items():
        if relaxed and label.startswith("uniform [-1e4"):
            continue  # the relaxed caller only needs a sample of each kind
        y = loops[name, relaxed](x)
        error = _errors(name, x, y)
        worst[label] = (float(error.max()), float(x[np.argmax(error)]))
    print(f"\n{name} ({'relaxed' if relaxed else 'strict'} caller), max ulp:")
    for label, (value, where) in worst.items():
        print(f"  {label:28s} {value:.3f} at x = {where!r}")
    bad = {label: w for label, w in worst.items() if not w[0] <= MAX_ULP}
    assert not bad, f"{name}: more than {MAX_ULP} ulp: {bad}"


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_exact_error_on_a_sample(loops, name):
    """The fractional ulp error against mpmath on a sample of all ranges
    (not only where numpy disagrees): catches an error creeping above 1 ulp
    before it reaches the 2 ulp limit."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-10, 10, 500), _log_uniform(rng, 500, -30, 1024),
                        _near_multiples_of_pio2(rng, 200)[-200:]])
    y = loops[name, False](x)
    errors = np.array([_ulp_error(name, float(a), float(b)) for a, b in zip(x, y)])
    print(f"\n{name}: exact max ulp on {x.size} samples: {errors.max():.3f}")
    assert errors.max() <= 1.0


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324,
                    2.2250738585072014e-308, -1e-310, 1e-300, -1e-20])


def test_sin_special_values(loops):
    y = loops["sin", False](SPECIAL)
    assert np.signbit(y[0]) == False and y[0] == 0.0  # noqa: E712
    assert np.signbit(y[1]) and y[1] == 0.0, "sin(-0) must be -0"
    assert np.isnan(y[2:6]).all(), "sin(+-inf) and sin(NaN) must be NaN"
    # tiny arguments: sin(x) rounds to x
    np.testing.assert_array_equal(y[6:], SPECIAL[6:])


def test_cos_special_values(loops):
    y = loops["cos", False](SPECIAL)
    np.testing.assert_array_equal(y[:2], [1.0, 1.0])
    assert np.isnan(y[2:6]).all(), "cos(+-inf) and cos(NaN) must be NaN"
    np.testing.assert_array_equal(y[6:], np.ones(SPECIAL.size - 6))


def test_sqrt_correctly_rounded(loops):
    rng = np.random.default_rng(3)
    x = np.concatenate([np.abs(_log_uniform(rng, N)), rng.uniform(0, 100, N),
                        [0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 4.0]])
    for relaxed in (False, True):
        np.testing.assert_array_equal(loops["sqrt", relaxed](x), np.sqrt(x))


def test_sqrt_special_values(loops):
    y = loops["sqrt", False](np.array([-0.0, -1.0, -5e-324, -np.inf, np.inf, np.nan]))
    assert y[0] == 0.0 and np.signbit(y[0]), "sqrt(-0) must be -0"
    assert np.isnan(y[1:4]).all(), "sqrt of a negative number must be NaN"
    assert y[4] == np.inf
    assert np.isnan(y[5])


def test_generated_constants_are_up_to_date():
    """vmath_trig_data.hpp is what tools/vmath_trig_gen.py produces."""
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "vmath_trig_gen.py"), "--check"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
