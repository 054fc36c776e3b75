"""The status a kernel returns (runtime.hpp's ``Status``: >= 0 is success,
the number of returned elements for templates that return an array) and the
Python exception each error status becomes, as Brian2's Cython target would
raise it.

The values come from the header (one source of truth):
``kernel_status.ERR_INDEX`` etc. read it when first used.
"""

from ..cling import runtime
from . import faults, random_buffers

__all__ = ["status_message", "last_cpp_exception_message", "exception"]

#: the error statuses of runtime.hpp's Status, with their messages
STATUS_MESSAGES = {
    "ERR_INDEX": "index out of range",
    "ERR_SAMPLE_SIZE": "sample size bigger than the population",
    "ERR_INTERRUPTED": "interrupted",
    "ERR_CALLBACK": "a Python callback (the random-number buffer refill) failed",
    "ERR_INVALID_VALUE": "invalid value",
    "ERR_NEGATIVE_SAMPLE_SIZE": "negative sample size",
    "ERR_CPP_EXCEPTION": "a C++ exception",
    "ERR_ZERO_DIVISION": "integer division or modulo by zero",
    "ERR_FAULT": "a hardware fault",
    "ERR_KERNEL_INTERRUPTED": "interrupted inside a kernel",
}


def __getattr__(name):
    if name in STATUS_MESSAGES:
        value = runtime.runtime_constants(name)[name]
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _value(name):
    return globals()[name] if name in globals() else __getattr__(name)


def status_message(status):
    """The message of a kernel's status code."""
    for name, message in STATUS_MESSAGES.items():
        if _value(name) == int(status):
            return message
    return f"status {status}"


def last_cpp_exception_message():
    """The message of the last C++ exception a kernel caught in this thread."""
    cppyy = runtime.start()
    with runtime.lock:
        return str(cppyy.gbl.brian2cppyy.last_error_message())


def exception(status, info, code_object, block):
    """The exception for error ``status`` of ``code_object``'s ``block``, with
    the details the kernel wrote into ``info`` (int64[4]). The code object
    raises it as the cause of Brian2's ``BrianObjectException``, except a
    ``KeyboardInterrupt``, which it raises as it is."""
    info[3] = 0  # the fault guard's mark (see CppyyCodeObject.run_block)
    if status == _value("ERR_INDEX"):
        name = "ij"[int(info[2])] if 0 <= info[2] <= 1 else "index"
        return IndexError(f"index {name}={info[0]} outside allowed range from 0 to {info[1]}")
    if status == _value("ERR_SAMPLE_SIZE"):
        return IndexError(
            f"Requested sample size {info[0]} is bigger than the population size {info[1]}."
        )
    if status == _value("ERR_NEGATIVE_SAMPLE_SIZE"):
        return IndexError(f"Requested sample size {info[0]} is negative.")
    if status == _value("ERR_ZERO_DIVISION"):
        return ZeroDivisionError("integer division or modulo by zero")
    if status == _value("ERR_FAULT"):
        return faults.fault_exception(code_object, block, info, code_object.functions_with_code())
    if status == _value("ERR_KERNEL_INTERRUPTED"):
        return faults.interrupt_exception(code_object, block, code_object.functions_with_code())
    if status == _value("ERR_CPP_EXCEPTION"):
        functions = code_object.functions_with_code()
        return RuntimeError(
            "A C++ exception was thrown in the generated code"
            + (f" (functions used: {', '.join(functions)})" if functions else "")
            + f": {last_cpp_exception_message()}"
        )
    if status == _value("ERR_CALLBACK"):
        return random_buffers.take_pending_error() or RuntimeError(status_message(status))
    return RuntimeError(status_message(status))
