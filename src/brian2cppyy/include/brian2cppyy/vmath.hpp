// brian2cppyy/vmath.hpp -- vectorisable exponential, logarithm, power and
// hyperbolic tangent for Cling-compiled kernels.
//
// One concept: double-precision exp, expm1, exprel, log, log1p, pow (general,
// integer and half-integer exponents) and tanh written so that Cling's loop
// vectoriser turns a kernel loop calling them into SIMD code. Cling cannot
// reach glibc's vector library (libmvec), and a loop that calls scalar libm
// cannot be vectorised; these functions are inline and branch-free instead:
// no libm calls, no tables, every special case is computed as a value and
// chosen with ?: (a select), and floating-point bit patterns are built with
// __builtin_bit_cast. Accuracy target: within 2 ulp of the correctly rounded
// result over the whole double range (subnormals, overflow, infinities, NaN
// and signed zeros included); tests/test_vmath.py measures it.
//
// Algorithms (from the published literature; coefficients are this project's
// own minimax fits, made by tools/vmath_coefficients.py with Lawson's
// algorithm in mpmath, and rounded to double):
// - exp, expm1, exprel: additive range reduction x = n ln2 + r, |r| <= ln2/2,
//   with n found by the "round by adding 1.5 * 2^52" trick and ln2 split in
//   two parts so that x - n ln2_hi is exact (W. J. Cody and W. Waite,
//   "Software Manual for the Elementary Functions", 1980); exp(r) =
//   1 + r + r^2 P(r) with one minimax polynomial P shared by all three; the
//   result is scaled by 2^n as two factors 2^(n/2) 2^(n - n/2) built from
//   bits, so gradual underflow rounds only once. expm1 recombines
//   2^n (expm1(r) + 1) - 1 = 2 (2^(n-1) expm1(r) + (2^(n-1) - 1/2)), where
//   every part but the last addition is exact (P. T. P. Tang, "Table-driven
//   implementation of the Expm1 function in IEEE floating-point arithmetic",
//   ACM TOMS 18, 1992, describes the same recombination with tables).
// - log, log1p: x = 2^k m with m in [sqrt(2)/2, sqrt(2)), f = m - 1 (exact),
//   s = f / (2 + f), log(1 + f) = 2 atanh(s) = 2s + s^3 R(s^2), rewritten as
//   f - s (f - s^2 R(s^2)) so that the rounding of s is damped (the atanh
//   series of log is classical; see J.-M. Muller, "Elementary Functions:
//   Algorithms and Implementation", 3rd ed., 2016, ch. 11). log1p forms
//   u = 1 + x with Knuth's TwoSum and adds the rounding error c as c / u.
// - pow: exp(y log|x|) with log|x| in double-double (Dekker/Knuth error-free
//   transformations; T. J. Dekker, "A floating-point technique for extending
//   the available precision", Numer. Math. 18, 1971) and the exponential of
//   the double-double product y log|x|, so that large results keep their
//   precision. Special values follow C99 Annex F.9.4.4.
// - powi (integer exponent) and pow_half (exponent n + 1/2): binary
//   exponentiation in double-double (Knuth, TAOCP vol. 2, 4.6.3), on x or its
//   double-double reciprocal, and for pow_half on sqrt(x) in double-double.
// - tanh: tanh|x| = t / (t + 2) with t = expm1(2|x|) in double-double, odd
//   symmetry by the sign bit.
// - Divisions (exprel, tanh) multiply by one reciprocal and correct the
//   quotient with its residual computed by an FMA (P. Markstein, "IA-64 and
//   Elementary Functions", 2000): one divide instead of two, ~0.5 ulp.
//
// Use in kernels: call brian2cppyy::vmath::f directly (always qualified:
// `using namespace` makes exp/pow ambiguous with ::exp/::pow). Every call in
// the loop must be inlined for Cling to vectorise it, and Cling does NOT
// inline `static inline` functions (such as Brian2's support code
// `static inline double _f(double x)` or `_timestep`) unless they are marked
// __attribute__((always_inline)); plain `inline` functions it does inline.
// One remaining call keeps the whole loop scalar (measured on the COBAHH
// state update: 595 -> 48 ns per neuron and step once the exp wrapper and
// _timestep were always_inline and _brian_pow mapped to vmath::pow, against
// 400 with libm).
//
// Requirements: a C++20 compiler with __builtin_bit_cast (Cling 3.5 is
// clang 16). With FMA hardware (-march=native on x86-64 since Haswell)
// __builtin_fma is one instruction; without it, it is a libm call (correct,
// but the loop is then not vectorised).
#ifndef BRIAN2CPPYY_VMATH_HPP
#define BRIAN2CPPYY_VMATH_HPP

