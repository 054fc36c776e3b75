"""One clock, one running network: a clear error when a network run would
advance a `Clock` that a run in another thread is advancing.

A clock's ``t``/``timestep`` are shared state: ``Network.run`` sets the
clock's interval and advances it step by step. Two threads that run networks
on the same clock (typically ``defaultclock``) therefore advance it in turns
and both get wrong results (measured: wrong spike counts) without any error.

`guarded` wraps a ``network_run`` implementation (installed on the runtime
device for the cppyy target by `brian2cppyy.brian2_hooks`): before the run touches its
clocks it claims them for the current thread, and a clock claimed by another
thread raises `ClockInUseError`, naming the clock and both networks. A
thread may claim its own clocks again (a NetworkOperation that runs another
network on the same clock is Brian2's business, as in a single thread).
"""

import functools
import inspect
import threading
from contextlib import contextmanager

__all__ = ["ClockInUseError", "claim", "guarded"]


class ClockInUseError(RuntimeError):
    """A network run would advance a clock that a run in another thread is
    advancing."""


_lock = threading.Lock()
#: clock -> [thread, name of the network that claimed it, claims by that thread]
_claims = {}


def _claim_clock(clock, thread, net):
    owner = _claims.get(clock)
    if owner is None:
        _claims[clock] = [thread, net.name, 1]
    elif owner[0] is thread:
        owner[2] += 1
    else:
        raise ClockInUseError(
            f"Network '{net.name}' cannot run in thread '{thread.name}': its clock "
            f"'{clock.name}' is being advanced by network '{owner[1]}' in thread "
            f"'{owner[0].name}', and both runs would advance it in turns (wrong "
            "results). Networks that run in parallel threads need clocks of their "
            "own: give each group and monitor clock=Clock(dt=..., name=...) or a "
            "dt= of its own instead of the shared defaultclock."
        )


def _release_clock(clock):
    owner = _claims[clock]
    owner[2] -= 1
    if owner[2] == 0:
        del _claims[clock]


@contextmanager
def claim(net):
    """Claim the clocks of ``net``'s objects for the current thread for the
    duration of the ``with`` block (all or none)."""
    clocks = {obj.clock for obj in net.sorted_objects}
    thread = threading.current_thread()
    claimed = []
    with _lock:
        try:
            for clock in clocks:
                _claim_clock(clock, thread, net)
                claimed.append(clock)
        except ClockInUseError:
            for clock in claimed:
                _release_clock(clock)
            raise
    try:
        yield
    finally:
        with _lock:
            for clock in claimed:
                _release_clock(clock)


def guarded(network_run):
    """``network_run`` with its clocks claimed for the run. The wrapper adds
    one frame between the user's ``run`` and ``network_run``, so it raises
    ``level`` by one (the namespace is looked up ``level`` frames up)."""
    signature = inspect.signature(network_run)

    @functools.wraps(network_run)
    def guarded_network_run(net, *args, **kwds):
        bound = signature.bind(net, *args, **kwds)
        bound.apply_defaults()
        bound.arguments["level"] = bound.arguments["level"] + 1
        with claim(net):
            return network_run(*bound.args, **bound.kwargs)

    return guarded_network_run
