"""A run's progress report (``Network.run``'s ``report`` argument) in the
fused loop: the callback Brian2 would make (`brian2_compat.report_callback`),
called at the start, at a step boundary when ``report_period`` (wall-clock)
has passed, and at the end, with the arguments Brian2 gives it.
"""

import time

from brian2.units.allunits import second

from .. import brian2_compat as compat

__all__ = ["ProgressReport"]


class ProgressReport:
    """A run's progress report, as ``Network.run`` gives it: the callback is
    called at the start, whenever ``report_period`` (wall-clock) has passed
    at a step boundary, and at the end."""

    def __init__(self, callback, period, start_time, t_start, t_end, duration):
        self.callback = callback
        self.period = period
        self.start_time = start_time
        self.next_time = start_time + period
        self.t_start = t_start
        self.t_end = t_end
        self.duration = duration

    @classmethod
    def create(cls, report, report_period, start_time, t_start, t_end, duration):
        """The reporter for ``Network.run``'s ``report`` argument (``None``
        for no report), after its first call (fraction 0)."""
        callback = compat.report_callback(report)
        if callback is None:
            return None
        reporter = cls(callback, float(report_period), start_time, t_start, t_end, duration)
        callback(0 * second, 0.0, t_start, duration)
        return reporter

    def during(self, t):
        """Report at a step boundary (``t``: the next step) if it is due."""
        current = time.time()
        if current > self.next_time:
            fraction = (t - float(self.t_start)) / float(self.t_end - self.t_start)
            self.callback((current - self.start_time) * second, fraction, self.t_start,
                          self.duration)
            self.next_time = current + self.period

    def final(self, end_time, fraction):
        self.callback((end_time - self.start_time) * second, fraction, self.t_start,
                      self.duration)
