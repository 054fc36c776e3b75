"""Ctrl-C (SIGINT) while the fused C++ loop runs: deferred to a step boundary.

The handler that was in place (Brian2's, which turns the first Ctrl-C into
``Network.stop()`` when ``core.stop_on_keyboard_interrupt`` is set) is called
as usual; if it raises `KeyboardInterrupt`, the exception is deferred to the
next step boundary: the loop returns to Python at least every
``network_loop.CHECK_INTERVAL`` seconds, and the network stops at the last
completed step. Outside the main thread nothing is changed.
"""

import signal
import threading

from ..target import faults

__all__ = ["DeferredInterrupt"]


class DeferredInterrupt:
    """Context manager: SIGINT during the block is remembered, and raised by
    `raise_if_requested` (see the module docstring)."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        previous = self._previous
        try:
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            faults.sigint_handler_was_set()  # it replaced the fault guard's handler
            self._previous = None
        return False

    def raise_if_requested(self):
        if self.requested:
            self.requested = False
            raise KeyboardInterrupt
