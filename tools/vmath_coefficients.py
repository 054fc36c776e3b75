"""Minimax polynomial coefficients for ``include/brian2cppyy/vmath.hpp``.

One concept: fit, in multiple precision, the polynomials the vectorisable
math functions evaluate, and print them as C++ hexadecimal double literals.

Method: Lawson's algorithm (iteratively re-weighted least squares, which
converges to the weighted minimax polynomial; C. L. Lawson, "Contributions to
the theory of linear least maximum approximation", 1961) on Chebyshev nodes,
in mpmath at 60 digits. The coefficients are then rounded to double and the
weighted error of the *rounded* polynomial is measured on a dense grid and
printed, so the error budget in the header's comments can be checked.

Run: ``python tools/vmath_coefficients.py`` (about half a minute).
"""

import mpmath as mp

mp.mp.dps = 60


def chebyshev_nodes(a, b, n):
    """``n`` Chebyshev points of the first kind on ``[a, b]`` (none at 0
    when ``a = -b`` and ``n`` is even)."""
    return [
        (a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (2 * i + 1) / (2 * n))
        for i in range(n)
    ]


def lawson_fit(target, weight, powers, a, b, nodes=240, iterations=80):
    """Coefficients ``c`` minimising ``max |weight(t) (target(t) - sum c_k
    t**powers[k])|`` over ``[a, b]`` (approximately; Lawson's iteration)."""
    ts = chebyshev_nodes(mp.mpf(a), mp.mpf(b), nodes)
    rows = [[weight(t) * t**p for p in powers] for t in ts]
    rhs = [weight(t) * target(t) for t in ts]
    u = [mp.mpf(1) / len(ts)] * len(ts)
    m = len(powers)
    coeffs = None
    for _ in range(iterations):
        normal = mp.matrix(m, m)
        right = mp.matrix(m, 1)
        for row, f, ui in zip(rows, rhs, u):
            for j in range(m):
                uj = ui * row[j]
                right[j] += uj * f
                for k in range(j, m):
                    normal[j, k] += uj * row[k]
        for j in range(m):
            for k in range(j):
                normal[j, k] = normal[k, j]
        coeffs = mp.lu_solve(normal, right)
        errors = [
            abs(f - sum(coeffs[k] * row[k] for k in range(m)))
            for row, f in zip(rows, rhs)
        ]
        total = sum(ui * e for ui, e in zip(u, errors))
        u = [ui * e / total for ui, e in zip(u, errors)]
    return [coeffs[k] for k in range(m)]


def max_weighted_error(target, weight, powers, coeffs, a, b, samples=3001):
    """Max weighted error of the polynomial with ``coeffs`` on a dense grid."""
    worst = mp.mpf(0)
    for i in range(samples + 1):
        t = mp.mpf(a) + (mp.mpf(b) - mp.mpf(a)) * i / samples
        if t == 0:
            continue
        p = sum(c * t**q for c, q in zip(coeffs, powers))
        worst = max(worst, abs(weight(t) * (target(t) - p)))
    return worst


def hex_double(x):
    return float(x).hex()


def report(name, target, weight, powers, a, b, **kwargs):
    coeffs = lawson_fit(target, weight, powers, a, b, **kwargs)
    rounded = [mp.mpf(float(c)) for c in coeffs]
    err = max_weighted_error(target, weight, powers, rounded, a, b)
    print(f"// {name}: powers {powers} on [{float(a):.6g}, {float(b):.6g}],"
          f" max weighted error 2^{float(mp.log(err, 2)):.1f}")
    for q, c in zip(powers, rounded):
        print(f"    {hex_double(c)},  // t^{q}")
    return rounded


def exp_remainder(r):
    """(e^r - 1 - r) / r^2, the part of exp/expm1 a polynomial carries."""
    return (mp.exp(r) - 1 - r) / r**2


def atanh_remainder(z):
    """(2 atanh(s) - 2 s) / s^3 with z = s^2: log(1+f) = 2s + s^3 R(z)."""
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s) / s**3


def constants():
    """The split constants of the header: ln2 = hi + lo with hi on 42 bits
    (so n * hi is exact for |n| < 2^11), 2/3 = hi + lo, log2(e), sqrt(2)."""
    ln2 = mp.log(2)
    hi = mp.floor(ln2 * 2**42) / 2**42
    two_thirds = mp.mpf(2) / 3
    print(f"// kLn2Hi = {hex_double(hi)}, kLn2Lo = {hex_double(ln2 - hi)}")
    print(f"// kTwoThirdsHi = {hex_double(two_thirds)}, "
          f"kTwoThirdsLo = {hex_double(two_thirds - mp.mpf(float(two_thirds)))}")
    print(f"// kLog2e = {hex_double(1 / ln2)}, kSqrt2 = {hex_double(mp.sqrt(2))}")


def main():
    constants()
    ln2_half = mp.log(2) / 2 * (1 + mp.mpf(2) ** -30)
    # exp(r) = 1 + r + r^2 P(r); expm1(r) = r + r^2 P(r). Absolute error
    # of P below 2^-58 keeps both within a small fraction of an ulp.
    report("exp/expm1 P(r)", exp_remainder, lambda r: 1, list(range(11)),
           -ln2_half, ln2_half)
    # |s| <= (sqrt2 - 1)/(sqrt2 + 1) for m in [sqrt2/2, sqrt2).
    smax = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1) * (1 + mp.mpf(2) ** -30)
    zmax = smax**2
    # log: log(1+f) = 2s + s^3 R(z); the error of s^3 R relative to 2s is
    # z/2 * dR, so R is weighted by z.
    report("log R(z)", atanh_remainder, lambda z: z / 2, list(range(7)),
           mp.mpf(2) ** -80, zmax)
    # pow: R(z) = 2/3 + z T(z), with 2/3 kept in double-double; the error of
    # s^3 z T relative to 2s is z^2/2 * dT.
    report("pow T(z)", lambda z: (atanh_remainder(z) - mp.mpf(2) / 3) / z,
           lambda z: z**2 / 2, list(range(8)), mp.mpf(2) ** -80, zmax)


if __name__ == "__main__":
    main()
