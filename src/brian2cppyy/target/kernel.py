"""A compiled kernel, bound to its filled argument slots: the one way a
kernel runs and the one place where its error status becomes a Python
exception.

Both callers use it, so they cannot drift apart: a code object's
``run_block`` calls `Kernel.run` (one guarded call from Python, under the
signal policy below); the fused loop (`brian2cppyy.loop.network_loop`) calls
the same kernel from C++ through the same fault guard, using
`Kernel.function_address` and `Kernel.slots_address`, and hands a failed
status back to `Kernel.raise_error`.

Signal policy: the fault guard (``fault_guard.hpp``) turns a hardware fault
or a second Ctrl-C inside the kernel into an error status with details in
the kernel's `ErrorRecord`; its handlers are put back in front of Python's
before a call when Python replaced them (`faults.keep_handlers_installed`).
The first Ctrl-C runs Python's handler, whose ``KeyboardInterrupt``
surfaces when the kernel returns: if a second one left the kernel, the
record says so and the error names the kernel.

A kernel knows only what its errors need (`KernelSite`): where it comes
from, and the exceptions of template-specific statuses (GSL's).
"""

import ctypes
from dataclasses import dataclass, field

from brian2.core.base import BrianObjectException

from ..cling import compile_thread, contract
from . import faults, kernel_status, random_buffers

__all__ = ["Kernel", "KernelSite"]


@dataclass(frozen=True)
class KernelSite:
    """Where a kernel comes from, for its error messages."""

    code_object: str  #: the code object's name
    template: str  #: its template's name
    block: str  #: ``before_run``, ``run`` or ``after_run``
    owner: object  #: the Brian2 object the code object belongs to
    functions: tuple = ()  #: the C++ functions with code of their own it calls
    #: status -> function(`contract.ErrorRecord`, `KernelSite`) -> exception,
    #: for statuses of a particular template (`kernel_status.exception` has
    #: the others)
    exceptions: dict = field(default_factory=dict)


class Kernel:
    """A compiled block bound to its slot array (uint64, see
    `kernel_arguments`). ``slots`` and ``keepalive`` must live as long as
    the kernel may run: the kernel holds them. ``compiled`` is the kernel's
    address, or the compile thread's `Future` of it: the kernel waits for
    it when it is first called (`function_address`), and raises its
    compilation error there."""

    __slots__ = ("_compiled", "_address", "slots", "slots_address", "keepalive", "site",
                 "error", "_call", "_call_pointer", "_guarded_call")

    def __init__(self, compiled, slots, keepalive, site):
        C = contract.values()
        self._compiled = compiled
        self._address = None
        self.site = site
        self.error = contract.ErrorRecord()
        slots[C.SLOT_ERROR_RECORD] = ctypes.addressof(self.error)
        self.slots = slots
        self.slots_address = slots.ctypes.data
        self.keepalive = keepalive
        self._guarded_call = None

    @property
    def function_address(self):
        """The compiled kernel's address (waits for its compilation). Every
        kernel is called through it first, also by the fused loop: the
        refill callback of the random buffers is then connected (not when the
        kernel is made: code generation goes on while Cling starts)."""
        if self._address is None:
            compiled = self._compiled
            address = compiled if isinstance(compiled, int) else compile_thread.wait_for(compiled)
            random_buffers.connect()  # before any kernel can draw
            self._guarded_call = contract.entry_points().guarded_kernel_call
            self._call = contract.KernelCall(address, self.slots_address)
            self._call_pointer = ctypes.pointer(self._call)
            self._address = address
            self._compiled = None
        return self._address

    def set_return_buffer(self, address):
        """Where a template that returns an array writes it (0: none)."""
        self.slots[contract.values().SLOT_RETURN_BUFFER] = address

    def run(self):
        """Call the kernel from Python; its status (>= 0), or the error
        raised as Brian2 raises a code object's errors."""
        if self._address is None:
            self.function_address  # noqa: B018 - waits for the compilation
        faults.keep_handlers_installed()
        try:
            status = self._guarded_call(self._call_pointer)
        except KeyboardInterrupt:
            # the first Ctrl-C (Python's handler) surfaces as soon as the
            # kernel returns; if a second one left the kernel, say so
            interrupted = contract.values().ERR_KERNEL_INTERRUPTED
            if self.error.status != interrupted:
                raise
            status = interrupted
        if status < 0:
            self.raise_error(status)
        random_buffers.raise_pending_error()
        return status

    def raise_error(self, status):
        """Raise the exception for error ``status`` of this kernel: Brian2's
        ``BrianObjectException`` naming the owner, caused by the exception
        the status stands for (a ``KeyboardInterrupt`` as it is)."""
        specific = self.site.exceptions.get(status)
        if specific is not None:
            cause = specific(self.error, self.site)
        else:
            cause = kernel_status.exception(status, self.error, self.site)
        if isinstance(cause, KeyboardInterrupt):
            try:
                raise cause
            finally:
                cause = None  # no cycle exception -> frame -> exception keeping self
        message = (
            f"An exception occurred during the execution of the '{self.site.block}' block "
            f"of code object '{self.site.code_object}'.\n"
        )
        raise BrianObjectException(message, self.site.owner) from cause
