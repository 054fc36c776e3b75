// brian2cppyy: the contract between Python and the C++ runtime.
//
// Every number and layout that Python and C++ share is declared here and
// nowhere else: the statuses a kernel returns, the record where a kernel
// describes its error, the fixed slots of a kernel's argument array, the
// fused loop's entry table, state array and results, and the entry points
// (a struct of function pointers, one instance, whose address Python reads
// once). Python reads the numbers from this header's text, so they are
// literals here (cling/contract.py), and declares the layouts with ctypes
// next to their names;
// tests/test_contract.py compares that whole table with this header
// (every enumerator, sizeof and offsetof of each struct field, the
// signature of each entry point).
//
// Included by runtime.hpp, before anything that uses it.
#ifndef BRIAN2CPPYY_CONTRACT_HPP
#define BRIAN2CPPYY_CONTRACT_HPP

#include <cstdint>

namespace brian2cppyy {

// One argument slot: Python writes pointers and scalars into an array of
// these, the kernel reads them back in its prologue.
union Slot {
    void* p;
    double d;
    int64_t i;
};
static_assert(sizeof(Slot) == 8, "argument slots must be 8 bytes wide");

// The slots every kernel's argument array starts with; the kernel's own
// arguments follow.
enum KernelSlot {
    SLOT_RETURN_BUFFER = 0,  // the buffer of a template that returns an array
    SLOT_ERROR_RECORD = 1,   // the kernel's ErrorRecord
    SLOT_FIRST_ARGUMENT = 2,
};

// Status codes a kernel returns to Python (>= 0 means success; the value is
// the number of returned elements for the getter templates).
enum Status : int64_t {
    OK = 0,
    ERR_INDEX = -1,            // an index out of range (synapse creation)
    ERR_SAMPLE_SIZE = -2,      // a sample size bigger than the population
    ERR_NEGATIVE_SAMPLE_SIZE = -3,  // a negative sample size
    ERR_CALLBACK = -4,         // a Python callback raised
    ERR_CPP_EXCEPTION = -5,    // a C++ exception (message: last_error_message())
    ERR_ZERO_DIVISION = -6,    // integer // or % by zero in generated code
    ERR_FAULT = -7,            // a hardware fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL)
    ERR_KERNEL_INTERRUPTED = -8,  // left by a second Ctrl-C during the kernel
    ERR_GSL_INTEGRATION = -9,  // GSL could not integrate a time step (templates_gsl)
};

// What a kernel tells Python about its error, besides the status: each
// status fills the fields its comment names (the others stay as they are).
struct ErrorRecord {
    // ERR_FAULT, ERR_KERNEL_INTERRUPTED: written by the fault guard (Python
    // may see its own KeyboardInterrupt, from the first Ctrl-C, before the
    // status and then looks here); Python clears it
    int64_t status;
    // ERR_INDEX: the index; ERR_SAMPLE_SIZE, ERR_NEGATIVE_SAMPLE_SIZE: the
    // sample size; ERR_GSL_INTEGRATION: the element
    int64_t value;
    // ERR_INDEX: the largest allowed index; ERR_SAMPLE_SIZE: the population
    int64_t limit;
    // ERR_INDEX: which index is out of range (0: i, 1: j)
    int64_t index_variable;
    // ERR_GSL_INTEGRATION: the start of the failed time step, and whether
    // GSL's error handler left a message (last_error_message())
    double time;
    int64_t has_message;
    // ERR_FAULT, ERR_KERNEL_INTERRUPTED: the signal, its si_code and the
    // faulting address
    int64_t signal_number;
    int64_t signal_code;
    int64_t address;
};

// ---------------------------------------------------------------------------
// The fused network loop (network_loop.hpp)

// The clocks due in a step, one bit per clock: the loop takes at most
// MAX_CLOCKS clocks.
typedef uint64_t ClockMask;
enum LoopLimit { MAX_CLOCKS = 64 };
static_assert(MAX_CLOCKS == 8 * sizeof(ClockMask), "one bit of ClockMask per clock");

// Clock.epsilon_dt: the tolerance of the same-time test, in units of the
// smaller dt of the two clocks (Brian2's Clock.same_time; a run with a clock
// whose epsilon_dt differs is left to Brian2's loop, see network_loop.py)
const double CLOCK_EPSILON_DT = 1e-4;

// Columns of the entry table (one row of int64 per entry)
enum LoopEntryColumn {
    ENTRY_KERNEL = 0,   // the kernel's address (0 for a Python entry)
    ENTRY_SLOTS = 1,    // its slot array's
    ENTRY_CLOCK = 2,    // the index of its clock
    ENTRY_PYTHON = 3,   // the index of the Python call, or KERNEL_ENTRY
    ENTRY_COLUMNS = 4
};
enum LoopEntryKind : int64_t { KERNEL_ENTRY = -1 };

// Slots of the int64 state array shared with Python
enum LoopStateSlot {
    STATE_RESUME = 0,      // in/out: entry to resume the current step at (< 0: a new step)
    STATE_STOP = 1,        // in: stop before the next step (Network.stop())
    STATE_ENTRY = 2,       // out: the entry that returned to Python / failed
    STATE_KERNEL_STATUS = 3,  // out: the failing kernel's status
    STATE_CURCLOCKS = 4,   // in/out: ClockMask of the clocks of the current step
    STATE_MINCLOCK = 5,    // out: the clock that determines the current time
    STATE_SIZE = 6
};

// Values of STATE_RESUME for a new step: one Python has not checked yet,
// and one whose check (LOOP_CHECK) Python has just made
enum LoopResume : int64_t { RESUME_NEW_STEP = -1, RESUME_CHECKED = -2 };

// The loop's double array of times, seconds from the call of the loop
enum LoopTime {
    TIME_NEXT_CHECK = 0,   // return for a check (LOOP_CHECK) at a step boundary after it
    TIME_LIMIT = 1,        // the maximum run time (< 0: no limit)
    TIME_SIZE = 2
};

// What the loop returns
enum LoopResult {
    LOOP_DONE = 0,          // every clock reached the end (or stop was requested)
    LOOP_PYTHON = 1,        // run Python entry STATE_ENTRY, then resume
    LOOP_CHECK = 2,         // time for a check in Python (report, Ctrl-C)
    LOOP_TIME_LIMIT = 3,    // the maximum run time is exceeded (after a step)
    LOOP_KERNEL_ERROR = 4,  // kernel STATE_ENTRY returned STATE_KERNEL_STATUS < 0
};

// ---------------------------------------------------------------------------
// Entry points

// A kernel: int64_t _kernel(Slot*), returning a Status
typedef int64_t (*KernelFunction)(Slot*);

// One kernel call from Python: the kernel and its argument array (one
// ctypes argument: each costs a conversion, about 0.2 us).
struct KernelCall {
    KernelFunction kernel;
    Slot* slots;
};

// The random-buffer refill (Python): kind, buffer, size; non-zero if it failed
typedef int (*RefillCallback)(int kind, double* buffer, int size);
// numpy's bit generator's next_double
typedef double (*NextDouble)(void* state);

// Addresses exchanged with Python without a cppyy call (each first cppyy
// call of a function costs Cling a wrapper compilation): Python finds
// `entry_points` once and calls and sets its members through ctypes.
struct EntryPoints {
    // C++ functions Python calls, set when Cling starts (network_loop.hpp)
    int64_t (*run_network_loop)(const int64_t* entries, int32_t n_entries,
                                int64_t* const* timesteps, double* const* times_t,
                                const double* dts, const int64_t* i_ends, int32_t n_clocks,
                                int64_t* state, const double* times, double* profile);
    int64_t (*guarded_kernel_call)(const KernelCall* call);
    int64_t (*install_fault_handlers)();
    void (*fill_uniform)(double* buffer, int32_t size, NextDouble next, void* state);
    const char* (*last_error_message)();
    // set by Python before a kernel runs: the random-buffer refill
    RefillCallback refill_callback;
    // set by each compiled unit's static initialiser (register_kernel), read
    // and cleared by Python: the kernel of the unit compiled last
    KernelFunction last_kernel;
};
EntryPoints entry_points = {};

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_CONTRACT_HPP
