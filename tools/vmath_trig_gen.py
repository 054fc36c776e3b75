"""Generate ``vmath_trig_data.hpp``: the constants of brian2cppyy's sin/cos.

Run ``python tools/vmath_trig_gen.py`` (needs mpmath) to rewrite
``src/brian2cppyy/include/brian2cppyy/vmath_trig_data.hpp``; ``--check``
only compares (the tests do this, so that the header and this script, its
single source of truth, cannot drift apart).

What is computed (all with mpmath at 1500 bits, then rounded to double):

* pi/2 as a double-double PIO2_H + PIO2_L (and as three doubles PIO2_1..3
  for a Cody-Waite reduction, used only by benchmarks/vmath_trig.py's
  comparison), each the double nearest to what the previous ones leave over.
* Polynomials for |r| <= pi/4 (with a small margin), in z = r*r:
  ``sin r = r + r*z*S(z)`` and ``cos r = 1 - z/2 + z*z*C(z)``, S and C of
  degree 6, obtained by interpolating S and C at the 7 Chebyshev nodes of
  [0, zmax] (near-minimax: Chebyshev interpolation is within a small factor
  of the best uniform approximation). The script prints the resulting
  approximation errors relative to sin and cos.
* The Payne-Hanek table. For a double x = m * 2**e (1 <= m < 2), only the
  bits of 2/pi below 2**(54 - e) matter for x*2/pi modulo 4, because the
  higher bits contribute multiples of 4 (x is a multiple of 2**(e - 52)).
  Row e holds those bits, scaled by 2**e, in four pieces: T0, T1, T2 are
  the bits on the fixed grids [2**54, 4), [4, 2**-51), [2**-51, 2**-104)
  (so that m*Tk are multiples of 2**-50, 2**-103, 2**-156), T3 the nearest
  double to the rest. The table covers e = PH_EMIN ... 1023, plus a row of
  zeros for the exponent of inf and NaN (so that no index is clamped).
"""

import argparse
import pathlib
import sys

import mpmath
from mpmath import mp, mpf

mp.prec = 1500

HEADER = (
    pathlib.Path(__file__).resolve().parent.parent
    / "src" / "brian2cppyy" / "include" / "brian2cppyy" / "vmath_trig_data.hpp"
)

#: smallest exponent handled by Payne-Hanek; below 2**PH_EMIN (< pi/4) the
#: argument needs no reduction
PH_EMIN = -1
#: polynomial degree (in z = r*r) of S and C
DEGREE = 6
#: the polynomials cover |r| <= (pi/4) * R_MARGIN
R_MARGIN = mpf("1.0001")


def to_double(value):
    """The double nearest to an mpmath number."""
    return float(value)


def cody_waite_parts(value, count):
    """``count`` doubles whose sum approximates ``value``, each the nearest
    double to the remainder left by the previous ones."""
    parts = []
    rest = value
    for _ in range(count):
        part = to_double(rest)
        parts.append(part)
        rest -= mpf(part)
    return parts


def chebyshev_fit(func, zmax, degree):
    """Coefficients (lowest first, in mpf) of the polynomial interpolating
    ``func`` at the degree+1 Chebyshev nodes of [0, zmax]."""
    n = degree + 1
    nodes = [
        zmax / 2 * (1 - mpmath.cos(mpmath.pi * (2 * j + 1) / (2 * n)))
        for j in range(n)
    ]
    matrix = mpmath.matrix([[z**k for k in range(n)] for z in nodes])
    values = mpmath.matrix([func(z) for z in nodes])
    solution = mpmath.lu_solve(matrix, values)
    return [solution[k] for k in range(n)]


def sin_tail(z):
    """S(z) = (sin r - r) / (r z), r = sqrt(z); its series near 0."""
    if z < mpf(2) ** -200:
        return mpf(-1) / 6
    r = mpmath.sqrt(z)
    return (mpmath.sin(r) - r) / (r * z)


def cos_tail(z):
    """C(z) = (cos r - 1 + z/2) / z**2, r = sqrt(z)."""
    if z < mpf(2) ** -200:
        return mpf(1) / 24
    r = mpmath.sqrt(z)
    return (mpmath.cos(r) - 1 + z / 2) / (z * z)


def poly(coefficients, z):
    result = mpf(0)
    for c in reversed(coefficients):
        result = result * z + mpf(c)
    return result


def approximation_errors(sin_coeffs, cos_coeffs, zmax, samples=2000):
    """Largest relative error of the double-coefficient polynomials against
    sin and cos on [0, sqrt(zmax)] (rounding errors of the evaluation aside)."""
    worst_sin = worst_cos = mpf(0)
    rmax = mpmath.sqrt(zmax)
    for j in range(1, samples + 1):
        r = rmax * j / samples
        z = r * r
        s = r + r * z * poly(sin_coeffs, z)
        c = 1 - z / 2 + z * z * poly(cos_coeffs, z)
        worst_sin = max(worst_sin, abs(s / mpmath.sin(r) - 1))
        worst_cos = max(worst_cos, abs(c / mpmath.cos(r) - 1))
    return worst_sin, worst_cos


