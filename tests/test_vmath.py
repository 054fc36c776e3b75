"""Accuracy of the vectorisable math functions in ``brian2cppyy/vmath.hpp``.

One concept: every function in ``brian2cppyy::vmath`` is within 2 ulp of the
correctly rounded result over the whole double range, with C99's special
values, whether the calling loop is compiled with precise or with relaxed
(``#pragma float_control(precise, off)``) floating-point rules, and even when
the header itself is compiled under relaxed file-scope rules.

How: one Cling unit (compiled once per module) holds a loop per function and
per rule set, ``for (i...) y[i] = vmath::f(x[i])``, called on numpy arrays of
600 000 to 900 000 random inputs per function (log-uniform over the whole range, plus dense
sampling near 0, near 1 and near the overflow and underflow thresholds). The
reference is the same function in numpy's ``longdouble`` (x87 extended
precision, 64-bit significand: its own error is about 2^-11 of a double
ulp); the largest deviations are re-checked against mpmath at 60 digits. The
error in ulp is ``|ours - exact| / ulp(exact)`` with ``ulp`` the spacing of
doubles at the exact value (2^-1074 for subnormals). ``MAX_ULP`` holds the
bound the suite enforces; the maxima it measures are printed with ``-s``.

Vectorisation is checked without a clock: a loop calling each function is
compiled under ``#pragma clang loop vectorize(enable)``, and LLVM reports on
stderr a loop it was asked to vectorise but could not; a loop calling
``std::exp`` is the control that the check sees such a report. (The pragma
overrides the cost model; that the unforced loops are vectorised and faster
is shown by benchmarks/vmath_bench.py's "novec" column.)
"""

import os
import re

import numpy as np
import pytest

import brian2cppyy
from brian2cppyy.cling import runtime

mpmath = pytest.importorskip("mpmath")

MAX_ULP = 2.0
UNARY = ["exp", "expm1", "exprel", "log", "log1p", "tanh"]
NAMESPACE = "brian2cppyy_test_vmath"
#: Rule set -> (namespace of the vmath functions, pragma in the loop body).
#: "relaxed" loops relax their own arithmetic and call a copy of the header
#: that was compiled under relaxed file-scope rules (as if a unit had set
#: them before including it): the header must protect itself.
RULES = {
    "precise": ("brian2cppyy::vmath", ""),
    "relaxed": (f"{NAMESPACE}_relaxed::vmath", "#pragma float_control(precise, off)"),
}
HEADER = os.path.join(os.path.dirname(brian2cppyy.__file__), "include", "brian2cppyy", "vmath.hpp")


def _relaxed_header_copy():
    """vmath.hpp's text in its own namespace, without the include guard,
    included under relaxed file-scope floating-point rules."""
    with open(HEADER) as f:
        text = f.read()
    assert "namespace brian2cppyy {" in text
    text = text.replace("namespace brian2cppyy {", f"namespace {NAMESPACE}_relaxed {{")
    text = re.sub(r"^#(ifndef|define|endif)\b.*BRIAN2CPPYY_VMATH_HPP.*$", "", text, flags=re.M)
    return (
        "#pragma float_control(push)\n"
        "#pragma float_control(precise, off)\n"
        "#pragma clang fp contract(fast)\n"
        f"{text}\n"
        "#pragma float_control(pop)\n"
    )


