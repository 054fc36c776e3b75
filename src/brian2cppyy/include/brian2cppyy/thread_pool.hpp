// brian2cppyy: a thread pool of our own, and the parallel loops of kernels.
//
// Why our own: OpenMP in Cling would need -fopenmp when Cling starts, a
// rebuilt precompiled header and LLVM's OpenMP runtime (libgomp lacks the
// __kmpc_* entry points Clang emits), none of which cppyy ships. Plain
// std::thread works in JIT code as long as worker threads never call into
// Python and catch everything that could leave them.
//
// A kernel whose loop over indices may be split (the template decides that
// from what the generated code does: kernel_traits.py) calls
// parallel_parts(site, n, body): the index range [0, n) is cut into one
// contiguous part per thread (part_begin), part 0 runs on the calling
// thread, the others on the pool's workers, and the call returns when all
// are done. Results equal the serial loop's bit for bit, because every index
// is computed by the same code from the same inputs, whichever thread runs
// it: on the same path of the vectorised loop (parts begin at whole blocks,
// PART_ALIGNMENT) and in the calling thread's floating-point environment
// (ParallelTask::environment); a template that compacts (thresholds) merges
// the parts in index order (merge_compacted).
//
// Whether a loop is split is decided per call site (ParallelSite, a static
// in the kernel): its first calls run serially and are timed; when the
// estimated work of a call exceeds split_threshold_ns (waking the workers
// and waiting for the slowest costs a few microseconds), its next calls are
// split and timed, and it stays split only while that is faster, also when
// another process takes a core; it measures again every SITE_USE_CALLS
// calls. A small network, or one on a busy machine, does not get slower with
// threads on. parallel_split is the general form (body(part,
// parts), e.g. a synaptic pathway split by targets: part k takes the
// synapses whose target is k modulo parts).
//
// Errors: each part runs inside a FaultScope of its thread (a SIGSEGV on a
// worker jumps back to the worker's own jump point) and catches C++
// exceptions. After all parts are done, the first failed part in index
// order is reported on the calling thread as if it had happened there: a
// C++ exception is thrown again (a kernel's BRIAN2CPPYY_CATCH_ALL turns it
// into its status), a fault or interruption jumps to the calling thread's
// armed kernel call (ERR_FAULT / ERR_KERNEL_INTERRUPTED with the worker's
// signal details). The pool stays usable.
//
// Signals: workers block every signal except the synchronous faults, so
// Ctrl-C always reaches the thread that runs the network (fault_guard.hpp).
// While the calling thread waits for the workers, its jump point is
// disarmed (UnguardedSection): a second Ctrl-C then cannot leave the kernel
// while workers still run its loop; the parts are bounded loops of
// generated code (kernels that call users' code run serially).
//
// Lifetime: one pool per process, created when a split loop first needs it,
// its workers started for the thread count set from Python
// (set_thread_count, from the preference codegen.runtime.cppyy.threads) and
// joined when the count goes back to 1 and at exit (stop_thread_pool,
// registered with Python's atexit by loop/threads.py, before Cling goes).
// A child forked from the process (sweep workers) does not have the
// parent's workers: it starts a pool of its own when it needs one.
//
// Included by network_loop.hpp (compiled with optimisation).
#ifndef BRIAN2CPPYY_THREAD_POOL_HPP
#define BRIAN2CPPYY_THREAD_POOL_HPP

#include <algorithm>
#include <atomic>
#include <cfenv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <signal.h>
#include <unistd.h>

