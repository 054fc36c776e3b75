// brian2cppyy: powers with constant exponents, as plain multiplications.
//
// The code generator (generator.py, CppyyNodeRenderer) renders `x**n` with a
// constant integer n as ipow<n>(x), and `x**(k + 1/2)` as fast_pow_half<2k+1>(x),
// so that a kernel computes them with a few multiplications (and one square
// root) instead of a call of the general pow: Cling's loop vectoriser then
// sees straight-line arithmetic. x*x is exact (correctly rounded, like pow);
// higher powers round once per multiplication, as gcc's -ffast-math code does.
// Without fast-math the generator uses the accurate vmath::powi / pow_half.
// Each argument is evaluated once (it may contain rand()).
#ifndef BRIAN2CPPYY_POWERS_HPP
#define BRIAN2CPPYY_POWERS_HPP

#include <cmath>

namespace brian2cppyy {
namespace vmath {

// sqrt(x), correctly rounded (the hardware instruction), vectorisable; on
// other than x86 std::sqrt. `std::sqrt` sets errno for x < 0, which keeps
// the loop vectoriser away; the `__builtin_ia32_sqrtsd` intrinsic has no
// errno semantics and the vectoriser widens it to vsqrtpd. (Here, not in
// vmath_trig.hpp, because fast_pow_half uses it: every kernel may.)
static inline __attribute__((always_inline)) double sqrt(double x) {
#if defined(__SSE2__)
    typedef double v2df __attribute__((vector_size(16)));
    v2df v = {x, 0.0};
    return __builtin_ia32_sqrtsd(v)[0];
#else
    return std::sqrt(x);
#endif
}

}  // namespace vmath

// x**N by binary powering: x**(2m) = (x**m)**2, x**(2m+1) = x * (x**m)**2.
// N < 0 is 1 / x**(-N): 1/0 gives inf, as pow(0, N) does.
template <int N>
inline double ipow(const double x) {
    if constexpr (N < 0) {
        return 1.0 / ipow<-N>(x);
    } else if constexpr (N == 0) {
        return 1.0;  // pow(x, 0) is 1 for every x, NaN included
    } else if constexpr (N == 1) {
        return x;
    } else {
        const double half = ipow<N / 2>(x);
        if constexpr (N % 2 == 0)
            return half * half;
        else
            return half * half * x;
    }
}

// x**(TwiceN / 2) for an odd TwiceN: sqrt(x) times an integer power.
// Only used under fast-math (as gcc's -ffast-math rewrites pow(x, 0.5)):
// pow(-0, 0.5) is +0 but this gives -0, pow(-inf, 0.5) is inf but this NaN.
template <int TwiceN>
inline double fast_pow_half(const double x) {
    static_assert(TwiceN % 2 != 0, "fast_pow_half is for half-integer exponents");
    const double root = vmath::sqrt(x);
    if constexpr (TwiceN < 0)
        return 1.0 / (root * ipow<(-TwiceN - 1) / 2>(x));
    else
        return root * ipow<(TwiceN - 1) / 2>(x);
}

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_POWERS_HPP
