// brian2cppyy: a thread pool of our own, which runs the parts of the
// kernels' split loops (parallel_loops.hpp).
//
// Why our own: OpenMP in Cling would need -fopenmp when Cling starts, a
// rebuilt precompiled header and LLVM's OpenMP runtime (libgomp lacks the
// __kmpc_* entry points Clang emits), none of which cppyy ships. Plain
// std::thread works in JIT code as long as worker threads never call into
// Python and catch everything that could leave them.
//
// A split loop (PoolTask) runs part 0 on the calling thread and part k
// on worker k; the call returns when all are done. Each part runs in the
// calling thread's floating-point environment (rounding, flushing denormals
// to zero: Brian2's flush_denormals sets it on the thread that runs the
// kernel), so that it computes as the calling thread would.
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
// Lifetime: this header is compiled (loop/threads.py) in a process that
// first sets more than one thread, not when Cling starts: the pool's code
// costs Cling's start a few hundred milliseconds that one thread never
// needs. One pool per process, its workers started for the thread count set
// from Python (set_thread_count, from the preference
// codegen.runtime.cppyy.threads) and joined when the count goes back to 1
// and at exit (stop_thread_pool, registered with Python's atexit by
// loop/threads.py, before Cling goes). A child forked from the process
// (sweep workers) does not have the parent's workers: it starts a pool of
// its own when it needs one.
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

#include "brian2cppyy/parallel_loops.hpp"

namespace brian2cppyy {

// What one part of a split loop did
struct PartOutcome {
    int64_t status = OK;      // OK or the error status
    ErrorRecord fault = {};   // a fault's details (contract.hpp)
    std::string message;      // a C++ exception's message
};

// A split loop as the pool runs it: function(context, part, parts) for each
// part
struct PoolTask {
    PartFunction function;
    void* context;
    size_t parts;
    PartOutcome* outcomes;  // one per part (the pool's)
    std::fenv_t environment;  // the calling thread's
};

// Runs one part of a task; a kernel-shaped function, so that a FaultScope
// can guard it: the part's fault details in its SLOT_ERROR_RECORD, then the
// PoolTask and the part (PART_SLOT_TASK, PART_SLOT_PART).
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
    bool run(PartFunction function, void* context, size_t parts);

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
    PoolTask* task_ = nullptr;
};

// The process's pool (a forked child makes its own: the parent's workers
// do not exist there).
ThreadPool& thread_pool();

// Whether the pool exists in this process, without creating it
bool thread_pool_exists();

// Throws the failure of a part on the calling thread (see the top); does not
// return for a failure.
void report_part_failure(const PartOutcome& outcome);

// ---------------------------------------------------------------------------
// Definitions (compiled once per process)

int64_t run_part(Slot* slots) {
    PoolTask& task = *static_cast<PoolTask*>(slots[PART_SLOT_TASK].p);
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
inline void run_part_guarded(PoolTask& task, size_t part) {
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
        PoolTask* task = task_;
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

bool ThreadPool::run(PartFunction function, void* context, size_t parts) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || workers_.empty() || parts != workers_.size() + 1)
        return false;
    counters.split_loops.fetch_add(1, std::memory_order_relaxed);
    for (PartOutcome& outcome : outcomes_)
        outcome.status = OK;
    PoolTask task;
    task.function = function;
    task.context = context;
    task.parts = parts;
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
    while (failed < parts && outcomes_[failed].status == OK)
        failed++;
    if (failed == parts)
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

// split_parts' work when there are threads (SplitLoopFunction,
// parallel_loops.hpp): ask the site, run the loop split or serially, time it
// for the site. A forked child's pool has no workers: its loops run on one
// thread until the count is set again.
size_t split_loop(ParallelSite& site, size_t n, size_t threads, PartFunction function,
                  void* context) {
    bool timed;
    const bool split = site.choose_split(n, &timed);
    const auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    size_t parts = 1;
    if (split) {
        // only here: thread_pool() checks the process id, a system call
        ThreadPool& pool = thread_pool();
        if (pool.run(function, context, threads))
            parts = threads;
        else if (pool.threads() == 1)
            loop_threads().store(1, std::memory_order_relaxed);
    }
    if (parts == 1)
        function(context, 0, 1);  // not worth it, or the pool is busy
    if (timed) {
        const double ns = std::chrono::duration<double, std::nano>(
            std::chrono::steady_clock::now() - t0).count();
        site.record(parts > 1, n, ns);
    }
    return parts;
}

static const bool thread_pool_registered =
    (pool_split_loop().store(&split_loop, std::memory_order_release), true);

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

int64_t split_loop_count() {
    return thread_pool_exists() ? thread_pool().counters.split_loops.load() : 0;
}

int64_t worker_part_count() {
    return thread_pool_exists() ? thread_pool().counters.worker_parts.load() : 0;
}

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_THREAD_POOL_HPP