namespace brian2cppyy {

// At most this many threads (parts of one loop)
const int32_t MAX_THREADS = 256;

// Parts begin at multiples of this many indices. The vectorised loop of a
// kernel computes blocks of (vector width x interleave) indices, at most 64
// with AVX-512 and floats, and leaves the remainder to a scalar loop whose
// fast-math rounding may differ from the vector code's by an ulp. A part that
// begins at a multiple of the block computes each index on the same path as
// the serial loop from 0 does: the bit-identity of split loops rests on it.
// (It also keeps parts of a double array off each other's cache lines.)
const size_t PART_ALIGNMENT = 128;

// The first index of part `part` of [0, n) cut into `parts` contiguous
// parts, each a whole number of PART_ALIGNMENT blocks (but the last, which
// ends at n), their block counts differing by at most one
// (part_begin(n, parts, parts) == n; parts may be empty when n is small).
inline size_t part_begin(size_t n, size_t parts, size_t part) {
    const size_t blocks = (n + PART_ALIGNMENT - 1) / PART_ALIGNMENT;
    const size_t block = part * (blocks / parts) + std::min(part, blocks % parts);
    return std::min(n, block * PART_ALIGNMENT);
}

// What one part of a split loop did
struct PartOutcome {
    int64_t status = OK;      // OK or the error status
    ErrorRecord fault = {};   // a fault's details (contract.hpp)
    std::string message;      // a C++ exception's message
};

// One split loop: function(context, part, parts) for each part
typedef void (*PartFunction)(void* context, size_t part, size_t parts);
struct ParallelTask {
    PartFunction function;
    void* context;
    size_t parts;
    PartOutcome* outcomes;  // one per part (the pool's)
    // The calling thread's floating-point environment (rounding, flushing
    // denormals to zero: Brian2's flush_denormals sets it on the thread that
    // runs the kernel), set on each worker before its part, so that a part
    // computes as the calling thread would.
    std::fenv_t environment;
};

// Runs one part of a task; a kernel-shaped function, so that a FaultScope
// can guard it: the part's fault details in its SLOT_ERROR_RECORD, then the
// task and the part (PART_SLOT_TASK, PART_SLOT_PART).
enum PartSlot { PART_SLOT_TASK = SLOT_FIRST_ARGUMENT, PART_SLOT_PART, PART_SLOTS };
int64_t run_part(Slot* slots);

// Counters shared with Python (tests, diagnostics): loops split, parts run
// on workers.
struct PoolCounters {
    std::atomic<int64_t> split_loops{0};
    std::atomic<int64_t> worker_parts{0};
};

class ThreadPool {
public:
    ThreadPool() = default;
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int32_t threads() const { return threads_.load(std::memory_order_relaxed); }

    // Threads for the following loops (the caller included); starts or
    // joins workers. Waits for a loop in progress.
    void set_threads(int32_t threads);

    // Runs every part of the task (part 0 on the calling thread) and
    // reports the first failure as described above. Returns false, having
    // run nothing, if the pool is busy with a loop of another thread (the
    // caller then runs the loop serially).
    bool run(ParallelTask& task);

    PoolCounters counters;

private:
    void start_workers(int32_t n_workers);
    void stop_workers();
    void worker_main(size_t part);
    void wait_for_workers();

