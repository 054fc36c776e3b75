"""Brian2's logger for this package's modules, safe to use from several threads.

Brian2 logs the messages of extension packages (logger names outside
``brian2.``) by adding a filter to the logger for the duration of the call and
removing it afterwards. Two threads logging at once therefore both see both
filters, and Brian2's filter fails an assertion (``AssertionError:
brian2cppyy.loop.network_loop.run``) in the middle of a ``Network.run``. All of this
package's logging goes through `get_logger`, which serialises the calls.
"""

import threading

__all__ = ["get_logger"]


class _SerialisedLogger:
    """Brian2's logger for one module, with one lock around each call."""

    _lock = threading.Lock()

    def __init__(self, name):
        from brian2.utils.logger import get_logger as brian2_get_logger

        self._logger = brian2_get_logger(name)

    def _log(self, method, *args, **kwds):
        with _SerialisedLogger._lock:
            return getattr(self._logger, method)(*args, **kwds)

    def debug(self, *args, **kwds):
        return self._log("debug", *args, **kwds)

    def diagnostic(self, *args, **kwds):
        return self._log("diagnostic", *args, **kwds)

    def info(self, *args, **kwds):
        return self._log("info", *args, **kwds)

    def warn(self, *args, **kwds):
        return self._log("warn", *args, **kwds)

    def error(self, *args, **kwds):
        return self._log("error", *args, **kwds)


def get_logger(name):
    """A thread-safe Brian2 logger for a module of this package."""
    return _SerialisedLogger(name)
