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

#include <cmath>
#include <cstdint>
#include <time.h>

#include "brian2cppyy/parallel_loops.hpp"  // the kernels' parallel loops (compiled here, optimised)

namespace brian2cppyy {

// Seconds on the monotonic clock (std::chrono::steady_clock's; its templates
// cost Cling's start 25 ms of compilation).
inline double monotonic_seconds() {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

// The numbers and layouts shared with Python (the entry table, the state
// array, the times, the results) are contract.hpp's. profile: seconds per
// entry, accumulated when non-null.
inline int64_t run_network_loop(const int64_t* entries, int32_t n_entries,
                                int64_t* const* timesteps, double* const* times_t,
                                const double* dts, const int64_t* i_ends, int32_t n_clocks,
                                int64_t* state, const double* times, double* profile) {
    const double started = monotonic_seconds();
    const bool has_limit = times[TIME_LIMIT] >= 0;
    const double check_at = started + times[TIME_NEXT_CHECK];
    const double limit_at = started + (has_limit ? times[TIME_LIMIT] : 0.0);
    install_fault_handlers();  // Python's signal.signal() replaces ours for SIGINT
    FaultScope fault_scope;

    int64_t entry = state[STATE_RESUME];
    ClockMask curclocks = (ClockMask)state[STATE_CURCLOCKS];
    int32_t minclock = (int32_t)state[STATE_MINCLOCK];
    // STATE_RESUME == RESUME_CHECKED: a new step whose check Python has
    // just made (no second check there, even when one is due at every step)
    bool checked = entry == RESUME_CHECKED;
    if (checked)
        entry = RESUME_NEW_STEP;
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
            if (!checked && monotonic_seconds() >= check_at) {
                state[STATE_RESUME] = RESUME_CHECKED;
                return LOOP_CHECK;
            }
            // Network._nextclocks: the clocks c with c.same_time(minclock)
            curclocks = 0;
            for (int32_t c = 0; c < n_clocks; c++) {
                const double dt = std::min(dts[c], dts[minclock]);
                if (std::fabs(*times_t[c] - *times_t[minclock]) / dt < CLOCK_EPSILON_DT)
                    curclocks |= (ClockMask(1) << c);
            }
            state[STATE_CURCLOCKS] = (int64_t)curclocks;
            state[STATE_MINCLOCK] = minclock;
            entry = 0;
        }
        for (; entry < n_entries; entry++) {
            const int64_t* row = entries + entry * ENTRY_COLUMNS;
            if (!(curclocks & (ClockMask(1) << row[ENTRY_CLOCK])))
                continue;
            if (row[ENTRY_PYTHON] != KERNEL_ENTRY) {
                state[STATE_ENTRY] = entry;
                state[STATE_RESUME] = entry + 1;
                return LOOP_PYTHON;
            }
            KernelFunction kernel = reinterpret_cast<KernelFunction>(row[ENTRY_KERNEL]);
            Slot* slots = reinterpret_cast<Slot*>(row[ENTRY_SLOTS]);
            // one call site: each inlined copy of the guarded call costs
            // Cling's start about 15 ms of compilation
            const double t0 = profile ? monotonic_seconds() : 0.0;
            const int64_t status = fault_scope.call(kernel, slots);
            if (profile)
                profile[entry] += monotonic_seconds() - t0;
            if (status < 0) {
                state[STATE_ENTRY] = entry;
                state[STATE_KERNEL_STATUS] = status;
                state[STATE_RESUME] = entry + 1;
                return LOOP_KERNEL_ERROR;
            }
        }
        // advance the clocks of this step (Clock.advance: t = timestep * dt)
        for (int32_t c = 0; c < n_clocks; c++) {
            if (curclocks & (ClockMask(1) << c)) {
                *timesteps[c] += 1;
                *times_t[c] = (double)(*timesteps[c]) * dts[c];
            }
        }
        entry = RESUME_NEW_STEP;
        state[STATE_RESUME] = RESUME_NEW_STEP;
        checked = false;
        if (has_limit && monotonic_seconds() >= limit_at)
            return LOOP_TIME_LIMIT;
    }
}

// The entry points Python calls (contract.hpp's EntryPoints), set (and so
// compiled) here, with optimisation: runtime.hpp, which defines the others,
// is compiled at -O0 and must run nothing (see there). Our signal handlers
// are installed when Cling starts (after cppyy's own) and stay: a signal
// outside an armed kernel goes on to the handler before.
static const bool network_loop_registered =
    (entry_points.run_network_loop = &run_network_loop,
     entry_points.guarded_kernel_call = &guarded_kernel_call,
     entry_points.install_fault_handlers = &install_fault_handlers,
     entry_points.fill_uniform = &fill_uniform,
     entry_points.last_error_message = &last_error_message,
     install_fault_handlers(), true);

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_NETWORK_LOOP_HPP