    std::mutex busy_;   // held by the thread whose loop the pool runs
    std::mutex mutex_;  // guards generation_ changes and stopping_ for sleepers
    std::condition_variable wake_;
    std::condition_variable done_;
    std::vector<std::thread> workers_;
    std::vector<PartOutcome> outcomes_;  // of the loop in progress, one per part
    std::atomic<int32_t> threads_{1};
    std::atomic<uint64_t> generation_{0};
    std::atomic<int32_t> pending_{0};
    std::atomic<bool> stopping_{false};
    ParallelTask* task_ = nullptr;
};

// The process's pool (a forked child makes its own: the parent's workers
// do not exist there).
ThreadPool& thread_pool();

// Whether the pool exists in this process, without creating it
bool thread_pool_exists();

// The threads a loop may be split over: the pool's count as last set in
// this process (set_thread_count). Read on every call of a split site,
// without a system call; the pool itself (thread_pool(), which checks the
// process id: a forked child does not have its parent's workers) is only
// reached when a loop is split.
inline std::atomic<int32_t>& loop_threads() {
    static std::atomic<int32_t> threads{1};
    return threads;
}

// Estimated work (ns) above which a loop is split
inline std::atomic<int64_t>& split_threshold_ns() {
    static std::atomic<int64_t> threshold{20000};
    return threshold;
}

// One split loop in a kernel (a static there), and whether to split its
// next call. A site alternates between probing and using:
//
// * probing: its next SITE_PROBE_CALLS calls run serially and are timed;
//   if a call's estimated work (median time per index times n) is below
//   split_threshold_ns, the site stays serial; otherwise the next
//   SITE_PROBE_CALLS calls are split and timed, and the site uses the mode
//   with the lower median time per index (a loop whose parts each scan the
//   whole input, like a synaptic pathway split by targets, may not gain);
// * using: for SITE_USE_CALLS calls, then it probes again (the network's
//   activity and the machine's load change). While it splits, it keeps
//   timing its split calls, and goes back to serial for the rest of the
//   period as soon as SITE_CHECK_CALLS of them took longer per index than
//   the serial calls did (a split call waits for its slowest part, and a
//   worker whose core another process took makes it slower than one
//   thread); it then probes again after SITE_RETRY_CALLS calls.
//
// Medians, not means or minima: a core that another process (or the host of
// a virtual machine) takes delays most split calls (the median sees it), a
// rare preemption of one thread delays one call (it does not), and the least
// time is the lucky call.
const int32_t SITE_PROBE_CALLS = 8;
const int32_t SITE_CHECK_CALLS = 32;
const int64_t SITE_USE_CALLS = 4096;
const int64_t SITE_RETRY_CALLS = 512;  // after going back to serial

// Timed calls of one mode (at most SITE_CHECK_CALLS): time per index of each
struct SiteTimes {
    double per_index[SITE_CHECK_CALLS];
    double indices = 0.0;
    int32_t calls = 0;

    void add(size_t n, double call_ns) {
        if (calls < SITE_CHECK_CALLS)
            per_index[calls] = call_ns / (double)n;
        indices += (double)n;
        calls++;
    }
    double median_ns_per_index() const {
        const int32_t count = std::min(calls, SITE_CHECK_CALLS);
        if (count == 0)
            return 0.0;
        double sorted[SITE_CHECK_CALLS];
        std::copy(per_index, per_index + count, sorted);
        std::nth_element(sorted, sorted + count / 2, sorted + count);
        return sorted[count / 2];
    }
    double mean_indices() const { return calls > 0 ? indices / calls : 0.0; }
};

struct ParallelSite {
    enum Phase { PROBE_SERIAL, PROBE_SPLIT, USE };
    Phase phase = PROBE_SERIAL;
    SiteTimes serial, split, recent;  // recent: split calls since the last check
    double serial_ns_per_index = 0.0;  // the serial probe's median
    bool use_split = false;
    int64_t used = 0;  // calls since the site began using its choice

    // Whether this call of n indices should be split; *timed: whether to
    // time it (and report it to record())
    bool choose_split(size_t n, bool* timed) {
        const int64_t threshold = split_threshold_ns().load(std::memory_order_relaxed);
        *timed = false;
        if (threshold == 0)
            return true;  // every call (tests)
        if (phase == USE && ++used >= SITE_USE_CALLS)
            probe_again();
        if (phase != USE) {
            *timed = true;
            return phase == PROBE_SPLIT;
        }
        if (!use_split || serial_ns_per_index * (double)n < (double)threshold)
            return false;
        *timed = true;
        return true;
    }

