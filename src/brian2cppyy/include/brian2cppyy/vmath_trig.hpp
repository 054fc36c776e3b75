// Vectorisable sin and cos for Cling-compiled kernels (and, from powers.hpp,
// sqrt).
//
// Cling (cppyy) compiles `std::sin(a[i])` in a loop to a call of glibc's
// scalar sin per element; the loop vectoriser cannot widen such calls. The
// functions here contain no calls and no branches that survive if-conversion,
// so a loop `for (i...) y[i] = brian2cppyy::vmath::sin(a[i]);` becomes AVX2
// code. They are accurate to within 2 ulp over the whole double range (the
// largest error measured by tests/test_vmath_trig.py, against mpmath, is
// 0.73 ulp, including the hardest arguments of every exponent), with IEEE
// special values:
//   sin/cos(+-inf) = NaN, NaN -> NaN, sin(-0) = -0, sqrt(-0) = -0,
//   sqrt(x < 0) = NaN, sqrt(inf) = inf, subnormals handled.
//
// Algorithms (written from the published descriptions, no library code):
// * Argument reduction |x| = (N + F) * pi/2, q = N mod 4, |F| <= 1/2, with
//   r = F * pi/2 kept as a double-double (rh + rl), for every |x| >= 1/2 by
//   the Payne-Hanek method (M. Payne, R. Hanek, "Radian reduction for
//   trigonometric functions", SIGNUM Newsletter 18, 1983): only the bits of
//   2/pi that can influence x*2/pi mod 4 are used. They come from a table
//   indexed by the exponent of x (four doubles per exponent, see
//   tools/vmath_trig_gen.py); the products with x's mantissa are split
//   exactly with FMA (TwoProduct, T. J. Dekker, "A floating-point technique
//   for extending the available precision", 1971) and summed exactly on
//   fixed grids (TwoSum, D. Knuth, TAOCP vol. 2), so that F carries a
//   relative error below ~2**-100 however small it is -- also for the worst
//   case of all doubles, |F| ~ 2**-62 (J.-M. Muller, "Elementary Functions",
//   ch. 11).
//   The table reads become (scalarised) gathers; the loop stays vectorised
//   provided the vectoriser knows that the loop's stores cannot alias the
//   table: it cannot bound a data-dependent read for a runtime overlap
//   check, and Clang ignores __restrict on local pointers (Cling emits no
//   type-based alias information either). So the arrays a loop writes must
//   be __restrict *parameters* of a function inlined around the loop, as in
//   templates/stateupdate.cpp; otherwise sin/cos keep their loop scalar.
//   Why not a Cody-Waite reduction (W. J. Cody, W. Waite, 1980) for moderate
//   |x| with Payne-Hanek only for huge |x|? In a vectorised loop both would
//   run for every element and be blended (measured 8.2 ns/element for sin
//   on [-10, 10], against 7.0 ns for Payne-Hanek alone); a branch to an
//   out-of-line Payne-Hanek stops the loop vectoriser (12.1 ns). Cody-Waite
//   alone, accurate only to |x| ~ 2**20, would take 3.2 ns; std::sin in
//   Cling 20.2 ns (benchmarks/vmath_trig.py, AMD EPYC, AVX2, shared machine).
// * sin r = r + r*z*S(z), cos r = 1 - z/2 + z*z*C(z), z = r*r, S and C of
//   degree 6 fitted by Chebyshev interpolation (coefficients computed by
//   tools/vmath_trig_gen.py with mpmath); rl enters through the first-order
//   terms sin(rh+rl) ~ sin rh + rl cos rh, cos(rh+rl) ~ cos rh - rl sin rh,
//   and 1 - z/2 is summed with its rounding error (Knuth's TwoSum).
// * sqrt: the SSE2 sqrtsd instruction (correctly rounded), in powers.hpp.
//
// Needs FMA (x86 with __FMA__, e.g. -march=native on any AVX2 machine, or
// AArch64); without it sin/cos fall back to std::sin/std::cos (correct, but
// not vectorised). All functions are `static inline` and `always_inline`:
// Cling (cppyy 3.5) never inlines a function with internal linkage (static
// or in an anonymous namespace), however small, unless forced, and a call
// blocks vectorisation. The bodies fix their own floating-point model
// (`float_control(precise, on)`, no contraction), so a calling loop compiled
// with relaxed floating-point rules does not break the exact steps.
#ifndef BRIAN2CPPYY_VMATH_TRIG_HPP
#define BRIAN2CPPYY_VMATH_TRIG_HPP

#include <cmath>
#include <cstdint>

#include "powers.hpp"  // vmath::sqrt
#include "vmath_trig_data.hpp"

#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define BRIAN2CPPYY_VMATH_TRIG_FMA 1
#else
#define BRIAN2CPPYY_VMATH_TRIG_FMA 0
#endif

#define BRIAN2CPPYY_VMATH_TRIG_INLINE static inline __attribute__((always_inline))
#define BRIAN2CPPYY_VMATH_TRIG_STRICT \
    _Pragma("float_control(precise, on)") _Pragma("clang fp contract(off)")

