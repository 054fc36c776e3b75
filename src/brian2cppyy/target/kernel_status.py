"""The status a kernel returns (contract.hpp's ``Status``: >= 0 is success,
the number of returned elements for templates that return an array) and the
Python exception each error status becomes, as Brian2's Cython target would
raise it, from the details in the kernel's ``ErrorRecord``.

The values are the header's (`brian2cppyy.cling.contract`); this module
keeps a message for each (``tests/test_contract.py`` checks that every
status has one).
"""

from ..cling import contract
from . import faults, random_buffers

__all__ = ["status_message", "last_cpp_exception_message", "exception"]

#: the error statuses of contract.hpp's Status, with their messages
STATUS_MESSAGES = {
    "ERR_INDEX": "index out of range",
    "ERR_SAMPLE_SIZE": "sample size bigger than the population",
    "ERR_CALLBACK": "a Python callback (the random-number buffer refill) failed",
    "ERR_NEGATIVE_SAMPLE_SIZE": "negative sample size",
    "ERR_CPP_EXCEPTION": "a C++ exception",
    "ERR_ZERO_DIVISION": "integer division or modulo by zero",
    "ERR_FAULT": "a hardware fault",
    "ERR_KERNEL_INTERRUPTED": "interrupted inside a kernel",
    "ERR_GSL_INTEGRATION": "GSL could not integrate a time step",
}


def status_message(status):
    """The message of a kernel's status code."""
    values = vars(contract.values())
    for name, message in STATUS_MESSAGES.items():
        if values[name] == int(status):
            return message
    return f"status {status}"


def last_cpp_exception_message():
    """The message of the last C++ exception a kernel caught in this thread."""
    message = contract.entry_points().last_error_message()
    return (message or b"").decode("utf-8", "replace")


def exception(status, error, site):
    """The exception for error ``status`` of the kernel at ``site`` (a
    `brian2cppyy.target.kernel.KernelSite`), with the details the kernel
    wrote into ``error`` (an `ErrorRecord`). The kernel raises it as the
    cause of Brian2's ``BrianObjectException``, except a
    ``KeyboardInterrupt``, which it raises as it is."""
    C = contract.values()
    error.status = 0  # the fault guard's mark (see Kernel.run)
    if status == C.ERR_INDEX:
        name = "ij"[error.index_variable] if 0 <= error.index_variable <= 1 else "index"
        return IndexError(
            f"index {name}={error.value} outside allowed range from 0 to {error.limit}")
    if status == C.ERR_SAMPLE_SIZE:
        return IndexError(f"Requested sample size {error.value} is bigger than the "
                          f"population size {error.limit}.")
    if status == C.ERR_NEGATIVE_SAMPLE_SIZE:
        return IndexError(f"Requested sample size {error.value} is negative.")
    if status == C.ERR_ZERO_DIVISION:
        return ZeroDivisionError("integer division or modulo by zero")
    if status == C.ERR_FAULT:
        return faults.fault_exception(site, error)
    if status == C.ERR_KERNEL_INTERRUPTED:
        return faults.interrupt_exception(site)
    if status == C.ERR_CPP_EXCEPTION:
        return RuntimeError(
            "A C++ exception was thrown in the generated code"
            + (f" (functions used: {', '.join(site.functions)})" if site.functions else "")
            + f": {last_cpp_exception_message()}"
        )
    if status == C.ERR_CALLBACK:
        return random_buffers.take_pending_error() or RuntimeError(status_message(status))
    return RuntimeError(status_message(status))
