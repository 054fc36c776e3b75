// brian2cppyy: the fused network loop.
//
// Runs a Network's time steps in C++: for each step, the clocks due now
// (those at the earliest time, by Brian2's Clock.same_time) run
// their entries in schedule order, then advance. An entry is either a
// compiled kernel with its slot array, or a "Python entry" (a
// NetworkOperation, a code object of another target, ...) for which the loop
// returns to Python and is resumed afterwards at the next entry.
//
// The loop also returns to Python at step boundaries when the wall-clock
// time for the next check has come (progress reports, Ctrl-C), when the
// maximum run time is exceeded, or when a kernel reports an error.
//
// Kernels run inside one FaultScope per call of the loop (fault_guard.hpp),
// which makes sure first that our signal handlers are in place:
// a hardware fault or a second Ctrl-C in a kernel is a kernel error
// (ERR_FAULT, ERR_KERNEL_INTERRUPTED) like any other. A kernel may split its
// loop over the thread pool (thread_pool.hpp, compiled with this header);
// it returns when all its parts are done, and their errors are its own.
#ifndef BRIAN2CPPYY_NETWORK_LOOP_HPP
#define BRIAN2CPPYY_NETWORK_LOOP_HPP

#include <chrono>
#include <cmath>
#include <cstdint>

#include "brian2cppyy/thread_pool.hpp"  // the kernels' parallel loops (compiled here, optimised)