namespace brian2cppyy {
namespace vmath {
namespace trig_detail {

using namespace trig_data;

// A double-double: the unevaluated sum hi + lo, |lo| <= ulp(hi)/2.
struct Pair {
    double hi;
    double lo;
};

BRIAN2CPPYY_VMATH_TRIG_INLINE uint64_t bits_of(double x) {
    return __builtin_bit_cast(uint64_t, x);
}

BRIAN2CPPYY_VMATH_TRIG_INLINE double from_bits(uint64_t b) {
    return __builtin_bit_cast(double, b);
}

// Knuth's TwoSum: hi + lo == a + b exactly, for any a, b.
BRIAN2CPPYY_VMATH_TRIG_INLINE Pair two_sum(double a, double b) {
    BRIAN2CPPYY_VMATH_TRIG_STRICT
    double s = a + b;
    double bb = s - a;
    double e = (a - (s - bb)) + (b - bb);
    return {s, e};
}

// Dekker's Fast2Sum: exact if a == 0 or exponent(a) >= exponent(b).
BRIAN2CPPYY_VMATH_TRIG_INLINE Pair fast_two_sum(double a, double b) {
    BRIAN2CPPYY_VMATH_TRIG_STRICT
    double s = a + b;
    return {s, b - (s - a)};
}

// TwoProduct with FMA: hi + lo == a * b exactly (barring over/underflow).
BRIAN2CPPYY_VMATH_TRIG_INLINE Pair two_prod(double a, double b) {
    BRIAN2CPPYY_VMATH_TRIG_STRICT
    double p = a * b;
    return {p, __builtin_fma(a, b, -p)};
}

// n mod 4 in [0, 4) for an integer-valued double n (exact).
BRIAN2CPPYY_VMATH_TRIG_INLINE double mod4(double n) {
    BRIAN2CPPYY_VMATH_TRIG_STRICT
    return n - 4.0 * __builtin_floor(n * 0.25);
}

// The reduced argument: |x| = (q + (hi + lo) / (pi/2)) * pi/2 mod 2*pi.
struct Reduced {
    double hi;
    double lo;
    double q;  // quadrant, 0..3 (meaningless for inf and NaN, see sin/cos)
};

// Payne-Hanek reduction of ax = |x| (for 2**PH_EMIN <= ax < inf; PH_EMIN = -1).
//
// With m the mantissa of ax (1 <= m < 2) and T0..T3 the row of its exponent,
// ax * 2/pi == m * (T0 + T1 + T2 + T3) mod 4. The products m*Tk are split
// exactly (TwoProduct); m*T0 is a multiple of 2**-50 (< 2**55), m*T1 of
// 2**-103 (< 8). Their parts on the grid 2**-50 are summed exactly and their
// integer part removed; the parts below (each < 2**-50 and on the grid
// 2**-103) are summed exactly too. Only the tail rounds: terms below
// 2**-100 (absolute errors below 2**-150) and the low part of the final
// TwoSum (an error relative to F). So F = f.hi + lo has a relative error
// below ~2**-100 even when the large terms cancel down to the smallest |F|
// of all doubles (about 2**-62).
BRIAN2CPPYY_VMATH_TRIG_INLINE Reduced reduce_payne_hanek(double ax) {
    BRIAN2CPPYY_VMATH_TRIG_STRICT
    // smaller arguments (whose result is not used) read row 0; inf and NaN
    // read the last row (zeros)
    const uint64_t b = bits_of(__builtin_fmax(ax, PH_MIN_ARGUMENT));
    const int64_t row_index = static_cast<int64_t>(b >> 52) - (1023 + PH_EMIN);
    const double* row = PH_TABLE[row_index];
    const double m = from_bits((b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    Pair p0 = two_prod(m, row[0]);
    Pair p1 = two_prod(m, row[1]);
    Pair p2 = two_prod(m, row[2]);
    double p3 = m * row[3];
    // p1.hi (in [0, 8)) on the grid 2**-50, and the rest (exact, < 2**-51)
    double c_hi = __builtin_rint(p1.hi * 0x1p50) * 0x1p-50;
    double c_lo = p1.hi - c_hi;
    double n0 = __builtin_rint(p0.hi);
    double n2 = __builtin_rint(c_hi);
    double big = ((p0.hi - n0) + p0.lo) + (c_hi - n2);  // exact: grid 2**-50, |big| <= 3
    double n1 = __builtin_rint(big);
    double v = big - n1;                                 // exact, |v| <= 1/2
    double w = c_lo + p1.lo;  // exact: grid 2**-103, < 2**-50
    Pair ws = two_sum(w, p2.hi);
    Pair f = two_sum(v, ws.hi);
    double lo = f.lo + (ws.lo + (p2.lo + p3));
    double q = mod4(mod4(n0) + n1 + n2);
    // r = (f.hi + lo) * pi/2 as a double-double
    Pair r = two_prod(f.hi, PIO2_H);
    double r_lo = r.lo + (f.hi * PIO2_L + lo * PIO2_H);
    Pair out = fast_two_sum(r.hi, r_lo);
    return {out.hi, out.lo, q};
}

// The reduced argument of ax = |x|: below 2**PH_EMIN (= 1/2 < pi/4) ax
// itself, else the Payne-Hanek reduction (computed for every element and
// blended: a branch would stop the loop vectoriser).
BRIAN2CPPYY_VMATH_TRIG_INLINE Reduced reduce(double ax) {
    Reduced ph = reduce_payne_hanek(ax);
    bool small = ax < PH_MIN_ARGUMENT;
    return {small ? ax : ph.hi, small ? 0.0 : ph.lo, small ? 0.0 : ph.q};
}

// Horner's scheme with FMA for the degree-6 polynomials S and C.
BRIAN2CPPYY_VMATH_TRIG_INLINE double horner(const double* c, double z) {
    BRIAN2CPPYY_VMATH_TRIG_STRICT
    double p = c[6];
    p = __builtin_fma(p, z, c[5]);
    p = __builtin_fma(p, z, c[4]);
    p = __builtin_fma(p, z, c[3]);
    p = __builtin_fma(p, z, c[2]);
    p = __builtin_fma(p, z, c[1]);
    return __builtin_fma(p, z, c[0]);
}

// sin(rh + rl) for |rh + rl| <= pi/4 (slightly more).
BRIAN2CPPYY_VMATH_TRIG_INLINE double sin_kernel(double rh, double rl) {
    BRIAN2CPPYY_VMATH_TRIG_STRICT
    double z = rh * rh;
    double rz = rh * z;
    // rh + (rh*z*S(z) + rl*(1 - z/2))
    double correction = __builtin_fma(rz, horner(SIN_COEFFS, z), rl - 0.5 * z * rl);
    return rh + correction;
}

// cos(rh + rl) for |rh + rl| <= pi/4 (slightly more).
BRIAN2CPPYY_VMATH_TRIG_INLINE double cos_kernel(double rh, double rl) {
    BRIAN2CPPYY_VMATH_TRIG_STRICT
    Pair z = two_prod(rh, rh);
    double half = 0.5 * z.hi;  // exact
    Pair w = two_sum(1.0, -half);
    // (1 - z/2) + z*z*C(z) - rh*rl, with the rounding errors of z and 1 - z/2
    double zz = z.hi * z.hi;
    double correction = __builtin_fma(zz, horner(COS_COEFFS, z.hi),
                                      (w.lo - 0.5 * z.lo) - rh * rl);
    return w.hi + correction;
}

BRIAN2CPPYY_VMATH_TRIG_INLINE double negate_if(bool flip, double v) {
    return from_bits(bits_of(v) ^ (static_cast<uint64_t>(flip) << 63));
}

// sin and cos of the reduced argument of ax = |x|, and its quadrant: both
// are computed, the quadrant picks one per element (a blend, no branch).
struct SinCos {
    double s;
    double c;
    double q;
};

BRIAN2CPPYY_VMATH_TRIG_INLINE SinCos sin_cos_reduced(double ax) {
    Reduced r = reduce(ax);
    return {sin_kernel(r.hi, r.lo), cos_kernel(r.hi, r.lo), r.q};
}

}  // namespace trig_detail

// sin(x) within 2 ulp for every double x.
BRIAN2CPPYY_VMATH_TRIG_INLINE double sin(double x) {
#if BRIAN2CPPYY_VMATH_TRIG_FMA
    using namespace trig_detail;
    const double ax = __builtin_fabs(x);
    SinCos t = sin_cos_reduced(ax);
    // by quadrant: sin r, cos r, -sin r, -cos r; then sin(-x) = -sin(x)
    double v = negate_if(t.q >= 2.0, (t.q == 1.0 || t.q == 3.0) ? t.c : t.s);
    v = from_bits(bits_of(v) ^ (bits_of(x) & 0x8000000000000000ULL));
    return ax <= __DBL_MAX__ ? v : x - x;  // NaN for inf and NaN
#else
    return std::sin(x);
#endif
}

// cos(x) within 2 ulp for every double x.
BRIAN2CPPYY_VMATH_TRIG_INLINE double cos(double x) {
#if BRIAN2CPPYY_VMATH_TRIG_FMA
    using namespace trig_detail;
    const double ax = __builtin_fabs(x);
    SinCos t = sin_cos_reduced(ax);
    // by quadrant: cos r, -sin r, -cos r, sin r
    double v = negate_if(t.q == 1.0 || t.q == 2.0, (t.q == 1.0 || t.q == 3.0) ? t.s : t.c);
    return ax <= __DBL_MAX__ ? v : x - x;  // NaN for inf and NaN
#else
    return std::cos(x);
#endif
}

}  // namespace vmath
}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_VMATH_TRIG_HPP
