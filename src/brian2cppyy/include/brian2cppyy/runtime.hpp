// brian2cppyy runtime support, included once into Cling before any kernel.
//
// Holds what every generated kernel relies on: the contract with Python
// (contract.hpp: argument slots, statuses, the error record), the
// arithmetic helpers that Brian2's C++ expression renderer emits (_brian_mod, _brian_floordiv,
// _brian_pow; integer division by zero throws ZeroDivision, which a kernel
// returns as ERR_ZERO_DIVISION), the fault guard (fault_guard.hpp), and the
// random-number buffers shared with the runtime device.
#ifndef BRIAN2CPPYY_RUNTIME_HPP
#define BRIAN2CPPYY_RUNTIME_HPP

#include <cstdint>
#include <cstddef>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <climits>
#include <cfloat>
#include <vector>
#include <algorithm>
#include <numeric>
#include <type_traits>
#include <utility>
#include <string>
#include <exception>
#include <set>
#include <map>
#include <mutex>

#include "dynamic_array.h"   // Brian2's DynamicArray1D / DynamicArray2D
#include "stdint_compat.h"   // Brian2's int_ (int() in generated code)
#include "vmath.hpp"        // brian2cppyy::vmath: exp, log, pow, ... (vectorisable)
#include "powers.hpp"       // ipow, fast_pow_half: constant powers as multiplications
#include "brian2cppyy/contract.hpp"  // what Python and C++ share

// Not loaded here, to keep Cling's start short: what only some models use is
// included by the code that uses it, once per process (header guards):
// spike_queue.hpp (Brian2's CSpikeQueue, by the synaptic templates: 80 ms
// of parsing), vmath_trig.hpp (sin, cos and their tables: as the header of
// those functions, functions.ON_DEMAND_HEADERS) and synapse_numbering.hpp
// (by synapse creation).
//
// Generated code and users' functions have always seen the standard library
// without "std::" (Brian2's spikequeue.h says "using namespace std" at global
// scope, and it used to be loaded here); this keeps it so for every kernel,
// whichever compiles first.
using namespace std;

namespace brian2cppyy {

// Called by a static initialiser in each compiled unit.
inline bool register_kernel(KernelFunction kernel) {
    entry_points.last_kernel = kernel;
    return true;
}

// The message of the last C++ exception caught in a kernel (or of GSL's
// error), per thread (kernels of several Python threads may fail at the same
// time; Python reads the message in the thread that called the kernel,
// through entry_points.last_error_message). A fixed buffer per thread, longer
// messages cut: a thread_local std::string made Cling's start 35 ms longer.
constexpr size_t ERROR_MESSAGE_CAPACITY = 1024;

inline char* error_message_buffer() {
    thread_local char message[ERROR_MESSAGE_CAPACITY] = "";
    return message;
}

inline const char* last_error_message() {
    return error_message_buffer();
}

inline void set_last_error_message(const char* text) {
    char* message = error_message_buffer();
    std::strncpy(message, text ? text : "", ERROR_MESSAGE_CAPACITY - 1);
    message[ERROR_MESSAGE_CAPACITY - 1] = '\0';
}

// Thrown where a Python callback reported a failure (the callback stored the
// Python exception, per thread); the kernel returns ERR_CALLBACK and the code
// object raises the stored exception. Not a std::exception, so that nothing
// but BRIAN2CPPYY_CATCH_ALL catches it.
struct CallbackFailed {};

// Thrown by the integer _brian_floordiv / _brian_mod for a zero divisor. Not
// a std::exception, so that a user function's catch clause does not take it.
struct ZeroDivision {};

[[noreturn, gnu::noinline, gnu::cold]] inline void throw_zero_division() {
    throw ZeroDivision();
}

// The status of the exception being handled, its message stored for Python
// (last_error_message). Call it only inside a catch block: it rethrows the
// exception to tell its type. Not inline: it is compiled once, when Cling
// starts, and kernels only call it (inlined into each kernel, the message
// assignment cost every kernel's compilation about 15 ms).
int64_t current_exception_status() noexcept {
    try {
        throw;
    } catch (const CallbackFailed&) {
        return ERR_CALLBACK;
    } catch (const ZeroDivision&) {
        return ERR_ZERO_DIVISION;
    } catch (const std::exception& exc) {
        set_last_error_message(exc.what());
        return ERR_CPP_EXCEPTION;
    } catch (...) {
        set_last_error_message("unknown C++ exception");
        return ERR_CPP_EXCEPTION;
    }
}

#define BRIAN2CPPYY_CATCH_ALL \
    catch (...) {             \
        return brian2cppyy::current_exception_status(); \
    }

}  // namespace brian2cppyy

#include "brian2cppyy/fault_guard.hpp"

