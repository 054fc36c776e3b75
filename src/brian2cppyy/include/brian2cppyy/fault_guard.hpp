// brian2cppyy: hardware faults and a hung kernel become error statuses.
//
// A kernel (or a user's C++ function it calls) that dereferences a bad
// pointer, overflows its stack, divides an integer by zero in its own C++
// code or executes an invalid instruction raises SIGSEGV, SIGBUS, SIGFPE or
// SIGILL. Without help, Cling's handler prints a debugger dump and the
// process dies. Our handlers for those signals (and for SIGINT) are
// installed when Cling starts and stay installed (install_fault_handlers,
// idempotent: called again when Python may have replaced the SIGINT
// handler). Installing them around each top-level call instead would cost
// about ten system calls per call (11 us measured here). Each kernel call
// sets a jump point (FaultScope::call: sigsetjmp without saving the signal
// mask, a few instructions, no system call). A fault in an armed kernel
// jumps back there and the call returns ERR_FAULT, with the signal, its
// code and the faulting address in the kernel's ErrorRecord (contract.hpp).
//
// Ctrl-C: the first SIGINT during a kernel is passed on to the handler that
// was in place (Python's, which requests a graceful stop at the next step
// boundary). A second SIGINT during the same kernel call leaves the kernel
// (ERR_KERNEL_INTERRUPTED): the way out of an endless loop in user code.
// Only the thread that receives the SIGINT can be interrupted (the terminal
// sends it to the main thread).
//
// Leaving a kernel by siglongjmp runs no C++ destructor: memory it allocated
// leaks, and locks it held stay held (except the random-buffer lock, which
// RandomLock hands back). The handlers are not async-signal-safe in general;
// the process state may be damaged, and Python says so.
//
// Threads: the handlers are process-wide; each thread has its own jump
// point (thread_local). A signal that does not belong to an armed kernel of
// the thread it is delivered to goes on to the handler that was installed
// before ours (Python's, cppyy's, faulthandler's), as if we were not there.
//
// Included by runtime.hpp (after contract.hpp).
#ifndef BRIAN2CPPYY_FAULT_GUARD_HPP
#define BRIAN2CPPYY_FAULT_GUARD_HPP

#include <csetjmp>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>

namespace brian2cppyy {

// The signals a FaultScope handles, in this order
static const int guarded_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGINT};
static const int n_guarded_signals = 5;

// Per thread: the jump point of the running kernel and what happened.
struct FaultContext {
    sigjmp_buf* jump = nullptr;  // the armed kernel call's jump point (null: none)
    int interrupts = 0;          // SIGINTs during the current kernel call
    int signal_number = 0;       // the fault: signal number,
    int code = 0;                //   si_code,
    intptr_t address = 0;        //   faulting address
    bool holds_random_lock = false;
    bool alt_stack_checked = false;
    void* alt_stack = nullptr;   // our alternate signal stack, if we installed one
    ~FaultContext() {
        if (alt_stack) {
            stack_t off;
            off.ss_sp = nullptr;
            off.ss_size = 0;
            off.ss_flags = SS_DISABLE;
            sigaltstack(&off, nullptr);
            std::free(alt_stack);
        }
    }
};

inline FaultContext& fault_context() {
    thread_local FaultContext context;
    return context;
}

// Process-wide: the handlers ours replaced (signals that are not ours go
// there).
struct FaultHandlers {
    std::mutex mutex;
    struct sigaction previous[n_guarded_signals];
};

inline FaultHandlers& fault_handlers() {
    static FaultHandlers handlers;
    return handlers;
}

inline int guarded_signal_index(int sig) {
    for (int k = 0; k < n_guarded_signals; k++)
        if (guarded_signals[k] == sig)
            return k;
    return -1;
}

// Hand a signal that is not ours to the handler that was in place before.
inline void forward_signal(int sig, siginfo_t* info, void* ucontext) {
    const int k = guarded_signal_index(sig);
    const struct sigaction& previous = fault_handlers().previous[k];
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction)
            previous.sa_sigaction(sig, info, ucontext);
        return;
    }
    if (previous.sa_handler == SIG_IGN && sig == SIGINT)
        return;
    if (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
        // the default action (a fault re-executes the instruction and ends
        // the process, as it would have without us)
        signal(sig, SIG_DFL);
        if (sig == SIGINT)
            raise(sig);
        return;
    }
    previous.sa_handler(sig);
}

inline void fault_signal_handler(int sig, siginfo_t* info, void* ucontext) {
    FaultContext& context = fault_context();
    if (context.jump == nullptr) {
        forward_signal(sig, info, ucontext);
        return;
    }
    if (sig == SIGINT) {
        const struct sigaction& previous = fault_handlers().previous[guarded_signal_index(SIGINT)];
        if (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler == SIG_IGN)
            return;  // Ctrl-C is ignored: it does not leave kernels either
        context.interrupts += 1;
        if (context.interrupts < 2) {
            forward_signal(sig, info, ucontext);  // Python's graceful stop
            return;
        }
    }
    context.signal_number = sig;
    context.code = info ? info->si_code : 0;
    context.address = (sig != SIGINT && info) ? reinterpret_cast<intptr_t>(info->si_addr) : 0;
    sigjmp_buf* jump = context.jump;
    context.jump = nullptr;
    siglongjmp(*jump, 1);
}