def payne_hanek_row(e):
    """The four doubles of row e (see the module docstring)."""
    two_over_pi = 2 / mpmath.pi
    modulus = mpf(2) ** (54 - e)
    bits = two_over_pi - modulus * mpmath.floor(two_over_pi / modulus)
    scaled = bits * mpf(2) ** e  # < 2**54
    row = []
    for grid in (mpf(4), mpf(2) ** -51, mpf(2) ** -104):
        piece = mpmath.floor(scaled / grid) * grid
        row.append(piece)
        scaled -= piece
    row.append(scaled)
    doubles = [to_double(p) for p in row]
    for piece, value in zip(row[:3], doubles[:3]):
        assert mpf(value) == piece, "a fixed-grid piece must be exact"
    return doubles


def fmt(value):
    return float.hex(value) if value != 0 else "0x0p+0"


def render():
    pio2 = mpmath.pi / 2
    p1, p2, p3 = cody_waite_parts(pio2, 3)
    pio2_h, pio2_l = cody_waite_parts(pio2, 2)
    zmax = (mpmath.pi / 4 * R_MARGIN) ** 2
    sin_coeffs = [to_double(c) for c in chebyshev_fit(sin_tail, zmax, DEGREE)]
    cos_coeffs = [to_double(c) for c in chebyshev_fit(cos_tail, zmax, DEGREE)]
    err_sin, err_cos = approximation_errors(sin_coeffs, cos_coeffs, zmax)
    lines = [
        "// GENERATED by tools/vmath_trig_gen.py -- do not edit by hand.",
        "// Constants of brian2cppyy::vmath::sin/cos (see vmath_trig.hpp and the",
        "// generator's docstring for what each one is).",
        f"// Polynomial approximation errors (relative, on |r| <= pi/4 * {R_MARGIN}):",
        f"//   sin {mpmath.nstr(err_sin, 3)} (2**{mpmath.nstr(mpmath.log(err_sin, 2), 4)}),"
        f" cos {mpmath.nstr(err_cos, 3)} (2**{mpmath.nstr(mpmath.log(err_cos, 2), 4)})",
        "#ifndef BRIAN2CPPYY_VMATH_TRIG_DATA_HPP",
        "#define BRIAN2CPPYY_VMATH_TRIG_DATA_HPP",
        "",
        "namespace brian2cppyy { namespace vmath { namespace trig_data {",
        "",
        f"constexpr double TWO_OVER_PI = {fmt(to_double(2 / mpmath.pi))};",
        "// pi/2 = PIO2_1 + PIO2_2 + PIO2_3 (Cody-Waite parts)",
        f"constexpr double PIO2_1 = {fmt(p1)};",
        f"constexpr double PIO2_2 = {fmt(p2)};",
        f"constexpr double PIO2_3 = {fmt(p3)};",
        "// pi/2 = PIO2_H + PIO2_L (double-double)",
        f"constexpr double PIO2_H = {fmt(pio2_h)};",
        f"constexpr double PIO2_L = {fmt(pio2_l)};",
        "// S(z), C(z): coefficients of z**0 ... z**%d" % DEGREE,
        "constexpr double SIN_COEFFS[%d] = {" % (DEGREE + 1),
    ]
    lines += [f"    {fmt(c)}," for c in sin_coeffs]
    lines += ["};", "constexpr double COS_COEFFS[%d] = {" % (DEGREE + 1)]
    lines += [f"    {fmt(c)}," for c in cos_coeffs]
    lines += [
        "};",
        "",
        "// Payne-Hanek: row e - PH_EMIN holds T0..T3 for exponent e",
        f"constexpr int PH_EMIN = {PH_EMIN};",
        f"constexpr double PH_MIN_ARGUMENT = {fmt(2.0 ** PH_EMIN)};  // 2**PH_EMIN",
        "alignas(32) constexpr double PH_TABLE[%d][4] = {" % (1025 - PH_EMIN),
    ]
    for e in range(PH_EMIN, 1024):
        row = ", ".join(fmt(v) for v in payne_hanek_row(e))
        lines.append(f"    {{{row}}},  // e = {e}")
    lines.append("    {0x0p+0, 0x0p+0, 0x0p+0, 0x0p+0},  // inf, NaN")
    lines += [
        "};",
        "",
        "}}}  // namespace brian2cppyy::vmath::trig_data",
        "",
        "#endif  // BRIAN2CPPYY_VMATH_TRIG_DATA_HPP",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare with the header; exit 1 if it differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = HEADER.exists() and HEADER.read_text() == text
        print("up to date" if same else f"{HEADER} differs from the generator")
        return 0 if same else 1
    HEADER.write_text(text)
    print(f"wrote {HEADER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