namespace brian2cppyy {

// The entry points Python calls (guarded_kernel_call, install_fault_handlers,
// fill_uniform, last_error_message, run_network_loop) are registered, and so
// compiled, by network_loop.hpp, with optimisation; cling/runtime.py compiles
// this header at -O0, which halves its compile time: the non-inline functions
// here run only when something fails or a random buffer is refilled, and the
// inline ones are compiled into the kernels that use them. Nothing here may
// run when Cling compiles it (no static initialiser): Cling keeps generating
// machine code at -O0 for every later unit once it has run code of a unit
// compiled at -O0 (kernels then lose FMA contraction, and speed).

// ---------------------------------------------------------------------------
// Random numbers: the buffers are owned by Brian2's RuntimeDevice (numpy
// arrays) so that seed(), get/set_random_state and store/restore behave as
// with the Cython target. When a buffer index wraps to 0, the buffer is
// refilled in place from numpy.random through a Python callback
// (entry_points.refill_callback, set before a kernel runs). kind: which buffer
// (random_buffers.BUFFER_KINDS; C++ only passes it on).

// Uniform numbers straight from numpy's generator: `next` and `state` are
// the next_double function and state of the bit generator behind
// numpy.random.rand (reached through its documented ctypes interface), so
// the buffer receives exactly what numpy.random.rand(size) returns, without
// creating a numpy array per refill (the refill of a Poisson input's buffer
// otherwise costs more than the kernels that draw from it).
inline void fill_uniform(double* buffer, int32_t size, NextDouble next, void* state) {
    for (int32_t k = 0; k < size; k++)
        buffer[k] = next(state);
}

// Kernels that draw from the (process-wide) random buffers hold this lock
// for their whole call (a kernel runs with the GIL released, so kernels of
// several Python threads may run at once; the buffers and their indices are
// shared). Uncontended, it costs one lock per kernel call, not per draw.
inline std::mutex& random_mutex() {
    static std::mutex mutex;
    return mutex;
}

// Holds random_mutex for a kernel's call. A kernel left by a fault runs no
// destructor: the fault guard then releases the lock through the flag.
class RandomLock {
public:
    RandomLock() : context_(fault_context()) {
        random_mutex().lock();
        context_.holds_random_lock = true;
    }
    ~RandomLock() {
        context_.holds_random_lock = false;
        random_mutex().unlock();
    }
    RandomLock(const RandomLock&) = delete;
    RandomLock& operator=(const RandomLock&) = delete;

private:
    FaultContext& context_;
};

inline void FaultScope::release_random_lock_after_fault() {
    FaultContext& context = fault_context();
    if (context.holds_random_lock) {
        context.holds_random_lock = false;
        random_mutex().unlock();
    }
}

// A failed refill stops the kernel at once (CallbackFailed: status
// ERR_CALLBACK) instead of drawing from the stale buffer; the index stays 0,
// so the next draw tries the refill again. Not inline: compiled once, when
// Cling starts; a kernel inlines only the draw below.
void refill_buffer(double* buffer, int32_t size, int kind) {
    RefillCallback cb = entry_points.refill_callback;
    if (cb) {
        int failed;
        {
            UnguardedSection python_code;  // never leave Python code by siglongjmp
            failed = cb(kind, buffer, size);
        }
        if (failed != 0)
            throw CallbackFailed();
    }
}

inline double draw_from_buffer(double* buffer, int32_t* index, int32_t size, int kind) {
    if (*index == 0)
        refill_buffer(buffer, size, kind);
    const double value = buffer[*index];
    *index += 1;
    if (*index == size)
        *index = 0;
    return value;
}

}  // namespace brian2cppyy

// ---------------------------------------------------------------------------
// Helpers emitted by Brian2's C++ expression renderer. They follow Python's
// semantics: the result of % has the sign of the divisor, // rounds towards
// minus infinity.
template <typename T1, typename T2>
struct _brian_result_type {
    typedef typename std::common_type<T1, T2>::type type;
};

template <typename T1, typename T2>
inline typename std::enable_if<
    !(std::is_integral<T1>::value && std::is_integral<T2>::value),
    typename _brian_result_type<T1, T2>::type>::type
_brian_mod(T1 x, T2 y) {
    typedef typename _brian_result_type<T1, T2>::type R;
    return static_cast<R>(x - y * std::floor(1.0 * x / y));
}

template <typename T1, typename T2>
inline typename std::enable_if<
    std::is_integral<T1>::value && std::is_integral<T2>::value,
    typename _brian_result_type<T1, T2>::type>::type
_brian_mod(T1 x, T2 y) {
    typedef typename _brian_result_type<T1, T2>::type R;
    const R a = static_cast<R>(x), b = static_cast<R>(y);
    if (__builtin_expect(b == 0, 0))
        brian2cppyy::throw_zero_division();
    R rem = a % b;
    if (rem != 0 && ((rem < 0) != (b < 0)))
        rem += b;
    return rem;
}

template <typename T1, typename T2>
inline typename std::enable_if<
    !(std::is_integral<T1>::value && std::is_integral<T2>::value),
    typename _brian_result_type<T1, T2>::type>::type
_brian_floordiv(T1 x, T2 y) {
    typedef typename _brian_result_type<T1, T2>::type R;
    return static_cast<R>(std::floor(1.0 * x / y));
}

template <typename T1, typename T2>
inline typename std::enable_if<
    std::is_integral<T1>::value && std::is_integral<T2>::value,
    typename _brian_result_type<T1, T2>::type>::type
_brian_floordiv(T1 x, T2 y) {
    typedef typename _brian_result_type<T1, T2>::type R;
    const R a = static_cast<R>(x), b = static_cast<R>(y);
    if (__builtin_expect(b == 0, 0))
        brian2cppyy::throw_zero_division();
    R quot = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        quot -= 1;
    return quot;
}

#ifndef _brian_pow
#define _brian_pow(x, y) (std::pow((x), (y)))
#endif

#endif  // BRIAN2CPPYY_RUNTIME_HPP