namespace brian2cppyy {

// Columns of the entry table (one row of int64 per entry)
enum LoopEntryColumn { ENTRY_KERNEL = 0, ENTRY_SLOTS = 1, ENTRY_CLOCK = 2, ENTRY_PYTHON = 3,
                       ENTRY_COLUMNS = 4 };

// Slots of the int64 state array shared with Python
enum LoopStateSlot {
    STATE_RESUME = 0,      // in/out: entry to resume the current step at (< 0: new step)
    STATE_STOP = 1,        // in: stop before the next step (Network.stop())
    STATE_ENTRY = 2,       // out: the entry that returned to Python / failed
    STATE_KERNEL_STATUS = 3,  // out: the failing kernel's status
    STATE_CURCLOCKS = 4,   // in/out: bit mask of the clocks of the current step
    STATE_MINCLOCK = 5,    // out: the clock that determines the current time
    STATE_SIZE = 6
};

// Clock.epsilon_dt: the tolerance of the same-time test, in units of the
// smaller dt of the two clocks (Brian2's Clock.same_time; a run with a clock
// whose epsilon_dt differs is left to Brian2's loop, see network_loop.py)
const double CLOCK_EPSILON_DT = 1e-4;

// STATE_RESUME of a new step that Python has checked (LOOP_CHECK)
const int64_t RESUME_CHECKED = -2;

// What the loop returns
enum LoopResult {
    LOOP_DONE = 0,          // every clock reached the end (or stop was requested)
    LOOP_PYTHON = 1,        // run Python entry STATE_ENTRY, then resume
    LOOP_CHECK = 2,         // time for a check in Python (report, Ctrl-C)
    LOOP_TIME_LIMIT = 3,    // the maximum run time is exceeded (after a step)
    LOOP_KERNEL_ERROR = 4,  // kernel STATE_ENTRY returned STATE_KERNEL_STATUS < 0
};

// times: [0] seconds until the next check (< 0: none), [1] seconds until the
// maximum run time is exceeded (< 0: no limit). profile: seconds per entry,
// accumulated when non-null.
inline int64_t run_network_loop(const int64_t* entries, int32_t n_entries,
                                int64_t* const* timesteps, double* const* times_t,
                                const double* dts, const int64_t* i_ends, int32_t n_clocks,
                                int64_t* state, const double* times, double* profile) {
    typedef std::chrono::steady_clock clock_type;
    const clock_type::time_point started = clock_type::now();
    const bool has_check = times[0] >= 0;
    const bool has_limit = times[1] >= 0;
    const clock_type::time_point check_at =
        started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(has_check ? times[0] : 0.0));
    const clock_type::time_point limit_at =
        started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(has_limit ? times[1] : 0.0));
    install_fault_handlers();  // Python's signal.signal() replaces ours for SIGINT
    FaultScope fault_scope;

    int64_t entry = state[STATE_RESUME];
    uint64_t curclocks = (uint64_t)state[STATE_CURCLOCKS];
    int32_t minclock = (int32_t)state[STATE_MINCLOCK];
    // STATE_RESUME == RESUME_CHECKED: a new step whose check Python has
    // just made (no second check there, even when one is due at every step)
    bool checked = entry == RESUME_CHECKED;
    if (checked)
        entry = -1;
    while (true) {
        if (entry < 0) {
            // a new step: which clocks are due? (Network.run's order: stop,
            // end of the run, then a report)
            if (state[STATE_STOP])
                return LOOP_DONE;
            minclock = 0;
            for (int32_t c = 1; c < n_clocks; c++)
                if (*times_t[c] < *times_t[minclock])
                    minclock = c;
            if (*timesteps[minclock] >= i_ends[minclock])
                return LOOP_DONE;
            if (!checked && has_check && clock_type::now() >= check_at) {
                state[STATE_RESUME] = RESUME_CHECKED;
                return LOOP_CHECK;
            }
            // Network._nextclocks: the clocks c with c.same_time(minclock)
            curclocks = 0;
            for (int32_t c = 0; c < n_clocks; c++) {
                const double dt = std::min(dts[c], dts[minclock]);
                if (std::fabs(*times_t[c] - *times_t[minclock]) / dt < CLOCK_EPSILON_DT)
                    curclocks |= (uint64_t(1) << c);
            }
            state[STATE_CURCLOCKS] = (int64_t)curclocks;
            state[STATE_MINCLOCK] = minclock;
            entry = 0;
        }
        for (; entry < n_entries; entry++) {
            const int64_t* row = entries + entry * ENTRY_COLUMNS;
            if (!(curclocks & (uint64_t(1) << row[ENTRY_CLOCK])))
                continue;
            if (row[ENTRY_PYTHON] >= 0) {
                state[STATE_ENTRY] = entry;
                state[STATE_RESUME] = entry + 1;
                return LOOP_PYTHON;
            }
            KernelFunction kernel = reinterpret_cast<KernelFunction>(row[ENTRY_KERNEL]);
            Slot* slots = reinterpret_cast<Slot*>(row[ENTRY_SLOTS]);
            // one call site: each inlined copy of the guarded call costs
            // Cling's start about 15 ms of compilation
            const clock_type::time_point t0 = profile ? clock_type::now() : clock_type::time_point();
            const int64_t status = fault_scope.call(kernel, slots);
            if (profile)
                profile[entry] += std::chrono::duration<double>(clock_type::now() - t0).count();
            if (status < 0) {
                state[STATE_ENTRY] = entry;
                state[STATE_KERNEL_STATUS] = status;
                state[STATE_RESUME] = entry + 1;
                return LOOP_KERNEL_ERROR;
            }
        }
        // advance the clocks of this step (Clock.advance: t = timestep * dt)
        for (int32_t c = 0; c < n_clocks; c++) {
            if (curclocks & (uint64_t(1) << c)) {
                *timesteps[c] += 1;
                *times_t[c] = (double)(*timesteps[c]) * dts[c];
            }
        }
        entry = -1;
        state[STATE_RESUME] = -1;
        checked = false;
        if (has_limit && clock_type::now() >= limit_at)
            return LOOP_TIME_LIMIT;
    }
}

// The entry points Python calls through brian2cppyy::exchange, registered
// (and so compiled) here, with optimisation: runtime.hpp, which defines the
// others, is compiled at -O0 (see there). Our signal handlers are installed
// when Cling starts (after cppyy's own) and stay: a signal outside an armed
// kernel goes on to the handler before.
static const bool network_loop_registered =
    (exchange[EXCHANGE_NETWORK_LOOP] = reinterpret_cast<intptr_t>(&run_network_loop),
     exchange[EXCHANGE_GUARDED_CALL] = reinterpret_cast<intptr_t>(&guarded_kernel_call),
     exchange[EXCHANGE_INSTALL_FAULT_HANDLERS] = reinterpret_cast<intptr_t>(&install_fault_handlers),
     exchange[EXCHANGE_FILL_UNIFORM] = reinterpret_cast<intptr_t>(&fill_uniform),
     install_fault_handlers(), true);

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_NETWORK_LOOP_HPP