    // A timed call: n indices in ns, split or not
    void record(bool was_split, size_t n, double ns) {
        if (n == 0)
            return;
        const double threshold = (double)split_threshold_ns().load(std::memory_order_relaxed);
        if (phase == PROBE_SERIAL && !was_split) {
            serial.add(n, ns);
            if (serial.calls == SITE_PROBE_CALLS) {
                serial_ns_per_index = serial.median_ns_per_index();
                phase = serial_ns_per_index * serial.mean_indices() < threshold ? USE
                                                                               : PROBE_SPLIT;
            }
        } else if (phase == PROBE_SPLIT && was_split) {
            split.add(n, ns);
            if (split.calls == SITE_PROBE_CALLS) {
                phase = USE;
                use_split = split.median_ns_per_index() < serial_ns_per_index;
            }
        } else if (phase == USE && was_split) {
            recent.add(n, ns);
            if (recent.calls == SITE_CHECK_CALLS) {
                if (recent.median_ns_per_index() > serial_ns_per_index) {
                    use_split = false;  // and probe again sooner than usual
                    used = std::max<int64_t>(used, SITE_USE_CALLS - SITE_RETRY_CALLS);
                }
                recent = SiteTimes();
            }
        }
    }

  private:
    void probe_again() {
        phase = PROBE_SERIAL;
        serial = split = recent = SiteTimes();
        serial_ns_per_index = 0.0;
        use_split = false;
        used = 0;
    }
};

// Runs part `part` of a split loop on a copy of its body. A body is a
// closure that captures by copy (the scalar code's values, the array
// pointers); the original's address goes to the pool, so the compiler must
// assume that a store through an array pointer may change what it captured,
// and reloads those values after every store (a store to a char array,
// not_refractory, keeps a refractory model's loop scalar). The copy's address
// does not escape: its values stay in registers. Copying costs a few words
// per part and call.
template <typename Body>
inline void run_body_copy(const Body& body, size_t part, size_t parts) {
    Body part_body = body;
    part_body(part, parts);
}

template <typename Body>
void call_part(void* context, size_t part, size_t parts) {
    run_body_copy(*static_cast<const Body*>(context), part, parts);
}

// Throws the failure of a part on the calling thread (see the top); does not
// return for a failure.
void report_part_failure(const PartOutcome& outcome);

// Runs body(part, parts) for part = 0 .. parts - 1, one part per thread of
// the pool, when a loop over n indices is worth splitting (ParallelSite),
// else body(0, 1) on the calling thread; each part on its own copy of body
// (run_body_copy). Returns the number of parts.
template <typename Body>
size_t parallel_split(ParallelSite& site, size_t n, const Body& body) {
    const int32_t threads = loop_threads().load(std::memory_order_relaxed);
    if (threads > 1 && n >= (size_t)threads) {
        bool timed;
        const bool split = site.choose_split(n, &timed);
        const auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
        size_t parts = 1;
        if (split) {
            ParallelTask task{&call_part<Body>, const_cast<void*>(static_cast<const void*>(&body)),
                              (size_t)threads, nullptr};
            ThreadPool& pool = thread_pool();
            if (pool.run(task)) {
                parts = (size_t)threads;
            } else {
                run_body_copy(body, 0, 1);  // busy, or a forked child's pool:
                if (pool.threads() == 1)    // one thread until set again
                    loop_threads().store(1, std::memory_order_relaxed);
            }
        } else {
            run_body_copy(body, 0, 1);
        }
        if (timed) {
            const double ns = std::chrono::duration<double, std::nano>(
                std::chrono::steady_clock::now() - t0).count();
            site.record(parts > 1, n, ns);
        }
        return parts;
    }
    run_body_copy(body, 0, 1);
    return 1;
}

// Runs body(part, begin, end) over [0, n) cut into contiguous parts
// [part_begin(n, parts, k), part_begin(n, parts, k + 1)) (parallel_split;
// each part on its own copy of body). Returns the number of parts.
template <typename Body>
size_t parallel_parts(ParallelSite& site, size_t n, const Body& body) {
    return parallel_split(site, n, [body, n](size_t part, size_t parts) __attribute__((always_inline)) {
        body(part, part_begin(n, parts, part), part_begin(n, parts, part + 1));
    });
}

// The events of a compacting loop's parts moved together, in index order:
// part k wrote its counts[k] events at out + part_begin(n, parts, k).
// Returns their number.
inline int32_t merge_compacted(int32_t* out, const int32_t* counts, size_t n, size_t parts) {
    size_t total = 0;
    for (size_t k = 0; k < parts; k++) {
        const size_t begin = part_begin(n, parts, k);
        if (begin != total && counts[k] > 0)
            std::memmove(out + total, out + begin, sizeof(int32_t) * (size_t)counts[k]);
        total += (size_t)counts[k];
    }
    return (int32_t)total;
}

// ---------------------------------------------------------------------------
// Definitions (compiled once, with network_loop.hpp)

int64_t run_part(Slot* slots) {
    ParallelTask& task = *static_cast<ParallelTask*>(slots[PART_SLOT_TASK].p);
    const size_t part = (size_t)slots[PART_SLOT_PART].i;
    try {
        task.function(task.context, part, task.parts);
    } catch (...) {
        const int64_t status = current_exception_status();
        if (status == ERR_CPP_EXCEPTION)
            task.outcomes[part].message = last_error_message();
        return status;
    }
    return OK;
}

// Runs part `part` of `task` in a FaultScope of the current thread
inline void run_part_guarded(ParallelTask& task, size_t part) {
    PartOutcome& outcome = task.outcomes[part];
    Slot slots[PART_SLOTS] = {};
    slots[SLOT_ERROR_RECORD].p = &outcome.fault;
    slots[PART_SLOT_TASK].p = &task;
    slots[PART_SLOT_PART].i = (int64_t)part;
    FaultScope scope;
    outcome.status = scope.call(&run_part, slots);
}

void report_part_failure(const PartOutcome& outcome) {
    switch (outcome.status) {
    case ERR_ZERO_DIVISION:
        throw ZeroDivision();
    case ERR_CALLBACK:
        throw CallbackFailed();
    case ERR_FAULT:
    case ERR_KERNEL_INTERRUPTED: {
        FaultContext& context = fault_context();
        if (context.jump != nullptr) {
            // as if the fault had happened here (FaultScope::recover)
            context.signal_number = (int)outcome.fault.signal_number;
            context.code = (int)outcome.fault.signal_code;
            context.address = (intptr_t)outcome.fault.address;
            sigjmp_buf* jump = context.jump;
            context.jump = nullptr;
            siglongjmp(*jump, 1);
        }
        throw std::runtime_error("a hardware fault (signal " + std::to_string(outcome.fault.signal_number) +
                                 ") in a worker thread");
    }
    default:
        throw std::runtime_error(outcome.message.empty() ? std::string("unknown C++ exception")
                                                         : outcome.message);
    }
}

// Spinning before sleeping: a loop of the next time step usually comes
// within microseconds
const int64_t POOL_SPIN_NS = 50000;

void ThreadPool::worker_main(size_t part) {
    uint64_t seen = generation_.load(std::memory_order_acquire);
    while (true) {
        const auto spin_start = std::chrono::steady_clock::now();
        while (generation_.load(std::memory_order_acquire) == seen && !stopping_.load()) {
            if (std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() -
                                                         spin_start).count() < POOL_SPIN_NS) {
                std::this_thread::yield();
                continue;
            }
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] {
                return generation_.load(std::memory_order_acquire) != seen || stopping_.load();
            });
        }
        if (stopping_.load())
            return;
        seen = generation_.load(std::memory_order_acquire);
        ParallelTask* task = task_;
        if (part < task->parts) {
            std::fesetenv(&task->environment);
            run_part_guarded(*task, part);
            counters.worker_parts.fetch_add(1, std::memory_order_relaxed);
        }
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);
            done_.notify_one();
        }
    }
}