// Install our handler for each guarded signal whose handler is not ours
// (again, if somebody replaced it: Python's signal.signal() does for
// SIGINT). Idempotent; a few system calls. Returns the number installed.
inline int64_t install_fault_handlers() {
    FaultHandlers& handlers = fault_handlers();
    std::lock_guard<std::mutex> lock(handlers.mutex);
    struct sigaction ours;
    ours.sa_sigaction = &fault_signal_handler;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&ours.sa_mask);
    int64_t installed = 0;
    for (int k = 0; k < n_guarded_signals; k++) {
        struct sigaction current;
        if (sigaction(guarded_signals[k], nullptr, &current) != 0)
            continue;
        if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == &fault_signal_handler)
            continue;
        handlers.previous[k] = current;
        sigaction(guarded_signals[k], &ours, nullptr);
        installed++;
    }
    return installed;
}

// A stack for the handler, so that a stack overflow can be handled. A
// thread keeps the one it has (Python's faulthandler installs one).
inline void ensure_alt_stack(FaultContext& context) {
    context.alt_stack_checked = true;
    stack_t current;
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE))
        return;
    // the handlers we forward to (cppyy's prints a stack trace) run on it too
    const size_t size = 256 * 1024;
    void* memory = std::malloc(size);
    if (!memory)
        return;
    stack_t stack;
    stack.ss_sp = memory;
    stack.ss_size = size;
    stack.ss_flags = 0;
    if (sigaltstack(&stack, nullptr) == 0)
        context.alt_stack = memory;
    else
        std::free(memory);
}

// The fault protection of one top-level call from Python; kernels are called
// through call(). Costs no system call (after the first in a thread).
class FaultScope {
public:
    FaultScope() : context_(fault_context()) {
        if (!context_.alt_stack_checked)
            ensure_alt_stack(context_);
    }

    FaultScope(const FaultScope&) = delete;
    FaultScope& operator=(const FaultScope&) = delete;

    // The kernel's status, or ERR_FAULT / ERR_KERNEL_INTERRUPTED (details
    // in the kernel's ErrorRecord: signal, si_code, address, status).
    int64_t call(KernelFunction kernel, Slot* slots) {
        sigjmp_buf jump;
        sigjmp_buf* const outer = context_.jump;
        const int outer_interrupts = context_.interrupts;
        int64_t status;
        context_.interrupts = 0;
        if (sigsetjmp(jump, 0) == 0) {
            context_.jump = &jump;
            status = kernel(slots);
        } else {
            status = recover(slots);
        }
        context_.jump = outer;
        context_.interrupts = outer_interrupts;
        return status;
    }

private:
    int64_t recover(Slot* slots) {
        // the handler was left with its signal blocked (nothing else is:
        // its sa_mask is empty, and a blocked fault signal is not handled)
        sigset_t caught;
        sigemptyset(&caught);
        sigaddset(&caught, context_.signal_number);
        pthread_sigmask(SIG_UNBLOCK, &caught, nullptr);
        release_random_lock_after_fault();
        const int64_t status =
            context_.signal_number == SIGINT ? ERR_KERNEL_INTERRUPTED : ERR_FAULT;
        ErrorRecord* error = static_cast<ErrorRecord*>(slots[SLOT_ERROR_RECORD].p);
        if (error) {
            error->signal_number = context_.signal_number;
            error->signal_code = context_.code;
            error->address = context_.address;
            // also here: Python may see its own KeyboardInterrupt (from the
            // first Ctrl-C) before the status, and then looks for this
            error->status = status;
        }
        return status;
    }

    static void release_random_lock_after_fault();

    FaultContext& context_;
};

// Calls a kernel from Python (ctypes) inside its own scope.
inline int64_t guarded_kernel_call(const KernelCall* call) {
    FaultScope scope;
    return scope.call(call->kernel, call->slots);
}

// Python code called back from a kernel (e.g. refilling the random buffers)
// must not be left by siglongjmp: signals during it go to the previous
// handlers, as if no kernel were running.
class UnguardedSection {
public:
    UnguardedSection() : context_(fault_context()), jump_(context_.jump) {
        context_.jump = nullptr;
    }
    ~UnguardedSection() { context_.jump = jump_; }
    UnguardedSection(const UnguardedSection&) = delete;
    UnguardedSection& operator=(const UnguardedSection&) = delete;

private:
    FaultContext& context_;
    sigjmp_buf* jump_;
};

}  // namespace brian2cppyy

#endif  // BRIAN2CPPYY_FAULT_GUARD_HPP
