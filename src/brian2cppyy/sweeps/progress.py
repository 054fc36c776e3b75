"""The text progress bar of a sweep and its closing summary.

One line on standard error: a bar, runs done out of the total, failed runs
and the estimated time left (from the throughput so far). On a terminal the
line is redrawn in place; elsewhere (a log file, a batch job) a line is
written when another tenth of the sweep is done, so logs stay short.
"""

import sys
import time

__all__ = ["ProgressBar", "format_seconds"]


def format_seconds(seconds):
    """``'1:02:03'``, ``'2:03'`` or ``'3.4 s'``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Progress of ``total`` runs, of which ``reused`` came from the store."""

    WIDTH = 30

    def __init__(self, total, reused=0, stream=None, enabled=True):
        self.total, self.reused = total, reused
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.start = time.perf_counter()
        self.done = self.failed = 0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_tenth = -1
        self._last_draw = 0.0

    def line(self):
        """The progress line for the current state."""
        finished = self.reused + self.done
        filled = int(self.WIDTH * finished / self.total) if self.total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        to_run = self.total - self.reused
        if self.done and self.done < to_run:
            elapsed = time.perf_counter() - self.start
            eta = f"{format_seconds(elapsed / self.done * (to_run - self.done))} left"
        else:
            eta = "done" if self.done >= to_run else "time left: estimating"
        return (f"sweep [{bar}] {finished}/{self.total} runs, {self.failed} failed, {eta}")

    def update(self, done=None, failed=None, force=False):
        """Record the counts (runs done in this call, failed among them) and redraw."""
        if done is not None:
            self.done = done
        if failed is not None:
            self.failed = failed
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._tty:
            if force or now - self._last_draw > 0.2:
                self.stream.write("\r" + self.line())
                self.stream.flush()
                self._last_draw = now
        else:
            tenth = (10 * (self.reused + self.done)) // max(self.total, 1)
            if force or tenth != self._last_tenth:
                self.stream.write(self.line() + "\n")
                self.stream.flush()
                self._last_tenth = tenth

    def close(self, summary):
        """End the bar's line and write the summary."""
        if not self.enabled:
            return
        if self._tty:
            self.stream.write("\r" + self.line() + "\n")
        else:
            self.update()
        self.stream.write(summary + "\n")
        self.stream.flush()

    def elapsed(self):
        return time.perf_counter() - self.start