void ThreadPool::start_workers(int32_t n_workers) {
    // workers take no asynchronous signal: Ctrl-C goes to the caller
    sigset_t blocked, previous;
    sigfillset(&blocked);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP})
        sigdelset(&blocked, sig);
    pthread_sigmask(SIG_BLOCK, &blocked, &previous);
    stopping_.store(false);
    for (int32_t k = 0; k < n_workers; k++)
        workers_.emplace_back(&ThreadPool::worker_main, this, (size_t)(k + 1));
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void ThreadPool::stop_workers() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_.store(true);
    }
    wake_.notify_all();
    for (std::thread& worker : workers_)
        worker.join();
    workers_.clear();
    stopping_.store(false);
}

void ThreadPool::set_threads(int32_t threads) {
    threads = std::max<int32_t>(1, std::min(threads, MAX_THREADS));
    std::lock_guard<std::mutex> busy(busy_);
    if (threads == threads_.load() && (int32_t)workers_.size() == threads - 1)
        return;
    stop_workers();
    threads_.store(threads);
    outcomes_.assign((size_t)threads, PartOutcome());
    if (threads > 1)
        start_workers(threads - 1);
}

void ThreadPool::wait_for_workers() {
    UnguardedSection no_jump;  // Ctrl-C must not leave while workers run
    const auto spin_start = std::chrono::steady_clock::now();
    while (pending_.load(std::memory_order_acquire) > 0) {
        if (std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() -
                                                     spin_start).count() < POOL_SPIN_NS)
            continue;
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
}

