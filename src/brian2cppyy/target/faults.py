"""Hardware faults and hard interrupts in compiled code, told in Python.

The fault guard (``include/brian2cppyy/fault_guard.hpp``) turns a SIGSEGV,
SIGBUS, SIGFPE or SIGILL inside a kernel, and a second Ctrl-C during one
kernel call, into an error status with the signal, its ``si_code`` and the
faulting address in the kernel's error details. This module turns those into
the Python exceptions a user sees: `KernelFault` (wrapped by the code object
in a ``BrianObjectException``, as Brian2 wraps every error of a code object)
and ``KeyboardInterrupt``. Both messages name the code object and the C++
functions it calls, and say that the process state may be damaged: leaving
C++ code by ``siglongjmp`` runs no destructor and releases no lock.

The guard's handlers stay installed (a signal outside a kernel goes on to the
handler that was there before), so a kernel call costs no system call. Python's
``signal.signal`` replaces ours for SIGINT (Brian2 and the fused loop call it);
`keep_handlers_installed` notices a new Python-level handler and installs ours
again in front of it; code that sets the same Python handler object again
(the fused loop, when it restores Brian2's) calls `sigint_handler_was_set`.
"""

import signal

from ..cling import contract

__all__ = [
    "KernelFault", "fault_exception", "interrupt_exception", "keep_handlers_installed",
    "sigint_handler_was_set",
]

#: what a fault's ``si_code`` means, by signal (Linux values)
_CODES = {
    signal.SIGSEGV: {1: "address not mapped", 2: "access not permitted"},
    signal.SIGBUS: {1: "misaligned address", 2: "nonexistent physical address",
                    3: "object-specific hardware error"},
    signal.SIGFPE: {1: "integer division by zero", 2: "integer overflow",
                    3: "floating-point division by zero", 4: "floating-point overflow",
                    5: "floating-point underflow", 6: "floating-point inexact result",
                    7: "invalid floating-point operation"},
    signal.SIGILL: {1: "illegal opcode", 2: "illegal operand", 3: "illegal addressing mode",
                    4: "illegal trap", 5: "privileged opcode"},
}

#: what each signal is about
_KINDS = {
    signal.SIGSEGV: "invalid memory access",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "arithmetic error",
    signal.SIGILL: "illegal instruction (often a function without a return "
                   "statement, or undefined behaviour)",
}

DAMAGE_WARNING = (
    "The Python process survived, but its state may be damaged (memory the "
    "C++ code was writing, memory it allocated, locks it held): save what you "
    "need and restart the Python process."
)


class KernelFault(RuntimeError):
    """A hardware fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL) in compiled code.

    Attributes: ``signal`` (its number), ``code`` (``si_code``), ``address``
    (the faulting address, 0 if unknown), ``code_object`` (its name) and
    ``functions`` (names of the C++ functions it calls)."""

    def __init__(self, message, signal_number, code, address, code_object, functions):
        super().__init__(message)
        self.signal = signal_number
        self.code = code
        self.address = address
        self.code_object = code_object
        self.functions = tuple(functions)


def describe_signal(signal_number, code, address):
    """``'SIGSEGV (invalid memory access at address 0x0: address not mapped)'``"""
    try:
        name = signal.Signals(signal_number).name
    except ValueError:
        name = f"signal {signal_number}"
    kind = _KINDS.get(signal_number, "fault")
    detail = _CODES.get(signal_number, {}).get(code)
    where = f" at address {address & (2**64 - 1):#x}" if signal_number in (
        signal.SIGSEGV, signal.SIGBUS) else ""
    return f"{name} ({kind}{where}{': ' + detail if detail else ''})"


def _where(site):
    owner = getattr(site.owner, "name", "?")
    return (f"code object '{site.code_object}' (template '{site.template}', "
            f"block '{site.block}', for '{owner}')")


def _calls(functions):
    if not functions:
        return ""
    names = ", ".join(f"'{name}'" for name in functions)
    return f" It calls the C++ function(s) {names}; the cause is most likely there."


def fault_exception(site, error):
    """The `KernelFault` of the kernel at ``site`` (a
    `brian2cppyy.target.kernel.KernelSite`) for the signal, ``si_code`` and
    address in its ``error`` record (`contract.ErrorRecord`)."""
    signal_number, code, address = error.signal_number, error.signal_code, error.address
    message = (
        f"The compiled code of {_where(site)} caused a hardware "
        f"fault: {describe_signal(signal_number, code, address)}."
        f"{_calls(site.functions)} {DAMAGE_WARNING}"
    )
    return KernelFault(message, signal_number, code, address, site.code_object, site.functions)


def interrupt_exception(site):
    """The ``KeyboardInterrupt`` for a kernel left by a second Ctrl-C."""
    return KeyboardInterrupt(
        f"Interrupted by a second Ctrl-C inside the compiled code of "
        f"{_where(site)}.{_calls(site.functions)} {DAMAGE_WARNING}"
    )


_getsignal, _SIGINT = signal.getsignal, int(signal.SIGINT)
#: the Python-level SIGINT handler when ours were last installed
_sigint_handler_seen = object()


def keep_handlers_installed():
    """Install the fault guard's signal handlers again if Python's SIGINT
    handler changed since they were last installed (``signal.signal`` puts
    Python's C handler in place of ours). Costs one ``signal.getsignal``
    when nothing changed."""
    global _sigint_handler_seen
    current = _getsignal(_SIGINT)
    if current is _sigint_handler_seen:
        return
    contract.entry_points().install_fault_handlers()
    _sigint_handler_seen = current


def sigint_handler_was_set():
    """Python code has called ``signal.signal(SIGINT, ...)`` (perhaps with
    the handler it had): install the fault guard's handlers again before the
    next kernel call."""
    global _sigint_handler_seen
    _sigint_handler_seen = object()