#include <cstdint>

// Every function is forced inline: a call left in a kernel loop stops Cling's
// loop vectoriser, and pow's size exceeds the default inlining threshold.
#define VMATH_INLINE inline __attribute__((always_inline))

// Strict IEEE semantics for everything in this header, whatever rules the
// including unit has set (e.g. `#pragma float_control(precise, off)` at file
// scope): relaxed rules would break the error-free transformations and the
// special values (NaN, inf). A caller's relaxed rules *inside* its own loop
// body do not reach these functions after inlining (clang keeps the rules on
// each operation), so kernels may relax their own arithmetic freely.
#pragma float_control(push)
#pragma float_control(precise, on)
#pragma clang fp contract(on)

namespace brian2cppyy {
namespace vmath {
namespace detail {

// ---------------------------------------------------------------- bits
VMATH_INLINE double from_bits(uint64_t b) { return __builtin_bit_cast(double, b); }
VMATH_INLINE uint64_t to_bits(double x) { return __builtin_bit_cast(uint64_t, x); }
VMATH_INLINE double fabs_(double x) { return from_bits(to_bits(x) & 0x7fffffffffffffffULL); }
/// |x| with the sign bit of s (like copysign).
VMATH_INLINE double with_sign_of(double x, double s) {
    return from_bits((to_bits(x) & 0x7fffffffffffffffULL) | (to_bits(s) & 0x8000000000000000ULL));
}
VMATH_INLINE double fma_(double a, double b, double c) { return __builtin_fma(a, b, c); }
// libm's sqrt declared under another name as a pure function (no errno):
// LLVM then recognises the call as the sqrt intrinsic and vectorises it
// (IEEE sqrt is correctly rounded either way). With __builtin_sqrt the call
// may set errno, so Cling (which keeps -fmath-errno) does not vectorise it.
// Caveat: the attribute is on the declaration of the symbol `sqrt` in the
// LLVM module, so other sqrt calls in a unit that uses pow_half become
// vectorisable too (and do not set errno).
double sqrt_pure(double) __asm__("sqrt") __attribute__((const, nothrow));
/// 2^e for a normal exponent -1022 <= e <= 1023.
VMATH_INLINE double pow2i(int64_t e) { return from_bits(uint64_t(e + 1023) << 52); }

constexpr double kInf = __builtin_inf();
constexpr double kNaN = __builtin_nan("");
constexpr double kLog2e = 0x1.71547652b82fep+0;
// ln 2 = kLn2Hi + kLn2Lo to about 2^-101 relative; kLn2Hi has 42 significant
// bits, so n * kLn2Hi is exact for |n| < 2^11.
constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;
constexpr double kLn2Lo = 0x1.ef35793c76730p-45;
// Adding then subtracting 1.5 * 2^52 rounds |t| < 2^51 to the nearest
// integer; the low bits of the sum's pattern hold that integer.
constexpr double kShifter = 0x1.8p52;
constexpr double kSqrt2 = 0x1.6a09e667f3bcdp+0;

// ---------------------------------------------------------------- double-double
struct DD {
    double hi, lo;
};
// A double-double hi + lo with |lo| <= about ulp(hi). The products below do
// not renormalise (|lo| may reach a few ulp of hi, harmless for products),
// so that hi is always the plain IEEE result and carries its special values
// (inf, 0, NaN) while lo is then noise that dd_value drops.

/// a + b exactly as hi + lo (Knuth's TwoSum, any magnitudes).
VMATH_INLINE DD two_sum(double a, double b) {
    double s = a + b;
    double bb = s - a;
    return {s, (a - (s - bb)) + (b - bb)};
}
/// a + b exactly, |a| >= |b| (Dekker's Fast2Sum).
VMATH_INLINE DD fast_two_sum(double a, double b) {
    double s = a + b;
    return {s, b - (s - a)};
}
VMATH_INLINE DD dd_mul(DD a, DD b) {
    double p = a.hi * b.hi;
    double e = fma_(a.hi, b.hi, -p);
    e = fma_(a.hi, b.lo, fma_(a.lo, b.hi, e));
    return {p, e};  // not renormalised: hi stays the plain IEEE product
}
/// 1 / b in double-double.
VMATH_INLINE DD dd_recip(DD b) {
    double q = 1.0 / b.hi;
    double rem = -fma_(q, b.hi, -1.0) - q * b.lo;  // 1 - q (b.hi + b.lo)
    return {q, rem / b.hi};  // hi stays the plain IEEE reciprocal
}
/// b^m for m >= 0 by binary exponentiation in double-double. For a
/// compile-time m the loop unrolls completely.
VMATH_INLINE DD dd_powu(DD b, uint32_t m) {
    DD p = {1.0, 0.0};
    bool first = true;
    while (m != 0) {
        if (m & 1u) {
            p = first ? b : dd_mul(p, b);
            first = false;
        }
        m >>= 1;
        if (m != 0) b = dd_mul(b, b);
    }
    return p;
}
/// hi + lo, unless hi is 0, infinite or NaN (then the low part is noise).
VMATH_INLINE double dd_value(DD p) {
    double v = p.hi + p.lo;
    bool plain = !(fabs_(p.hi) < kInf) || p.hi == 0.0;
    return plain ? p.hi : v;
}

// ---------------------------------------------------------------- exp core
/// (e^r - 1 - r) / r^2 on |r| <= ln2/2: minimax, absolute error 2^-58.4
/// (tools/vmath_coefficients.py, "exp/expm1 P(r)").
VMATH_INLINE double exp_remainder_poly(double r) {
    double p = 0x1.1f8b43cc85ae2p-29;
    p = fma_(p, r, 0x1.af4dde3d2abcfp-26);
    p = fma_(p, r, 0x1.27e4ccd302616p-22);
    p = fma_(p, r, 0x1.71de0236f26e1p-19);
    p = fma_(p, r, 0x1.a01a01acf8b17p-16);
    p = fma_(p, r, 0x1.a01a01abe651dp-13);
    p = fma_(p, r, 0x1.6c16c16c15202p-10);
    p = fma_(p, r, 0x1.11111111100dfp-7);
    p = fma_(p, r, 0x1.5555555555558p-5);
    p = fma_(p, r, 0x1.5555555555557p-3);
    p = fma_(p, r, 0x1.0000000000000p-1);
    return p;
}

/// Cody-Waite reduction of a (clamped, finite) argument x + x_lo:
/// x + x_lo = n ln2 + r + c with r a double and c its rounding error, so
/// that expm1 near its zero does not inherit r's rounding (amplified there
/// by e^x / expm1(x)); n as an integer.
struct Reduced {
    double r, c;
    int64_t n;
};
VMATH_INLINE Reduced reduce_ln2(double x, double x_lo) {
    double t = fma_(x, kLog2e, kShifter);
    double n = t - kShifter;
    int64_t ni = int64_t(to_bits(t) - to_bits(kShifter));
    double r_hi = fma_(-n, kLn2Hi, x);      // exact (Sterbenz)
    double r_lo = fma_(-n, kLn2Lo, x_lo);
    double r = r_hi + r_lo;
    return {r, (r_hi - r) + r_lo, ni};
}

/// expm1(r + c) for |r| <= ln2/2 (+ a little), |c| <= ulp(r), as
/// r + q_lo with q_lo = r^2 P(r) + c (1 + r).
VMATH_INLINE double expm1_reduced_lo(Reduced red) {
    double r = red.r;
    return fma_(r * r, exp_remainder_poly(r), fma_(red.c, r, red.c));
}

/// expm1(x) as an unevaluated sum hi + lo, |lo| <= |hi| but not normalised
/// (x reduced, n <= 1024):
/// 2^n (1 + q) - 1 = 2 (2^(n-1) r + (2^(n-1) - 1/2) + 2^(n-1) q_lo), whose
/// two large terms are exact and are added exactly (TwoSum), so that the
/// caller rounds once.
VMATH_INLINE DD expm1_dd(Reduced red) {
    double h = pow2i(red.n - 1);                 // 2^(n-1), n-1 in [-60, 1023]
    DD s = two_sum(h * red.r, h - 0.5);
    return {2.0 * s.hi, 2.0 * fma_(h, expm1_reduced_lo(red), s.lo)};
}

/// p * 2^n for -1100 < n < 1100, rounding once (also into subnormals).
VMATH_INLINE double scale(double p, int64_t n) {
    int64_t n1 = n >> 1;
    return (p * pow2i(n1)) * pow2i(n - n1);
}

/// exp(x + x_lo) for |x_lo| <= ulp(x); x clamped to [-746, 710] (beyond,
/// the result is 0 or inf anyway, and the clamp keeps n in range).
VMATH_INLINE double exp_dd(double x, double x_lo) {
    double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x);
    Reduced red = reduce_ln2(xc, x_lo);
    DD one_r = fast_two_sum(1.0, red.r);        // 1 + r exactly
    return scale(one_r.hi + (one_r.lo + expm1_reduced_lo(red)), red.n);
}

// ---------------------------------------------------------------- log core
/// R(z) on 0 <= z <= ((sqrt2-1)/(sqrt2+1))^2 with log(1+f) = 2s + s^3 R(s^2):
/// minimax, weighted error 2^-58.9 relative to 2s ("log R(z)").
VMATH_INLINE double log_remainder_poly(double z) {
    double p = 0x1.2f056480430f6p-3;
    p = fma_(p, z, 0x1.39a1ba9c5c812p-3);
    p = fma_(p, z, 0x1.74663ee993b7ep-3);
    p = fma_(p, z, 0x1.c71c520956d4ap-3);
    p = fma_(p, z, 0x1.24924941f12ddp-2);
    p = fma_(p, z, 0x1.999999997fdb7p-2);
    p = fma_(p, z, 0x1.5555555555592p-1);
    return p;
}

/// A positive normal x split as 2^k m with m in [sqrt2/2, sqrt2).
struct Split {
    double m;
    double k;
};
VMATH_INLINE Split split_exponent(double x) {
    uint64_t bits = to_bits(x);
    double m = from_bits((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    int64_t k = int64_t(bits >> 52) - 1023;
    bool high = m > kSqrt2;
    return {high ? 0.5 * m : m, double(high ? k + 1 : k)};
}

/// log(1+f) - f for |f| <= sqrt2 - 1, as the negated correction
/// s (f - s^2 R(s^2)) (so log(1+f) = f - correction).
VMATH_INLINE double log1p_correction(double f) {
    double s = f / (2.0 + f);
    double z = s * s;
    return s * (f - z * log_remainder_poly(z));
}

// ---------------------------------------------------------------- log of pow
/// -(2/3) split: 2/3 = kTwoThirdsHi + kTwoThirdsLo.
constexpr double kTwoThirdsHi = 0x1.5555555555555p-1;
constexpr double kTwoThirdsLo = 0x1.5555555555555p-55;

/// T(z) with R(z) = 2/3 + z T(z): weighted error 2^-66.3 relative to 2s
/// ("pow T(z)").
VMATH_INLINE double pow_log_poly(double z) {
    double p = 0x1.eb10479fc037fp-4;
    p = fma_(p, z, 0x1.de338a703d37ap-4);
    p = fma_(p, z, 0x1.1120b501bc77ap-3);
    p = fma_(p, z, 0x1.3b1362ba1f8a4p-3);
    p = fma_(p, z, 0x1.745d183243b2fp-3);
    p = fma_(p, z, 0x1.c71c71c580875p-3);
    p = fma_(p, z, 0x1.2492492493034p-2);
    p = fma_(p, z, 0x1.9999999999996p-2);
    return p;
}

/// log(ax) in double-double for positive finite ax (relative error about
/// 2^-66): the log of pow.
VMATH_INLINE DD log_dd(double ax) {
    bool sub = ax < 0x1p-1022;
    Split sp = split_exponent(sub ? ax * 0x1p54 : ax);
    double k = sub ? sp.k - 54.0 : sp.k;
    double f = sp.m - 1.0;                       // exact
    // s = f / (2 + f) in double-double.
    DD d = fast_two_sum(2.0, f);
    double sh = f / d.hi;
    double sl = (fma_(-sh, d.hi, f) - sh * d.lo) / d.hi;
    // s^3 in double-double.
    double z = sh * sh;
    double zl = fma_(sh, sh, -z);
    double s3h = z * sh;
    double s3l = fma_(z, sh, -s3h) + zl * sh + 3.0 * z * sl;
    // R = 2/3 + z T(z) in double-double.
    DD r = fast_two_sum(kTwoThirdsHi, z * pow_log_poly(z));
    r.lo += kTwoThirdsLo;
    // s^3 R.
    double ph = s3h * r.hi;
    double pl = fma_(s3h, r.hi, -ph) + s3h * r.lo + s3l * r.hi;
    // log(1+f) = 2s + s^3 R.
    DD l = fast_two_sum(2.0 * sh, ph);
    l.lo += 2.0 * sl + pl;
    // + k ln2.
    DD g = two_sum(k * kLn2Hi, l.hi);
    g.lo += l.lo + k * kLn2Lo;
    return fast_two_sum(g.hi, g.lo);
}

/// Whether y is an integer, and whether an odd one.
struct Parity {
    bool integer, odd;
};
VMATH_INLINE Parity parity(double y) {
    double half = 0.5 * y;
    bool integer = __builtin_trunc(y) == y;
    return {integer, integer && __builtin_trunc(half) != half};
}

}  // namespace detail

// =================================================================== API

/// e^x.
VMATH_INLINE double exp(double x) {
    using namespace detail;
    double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x);
    Reduced red = reduce_ln2(xc, 0.0);
    // e^r = (1 + r) + r^2 P(r) with 1 + r added exactly (Fast2Sum), so that
    // the result rounds about once. Unlike expm1, exp need not carry r's
    // rounding error red.c (at most 2^-54 |r|): dropping it saves 10 %.
    double r = red.r;
    DD one_r = fast_two_sum(1.0, r);
    return scale(one_r.hi + fma_(r * r, exp_remainder_poly(r), one_r.lo), red.n);
}

/// e^x - 1, accurate near 0 (expm1(-0) = -0).
VMATH_INLINE double expm1(double x) {
    using namespace detail;
    double xc = x < -40.0 ? -40.0 : (x > 710.0 ? 710.0 : x);
    DD e = expm1_dd(reduce_ln2(xc, 0.0));
    double y = e.hi + e.lo;
    return fabs_(x) < 0x1p-54 ? x : y;
}

/// (e^x - 1) / x, with exprel(0) = 1; finite up to x = 716.
VMATH_INLINE double exprel(double x) {
    using namespace detail;
    double xc = x < -40.0 ? -40.0 : (x > 720.0 ? 720.0 : x);
    double xd = x > 720.0 ? 720.0 : x;           // the divisor: x below -40 too
    Reduced red = reduce_ln2(xc, 0.0);
    bool big = x > 40.0;
    // Numerator in double-double: expm1(x) for x <= 40 (expm1(x) = -1 to
    // 2^-57 below -40); for x > 40, where expm1 = exp, e^x 2^-n = 1 + r +
    // q_lo, and the quotient is scaled by 2^n afterwards, so that e^x / x
    // stays finite up to x = 716.
    DD scaled_exp = fast_two_sum(1.0, red.r);
    scaled_exp.lo += expm1_reduced_lo(red);
    DD num = big ? scaled_exp : expm1_dd(red);
    num = fast_two_sum(num.hi, num.lo);
    // One division: a quotient from the reciprocal, corrected by the exact
    // residual (Markstein-style), is within about 0.5 ulp.
    double inv = 1.0 / xd;
    double q = num.hi * inv;
    double y = q + (fma_(-q, xd, num.hi) + num.lo) * inv;
    y = big ? scale(y, red.n) : y;
    y = x == kInf ? kInf : y;
    y = x == -kInf ? 0.0 : y;
    return fabs_(x) < 0x1p-54 ? 1.0 + 0.5 * x : y;
}

/// Natural logarithm: log(0) = -inf, log(x < 0) = NaN.
VMATH_INLINE double log(double x) {
    using namespace detail;
    bool sub = x < 0x1p-1022;
    Split sp = split_exponent(sub ? x * 0x1p54 : x);
    double k = sub ? sp.k - 54.0 : sp.k;
    double f = sp.m - 1.0;
    double t = f - (log1p_correction(f) - k * kLn2Lo);
    double y = fma_(k, kLn2Hi, t);
    y = x == kInf ? x : y;
    y = x == 0.0 ? -kInf : y;
    y = x < 0.0 ? kNaN : y;
    return x != x ? x : y;
}

/// log(1 + x), accurate near 0 (log1p(-0) = -0, log1p(-1) = -inf).
VMATH_INLINE double log1p(double x) {
    using namespace detail;
    DD u = two_sum(1.0, x);                      // 1 + x = u.hi + u.lo exactly
    double uh = u.hi > 0x1p-1022 ? u.hi : 1.0;   // keep the split defined
    Split sp = split_exponent(uh);
    double f = sp.m - 1.0;
    double lo = sp.k * kLn2Lo + u.lo / uh;
    double t = f - (log1p_correction(f) - lo);
    double y = fma_(sp.k, kLn2Hi, t);
    y = x == kInf ? x : y;
    y = x == -1.0 ? -kInf : y;
    y = x < -1.0 ? kNaN : y;
    y = fabs_(x) < 0x1p-54 ? x : y;
    return x != x ? x : y;
}

/// Hyperbolic tangent (odd: tanh(-0) = -0).
VMATH_INLINE double tanh(double x) {
    using namespace detail;
    double a = fabs_(x);
    // t = expm1(2|x|) in double-double; tanh|x| = t / (t + 2), the quotient
    // corrected by its exact residual.
    DD t = expm1_dd(reduce_ln2(2.0 * (a > 20.0 ? 20.0 : a), 0.0));
    t = fast_two_sum(t.hi, t.lo);
    DD d = two_sum(t.hi, 2.0);
    d.lo += t.lo;
    double inv = 1.0 / d.hi;
    double q = t.hi * inv;
    double y = q + (fma_(-q, d.hi, t.hi) + t.lo - q * d.lo) * inv;
    y = a < 0x1p-27 ? a : y;
    y = a != a ? a : y;
    return with_sign_of(y, x);
}

/// x^n for an integer n, in double-double (error below 1 ulp for any n);
/// meant for exponents known at compile time (the loop then unrolls).
/// powi(x, 0) = 1 even for NaN; 0^-n = inf with the sign of x for odd n.
VMATH_INLINE double powi(double x, int n) {
    using namespace detail;
    uint32_t m = n < 0 ? 0u - uint32_t(n) : uint32_t(n);
    DD b = {x, 0.0};
    DD base = n < 0 ? dd_recip(b) : b;
    return dd_value(dd_powu(base, m));
}

/// x^(n + 1/2) for an integer n, as sqrt(x)^(2n+1) in double-double. NaN for
/// x < 0; pow_half(+-0, n) = +0 (n >= 0) or +inf (n < 0).
VMATH_INLINE double pow_half(double x, int n) {
    using namespace detail;
    double s = sqrt_pure(x);
    DD root = {s, fma_(-s, s, x) / (2.0 * s)};
    int e = 2 * n + 1;
    uint32_t m = e < 0 ? 0u - uint32_t(e) : uint32_t(e);
    DD base = e < 0 ? dd_recip(root) : root;
    double y = dd_value(dd_powu(base, m));
    y = x == 0.0 ? (n < 0 ? kInf : 0.0) : y;
    return x == kInf ? (n < 0 ? 0.0 : kInf) : y;
}

/// x^y with the special values of C99 Annex F (pow(x, +-0) = 1 and
/// pow(1, y) = 1 even for NaN; negative x needs an integer y, else NaN).
VMATH_INLINE double pow(double x, double y) {
    using namespace detail;
    double ax = fabs_(x);
    Parity py = parity(y);
    // General case: |x|^y = exp(y log|x|) with y log|x| in double-double.
    DD l = log_dd(ax < 0x1p-1074 ? 1.0 : (ax == kInf ? 2.0 : ax));
    double eh = y * l.hi;
    double el = fma_(y, l.hi, -eh) + y * l.lo;
    bool finite_e = fabs_(eh) < 746.0;
    double r = exp_dd(eh, finite_e ? el : 0.0);
    r = eh > 0.0 && !finite_e ? kInf : r;
    r = eh < 0.0 && !finite_e ? 0.0 : r;
    r = x < 0.0 && py.odd ? -r : r;
    r = x < 0.0 && !py.integer ? kNaN : r;
    // |x| = 0 or inf: 0 or inf, negative for x < 0 and odd y.
    double edge = (ax == 0.0) == (y < 0.0) ? kInf : 0.0;
    edge = py.odd ? with_sign_of(edge, x) : edge;
    r = ax == 0.0 || ax == kInf ? edge : r;
    // y = +-inf: 1 for |x| = 1, else 0 or inf.
    double yinf = ax == 1.0 ? 1.0 : ((ax > 1.0) == (y > 0.0) ? kInf : 0.0);
    r = fabs_(y) == kInf ? yinf : r;
    r = x != x || y != y ? x + y : r;
    return x == 1.0 || y == 0.0 ? 1.0 : r;
}

/// x^n for an int exponent: powi (exact special cases as pow's for an
/// integer y). Lets generated code such as `pow(x, 4)` take the cheap path.
VMATH_INLINE double pow(double x, int n) { return powi(x, n); }

}  // namespace vmath
}  // namespace brian2cppyy

#pragma float_control(pop)
#undef VMATH_INLINE

#endif  // BRIAN2CPPYY_VMATH_HPP