bool ThreadPool::run(ParallelTask& task) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || workers_.empty() || task.parts != workers_.size() + 1)
        return false;
    counters.split_loops.fetch_add(1, std::memory_order_relaxed);
    for (PartOutcome& outcome : outcomes_)
        outcome.status = OK;
    task.outcomes = outcomes_.data();
    std::fegetenv(&task.environment);
    task_ = &task;
    pending_.store((int32_t)workers_.size(), std::memory_order_release);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    wake_.notify_all();
    run_part_guarded(task, 0);
    wait_for_workers();
    task_ = nullptr;
    size_t failed = 0;
    while (failed < task.parts && outcomes_[failed].status == OK)
        failed++;
    if (failed == task.parts)
        return true;
    // the first failure in index order, reported with the pool released (a
    // fault leaves this function by siglongjmp: no destructor runs)
    const PartOutcome outcome = outcomes_[failed];
    busy.unlock();
    report_part_failure(outcome);
    return true;
}

struct PoolHolder {
    std::mutex mutex;
    ThreadPool* pool = nullptr;
    pid_t owner = 0;
};

inline PoolHolder& pool_holder() {
    static PoolHolder holder;
    return holder;
}

ThreadPool& thread_pool() {
    PoolHolder& holder = pool_holder();
    ThreadPool* pool = holder.pool;
    if (pool != nullptr && holder.owner == getpid())
        return *pool;
    std::lock_guard<std::mutex> lock(holder.mutex);
    if (holder.pool == nullptr || holder.owner != getpid()) {
        // in a forked child the parent's pool (its workers are not here) is
        // left alone, never joined
        holder.pool = new ThreadPool();
        holder.owner = getpid();
    }
    return *holder.pool;
}

bool thread_pool_exists() {
    const PoolHolder& holder = pool_holder();
    return holder.pool != nullptr && holder.owner == getpid();
}

// Entry points for Python (cppyy calls, rare: a change of the preference)
int32_t set_thread_count(int32_t threads) {
    if (threads <= 1 && !thread_pool_exists()) {
        loop_threads().store(1);
        return 1;
    }
    thread_pool().set_threads(threads);
    loop_threads().store(thread_pool().threads());
    return thread_pool().threads();
}

void stop_thread_pool() {
    loop_threads().store(1);
    if (thread_pool_exists())
        thread_pool().set_threads(1);
}

void set_split_threshold_ns(int64_t threshold) {
    split_threshold_ns().store(threshold < 0 ? 0 : threshold);
}

int64_t split_loop_count() {
    return thread_pool_exists() ? thread_pool().counters.split_loops.load() : 0;
}

int64_t worker_part_count() {
    return thread_pool_exists() ? thread_pool().counters.worker_parts.load() : 0;
}

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_THREAD_POOL_HPP