def _loops():
    """C++ source: one loop per function and rule set."""
    lines = ['#include "brian2cppyy/vmath.hpp"', _relaxed_header_copy(), f"namespace {NAMESPACE} {{"]
    for rule, (vmath, pragma) in RULES.items():
        for name in UNARY:
            lines.append(
                f"void {name}_{rule}(const double* x, double* y, long n) {{\n"
                f"  for (long i = 0; i < n; i++) {{\n{pragma}\n"
                f"    y[i] = {vmath}::{name}(x[i]);\n  }}\n}}"
            )
        lines.append(
            f"void pow_{rule}(const double* x, const double* e, double* y, long n) {{\n"
            f"  for (long i = 0; i < n; i++) {{\n{pragma}\n"
            f"    y[i] = {vmath}::pow(x[i], e[i]);\n  }}\n}}"
        )
        for name in ("powi", "pow_half"):
            lines.append(
                f"void {name}_{rule}(const double* x, const int* k, double* y, long n) {{\n"
                f"  for (long i = 0; i < n; i++) {{\n{pragma}\n"
                f"    y[i] = {vmath}::{name}(x[i], k[i]);\n  }}\n}}"
            )
    lines.append(
        "void pow_int(const double* x, const int* k, double* y, long n) {\n"
        "  for (long i = 0; i < n; i++) y[i] = brian2cppyy::vmath::pow(x[i], k[i]);\n}"
    )
    lines.append("}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def loops():
    """The compiled loops: ``loops[(name, rule)](*arrays) -> result``."""
    cppyy = runtime.start()
    cppyy.cppdef(_loops())
    ns = getattr(cppyy.gbl, NAMESPACE)

    def caller(function):
        def call(*args):
            args = [np.ascontiguousarray(a) for a in args]
            out = np.empty(len(args[0]))
            function(*args, out, len(out))
            return out

        return call

    names = UNARY + ["pow", "powi", "pow_half"]
    compiled = {
        (name, rule): caller(getattr(ns, f"{name}_{rule}"))
        for name in names
        for rule in RULES
    }
    compiled[("pow_int", "precise")] = caller(ns.pow_int)
    return compiled


# ------------------------------------------------------------------ references
def ulp_of(exact):
    """Spacing of doubles at each (long double) exact value."""
    exact = np.abs(np.asarray(exact, dtype=np.longdouble))
    _, e = np.frexp(exact)  # exact = m 2^e, 0.5 <= m < 1
    e = np.maximum(e.astype(np.int64) - 53, -1074)
    return np.ldexp(np.longdouble(1), e)


def ulp_error(ours, exact):
    """|ours - exact| in ulp of exact; 0 where both agree exactly (also inf)."""
    exact = np.asarray(exact, dtype=np.longdouble)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(ours.astype(np.longdouble) - exact) / ulp_of(exact)
    same = ours.astype(np.longdouble) == exact
    # The exact value may exceed the double range slightly: then the double
    # result must be inf with the right sign.
    big = np.abs(exact) >= np.ldexp(np.longdouble(1), 1024)
    err = np.where(big, np.where(np.isinf(ours) & (np.sign(ours) == np.sign(exact)), 0, np.inf), err)
    return np.where(same, 0.0, err).astype(np.float64)


def _exprel_ld(x):
    x = np.asarray(x, dtype=np.longdouble)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        y = np.expm1(x) / x
        # e^x / x where expm1 overflows the long double range never happens
        # for doubles (e^716 fits), so this is the definition.
    return np.where(x == 0, np.longdouble(1), y)


LD_REFERENCE = {
    "exp": np.exp,
    "expm1": np.expm1,
    "exprel": _exprel_ld,
    "log": np.log,
    "log1p": np.log1p,
    "tanh": np.tanh,
}

MP_REFERENCE = {
    "exp": mpmath.exp,
    "expm1": mpmath.expm1,
    "exprel": lambda x: mpmath.expm1(x) / x if x != 0 else mpmath.mpf(1),
    "log": mpmath.log,
    "log1p": mpmath.log1p,
    "tanh": mpmath.tanh,
}


def mp_ulp_error(ours, exact):
    """Exact ulp error at one point with mpmath (exact: an mpf; NaN for no
    real result)."""
    if mpmath.isnan(exact) or np.isnan(ours):
        return 0.0 if mpmath.isnan(exact) and np.isnan(ours) else np.inf
    if mpmath.isinf(exact) or abs(exact) >= mpmath.mpf(2) ** 1024:
        return 0.0 if np.isinf(ours) and (ours > 0) == (exact > 0) else np.inf
    if exact == 0:
        return 0.0 if ours == 0 else np.inf
    e = int(mpmath.floor(mpmath.log(abs(exact), 2)))
    ulp = mpmath.mpf(2) ** max(e - 52, -1074)
    return float(abs(mpmath.mpf(ours) - exact) / ulp)


# ------------------------------------------------------------------ inputs
RNG_SEED = 20261126


def log_uniform(rng, lo_exp, hi_exp, n, signed=True):
    """|x| = 2^u, u uniform in [lo_exp, hi_exp), random sign if ``signed``."""
    x = np.exp2(rng.uniform(lo_exp, hi_exp, n))
    if signed:
        x *= rng.choice([-1.0, 1.0], n)
    return x


def inputs(name, rng):
    """About 800 000 arguments of ``name`` covering its whole domain."""
    n = 150_000
    parts = [log_uniform(rng, -1074, 1024, n)]
    if name in ("exp", "expm1", "exprel"):
        parts += [
            rng.uniform(-746, 710, n),
            rng.uniform(-1, 1, n),
            rng.uniform(700, 710, n // 4),
            rng.uniform(-746, -700, n // 4),
            log_uniform(rng, -60, 0, n),
        ]
        if name == "exprel":
            parts.append(rng.uniform(709, 717, n // 4))
    elif name in ("log", "log1p"):
        parts += [
            log_uniform(rng, -1074, 1024, n, signed=False),
            rng.uniform(0.5, 2.0, n),
            1.0 + log_uniform(rng, -52, -1, n),
            rng.uniform(-1, 1, n),
            log_uniform(rng, -60, 0, n),
        ]
        if name == "log1p":
            parts.append(-1.0 + log_uniform(rng, -52, -1, n // 4, signed=False))
    elif name == "tanh":
        parts += [rng.uniform(-22, 22, n), rng.uniform(-1, 1, n), log_uniform(rng, -60, 0, n)]
    return np.concatenate(parts)


SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 5e-324, -5e-324,
           2.2250738585072014e-308, -2.2250738585072014e-308, 1.7976931348623157e308,
           -1.7976931348623157e308, 709.782712893384, 709.7827128933841, -745.1332191019411,
           -745.1332191019412, -708.4, 1e-17, -1e-17, 0.5, 2.0, 20.0, -20.0, 40.0, -40.0,
           716.0, 717.0, -1.0000000000000002, -0.9999999999999999]


def c99_expected(name, x):
    """Expected values at the special inputs: glibc's, except exprel."""
    with np.errstate(all="ignore"):
        if name == "exprel":
            return float(_exprel_ld(np.array([x]))[0]) if np.isfinite(x) else (
                np.nan if np.isnan(x) else (np.inf if x > 0 else 0.0))
        return float(getattr(np, name)(np.float64(x)))


def same_value(a, b):
    """Equal including the sign of zero and NaN-ness."""
    if np.isnan(a) or np.isnan(b):
        return bool(np.isnan(a) and np.isnan(b))
    return a == b and np.signbit(a) == np.signbit(b)


# ------------------------------------------------------------------ tests
MEASURED = {}


def check_accuracy(key, ours, exact_ld, mp_exact, args):
    """Assert within MAX_ULP; re-check the worst points with mpmath (``mp_exact``
    maps the arguments of one point to an mpf)."""
    err = ulp_error(ours, exact_ld)
    worst = np.argsort(err)[-20:]
    with mpmath.workdps(60):
        for i in worst:
            point = [a[i] for a in args]
            err[i] = mp_ulp_error(ours[i], mp_exact(*point))
    bad = np.flatnonzero(err > MAX_ULP)
    MEASURED[key] = float(err.max())
    print(f"{key}: max error {err.max():.3f} ulp over {len(err)} inputs")
    assert bad.size == 0, (
        f"{key}: {bad.size} results beyond {MAX_ULP} ulp, e.g. at "
        f"{[tuple(float(a[i]) for a in args) for i in bad[:5]]}: "
        f"{[float(ours[i]) for i in bad[:5]]} ({[float(err[i]) for i in bad[:5]]} ulp)"
    )


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("name", UNARY)
def test_unary_accuracy(loops, name, rule):
    rng = np.random.default_rng(RNG_SEED)
    x = inputs(name, rng)
    ours = loops[(name, rule)](x)
    with np.errstate(all="ignore"):
        exact = LD_REFERENCE[name](x.astype(np.longdouble))
    finite = np.isfinite(exact) | np.isfinite(ours)
    check_accuracy(f"{name}/{rule}", ours[finite], exact[finite],
                   lambda v: MP_REFERENCE[name](mpmath.mpf(float(v))), [x[finite]])


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("name", UNARY)
def test_unary_special_values(loops, name, rule):
    x = np.array(SPECIAL)
    ours = loops[(name, rule)](x)
    wrong = [
        (float(v), float(o), c99_expected(name, v))
        for v, o in zip(x, ours)
        if not same_value(o, c99_expected(name, v))
        and not (np.isfinite(o) and ulp_error(np.array([o]), np.array([c99_expected(name, v)], dtype=np.longdouble))[0] <= MAX_ULP)
    ]
    assert not wrong, f"{name}/{rule}: (input, ours, expected): {wrong}"


def test_odd_functions_keep_the_sign_of_zero(loops):
    for name in ("expm1", "log1p", "tanh"):
        y = loops[(name, "precise")](np.array([-0.0, 0.0, -5e-324]))
        assert list(np.signbit(y)) == [True, False, True], name


def test_exprel_at_zero_and_beyond_exp_overflow(loops):
    x = np.array([0.0, -0.0, 710.0, 716.0, 716.5, np.inf, -np.inf, -1e308])
    y = loops[("exprel", "precise")](x)
    assert y[0] == 1.0 and y[1] == 1.0
    with mpmath.workdps(40):
        for i in (2, 3):
            assert mp_ulp_error(y[i], mpmath.exp(x[i]) / x[i]) <= MAX_ULP
    assert list(y[4:]) == [np.inf, np.inf, 0.0, 1e-308]


def pow_inputs(rng):
    """(x, y) pairs: results over the whole range, negative bases with
    integer exponents, x near 1 with large y, subnormal bases."""
    n = 120_000
    xs, ys = [], []
    # Any base, exponent chosen so that x^y spans [2^-1080, 2^1030).
    x = log_uniform(rng, -1074, 1024, n, signed=False)
    t = rng.uniform(-1080, 1030, n)
    xs.append(x), ys.append(t / np.log2(x))
    # Results near overflow and gradual underflow.
    x = log_uniform(rng, -30, 30, n, signed=False)
    t = np.concatenate([rng.uniform(1015, 1024.5, n // 2), rng.uniform(-1076, -1015, n - n // 2)])
    xs.append(x), ys.append(t / np.log2(x))
    # Moderate exponents.
    xs.append(log_uniform(rng, -20, 20, n, signed=False)), ys.append(rng.uniform(-10, 10, n))
    # x near 1, large |y|.
    x = 1.0 + log_uniform(rng, -52, -5, n)
    xs.append(x), ys.append(rng.uniform(-700, 700, n) / np.log(x))
    # Negative bases with integer exponents.
    xs.append(-log_uniform(rng, -10, 10, n, signed=False))
    ys.append(rng.integers(-60, 60, n).astype(float))
    x, y = np.concatenate(xs), np.concatenate(ys)
    keep = np.isfinite(y) & (np.abs(x) != 1.0)
    return x[keep], y[keep]


def mp_pow(x, y):
    """x^y in mpmath; NaN where the result is not real."""
    result = mpmath.power(mpmath.mpf(float(x)), mpmath.mpf(float(y)))
    return result if isinstance(result, mpmath.mpf) else mpmath.nan


@pytest.mark.parametrize("rule", list(RULES))
def test_pow_accuracy(loops, rule):
    rng = np.random.default_rng(RNG_SEED + 1)
    x, y = pow_inputs(rng)
    ours = loops[("pow", rule)](x, y)
    with np.errstate(all="ignore"):
        exact = np.power(x.astype(np.longdouble), y.astype(np.longdouble))
    check_accuracy(f"pow/{rule}", ours, exact, mp_pow, [x, y])


POW_SPECIAL_X = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, np.inf, -np.inf,
                 np.nan, 5e-324, -5e-324, 1.7976931348623157e308]
POW_SPECIAL_Y = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 0.5, -0.5, 1.5, np.inf,
                 -np.inf, np.nan, 2.0**53, 2.0**53 + 2, 1e300, -1e300, 1023.0, -1074.0]


@pytest.mark.parametrize("rule", list(RULES))
def test_pow_special_values(loops, rule):
    """Every pair of the special bases and exponents against C99 (glibc)."""
    x, y = (a.ravel() for a in np.meshgrid(POW_SPECIAL_X, POW_SPECIAL_Y))
    ours = loops[("pow", rule)](x, y)
    with np.errstate(all="ignore"):
        expected = np.power(x, y)
    wrong = [
        (float(a), float(b), float(o), float(e))
        for a, b, o, e in zip(x, y, ours, expected)
        if not same_value(o, e)
        and not (np.isfinite(o) and mp_ulp_error(o, mp_pow(a, b)) <= MAX_ULP)
    ]
    assert not wrong, f"pow/{rule} (x, y, ours, C99): {wrong}"


def test_pow_exact_cases(loops):
    x = np.array([2.0, 3.0, 10.0, 4.0, 0.25, -2.0, 1.5, 9.0])
    y = np.array([10.0, 2.0, 15.0, 0.5, -1.5, 3.0, 2.0, 0.5])
    assert list(loops[("pow", "precise")](x, y)) == [1024.0, 9.0, 1e15, 2.0, 8.0, -8.0, 2.25, 3.0]


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("name", ["powi", "pow_half"])
def test_integer_and_half_integer_powers(loops, name, rule):
    rng = np.random.default_rng(RNG_SEED + 2)
    n = 200_000
    k = rng.integers(-40, 41, n).astype(np.int32)
    x = log_uniform(rng, -30, 30, n, signed=(name == "powi"))
    # Bases whose powers reach overflow and underflow.
    k2 = rng.integers(-8, 9, n // 4).astype(np.int32)
    x2 = log_uniform(rng, 100, 1000, n // 4, signed=False)
    k, x = np.concatenate([k, k2, np.array([0, 0, 1, -1, 3, -3], np.int32)]), np.concatenate(
        [x, x2, np.array([np.nan, 0.0, 5e-324, 5e-324, 1e-103, 1e-103])])
    e = k.astype(np.longdouble) + (np.longdouble(0.5) if name == "pow_half" else 0)
    ours = loops[(name, rule)](x, k)
    with np.errstate(all="ignore"):
        exact = np.power(x.astype(np.longdouble), e)
    ok = ~np.isnan(exact)
    check_accuracy(f"{name}/{rule}", ours[ok], exact[ok],
                   lambda a, b: mp_pow(a, float(b) + (0.5 if name == "pow_half" else 0)),
                   [x[ok], k[ok]])


def test_integer_power_special_values(loops):
    powi = loops[("powi", "precise")]
    x = np.array([np.nan, 0.0, -0.0, -0.0, -0.0, np.inf, -np.inf, -np.inf, 2.0, 2.0])
    k = np.array([0, -1, -1, -2, 3, -2, 3, -3, 1024, -1075], np.int32)
    y = powi(x, k)
    expected = [1.0, np.inf, -np.inf, np.inf, -0.0, 0.0, -np.inf, -0.0, np.inf, 0.0]
    assert all(same_value(a, b) for a, b in zip(y, expected)), list(y)
    half = loops[("pow_half", "precise")]
    x = np.array([0.0, -0.0, 0.0, np.inf, np.inf, -1.0, 4.0, 4.0])
    k = np.array([0, 1, -1, 0, -1, 0, 1, -2], np.int32)
    y = half(x, k)
    expected = [0.0, 0.0, np.inf, np.inf, 0.0, np.nan, 8.0, 0.125]
    assert all(same_value(a, b) for a, b in zip(y, expected)), list(y)


def test_pow_with_an_int_exponent_is_powi(loops):
    """vmath::pow(double, int) takes powi's path (so `pow(x, 4)` in generated
    code is cheap), bit for bit, special values included."""
    rng = np.random.default_rng(RNG_SEED + 3)
    x = np.concatenate([log_uniform(rng, -20, 20, 20_000), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    k = np.concatenate([rng.integers(-12, 13, 20_000), [-3, -3, -2, 3, 0]]).astype(np.int32)
    a = loops[("pow_int", "precise")](x, k)
    b = loops[("powi", "precise")](x, k)
    assert np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b))


# ------------------------------------------------------------------ vectorisation
VECTORISED_CALLS = {
    "exp": "brian2cppyy::vmath::exp(x[i])",
    "expm1": "brian2cppyy::vmath::expm1(x[i])",
    "exprel": "brian2cppyy::vmath::exprel(x[i])",
    "log": "brian2cppyy::vmath::log(x[i])",
    "log1p": "brian2cppyy::vmath::log1p(x[i])",
    "tanh": "brian2cppyy::vmath::tanh(x[i])",
    "pow": "brian2cppyy::vmath::pow(x[i], x[i] - 0.5)",
    "powi": "brian2cppyy::vmath::powi(x[i], -5)",
    "pow_int": "brian2cppyy::vmath::pow(x[i], 4)",
    "pow_half": "brian2cppyy::vmath::pow_half(x[i], 1)",
    "libm_exp": "std::exp(x[i])",  # the control: Cling cannot vectorise it
}


def cling_diagnostics_of_loop(cppyy, name, expression):
    """Compile and run ``for (i...) y[i] = expression`` under
    ``#pragma clang loop vectorize(enable)`` and return what Cling printed on
    stderr: LLVM reports a loop it was asked to vectorise but could not
    ("loop not vectorized"), at the JIT compilation of the first call."""
    import tempfile

    source = (
        "#include <cmath>\n"
        f"void {NAMESPACE}_vec_{name}(const double* x, double* y, long n) {{\n"
        "#pragma clang loop vectorize(enable)\n"
        f"  for (long i = 0; i < n; i++) y[i] = {expression};\n}}"
    )
    x, y = np.linspace(0.5, 2.0, 64), np.empty(64)
    with tempfile.TemporaryFile(mode="w+") as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            cppyy.cppdef(source)
            getattr(cppyy.gbl, f"{NAMESPACE}_vec_{name}")(x, y, len(x))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        return capture.read()


@pytest.mark.parametrize("name", [n for n in VECTORISED_CALLS if n != "libm_exp"])
def test_cling_vectorises_a_loop_calling_the_function(loops, name):
    """No wall clock: Cling's own "loop not vectorized" diagnostic."""
    cppyy = runtime.start()
    printed = cling_diagnostics_of_loop(cppyy, name, VECTORISED_CALLS[name])
    assert "not vectorized" not in printed, printed


def test_the_vectorisation_check_sees_a_libm_call(loops):
    """The control: the same check reports the loop calling std::exp."""
    cppyy = runtime.start()
    printed = cling_diagnostics_of_loop(cppyy, "libm_exp", VECTORISED_CALLS["libm_exp"])
    assert "loop not vectorized" in printed
