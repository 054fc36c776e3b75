"""The compile thread: Cling compiles kernels on a thread of its own while
Python goes on generating the code of the next ones.

A network's code objects are generated one after the other in Brian2's
``before_run`` (Python: templates, code generation) and each kernel is only
called later, when the run starts. Compiling (Cling, without the GIL:
`runtime.declare`) and generating then overlap on two cores: a code object
hands its blocks to this thread (`submit`) and gets a `Future` for each,
which is waited for when the kernel is first called.

One thread, one queue: units compile in the order they were submitted, as
they would on the main thread (a kernel may need a runtime unit compiled
before it; Cling's own start is the first job, `runtime.launch`). Jobs that
only prepare what later units may need (`submit_when_idle`) wait until no
other job does: they fill the time the thread would wait for Brian2. Cling is
not thread-safe: every other use of Cling goes through `runtime.ready` (or
`runtime.start`, which also hands cppyy out), which waits until this thread
is idle (`wait_idle`); a job holds `runtime.lock` while it compiles.

Processes: the thread starts on the first job. Before a fork every queued
job is finished (a child has no compile thread: it starts its own); at exit
too, so that Cling never compiles while the interpreter shuts down.
"""

import atexit
import itertools
import os
import queue
import threading
from concurrent.futures import Future

__all__ = ["submit", "submit_when_idle", "wait_for", "wait_idle"]

#: the queue's priorities: jobs in order, then those that wait for idle time
_IN_ORDER, _WHEN_IDLE = 0, 1


class _CompileThread:
    """One daemon thread that runs the submitted jobs in order (by priority,
    then in the order submitted)."""

    def __init__(self):
        self.jobs = queue.PriorityQueue()
        self.submitted = itertools.count()
        self.thread = None
        self.owner = os.getpid()

    def submit(self, function, args, priority=_IN_ORDER):
        future = Future()
        self.jobs.put((priority, next(self.submitted), future, function, args))
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name="brian2cppyy-compile",
                                           daemon=True)
            self.thread.start()
        return future

    def _work(self):
        while True:
            _, _, future, function, args = self.jobs.get()
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(function(*args))
                    except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                        future.set_exception(exc)
            finally:
                # nothing of the job stays alive here until the next one
                # (Brian2 names objects after those still alive)
                del future, function, args
                self.jobs.task_done()

    def wait_idle(self):
        if self.thread is not None and threading.current_thread() is not self.thread:
            self.jobs.join()


_compiler = _CompileThread()


def _current():
    global _compiler
    if _compiler.owner != os.getpid():  # a forked child: the thread is not here
        _compiler = _CompileThread()
    return _compiler


def submit(function, *args):
    """Run ``function(*args)`` on the compile thread, after every job
    submitted before; returns its `Future` (the result, or the exception it
    raised)."""
    return _current().submit(function, args)


def submit_when_idle(function, *args):
    """Run ``function(*args)`` on the compile thread when no job submitted
    with `submit` waits (e.g. parsing a header that a later kernel will
    include: the kernels submitted meanwhile go first); returns its
    `Future`."""
    return _current().submit(function, args, _WHEN_IDLE)


def wait_for(future):
    """The result of a submitted job, once it is done (raises its
    exception)."""
    return future.result()


def wait_idle():
    """Return when every submitted job has finished (at once on the compile
    thread itself)."""
    _current().wait_idle()


os.register_at_fork(before=wait_idle)
atexit.register(wait_idle)
