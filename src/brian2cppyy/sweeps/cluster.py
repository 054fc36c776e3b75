"""The Dask connection of a sweep, and the local cluster that `sweep` starts
itself when it is given no client (the *embedded* cluster).

Starting the embedded cluster is most of a short sweep's fixed cost. A
worker started with ``spawn`` (Dask's default) is a fresh interpreter that
imports Dask, Brian2, SymPy and brian2cppyy again (measured: 2.2 s of CPU
per worker, before Cling starts), although the calling process has
imported all of them already. So on Linux the embedded cluster's nannies
*fork* their workers from the calling process (``fork_allowed``): a worker
starts with everything the caller has imported, its preferences, and, if
the caller has started Cling (it ran a model on the cppyy target), Cling
and the kernels it compiled (then the workers compile nothing that the
caller compiled). Measured per worker, on a 2-core machine shared with
other jobs: 3.1-3.8 s of CPU from the process's start to its first task
with ``spawn``, 0.85-1.15 s with ``fork``, of which Cling's start is
0.7-0.9 s (``benchmarks/sweep_startup.py``). So the caller starts Cling
itself before the first fork, once instead of in every worker (2 workers,
the 24 runs of ``benchmarks/sweep_bench.py``: 7.4 s of CPU in all instead
of 8.8 s), and Cling keeps running in the caller afterwards, as if it had
run a model on the cppyy target (with the Cling flags of its preferences
then; later sweeps of the process do not start it again).

Forking a process that runs threads is only safe if no other thread holds
a lock the child needs. The nannies fork from a thread of Dask's, while the
caller waits for the cluster or polls its futures (pure Python); what the
child needs of native state is Cling, so every fork of a living embedded
cluster holds `brian2cppyy.cling.runtime.lock` (`_install_fork_hooks`): no
thread is inside Cling when the process is copied. Brian2's logger drops
its log file in a forked child (it checks the pid). Python warns about
forks of threaded processes (a ``DeprecationWarning``, hidden by default);
the warning stands, this docstring is why we accept it.

The caller's heap is frozen (``gc.freeze``) while the cluster forks from
it, unless something froze it before: a worker prepares by collecting its
garbage and freezing what is left (`worker.freeze_imports`), and a
collection traverses every object not frozen, writing into each, so in a
child forked from an unfrozen caller it took 0.22 s of CPU and copied the
pages of the caller's whole heap. Frozen objects are not collected: what of
the caller's state becomes garbage during the sweep is freed once the
cluster is closed.

A forked worker's resident size counts all the pages it shares with the
caller (measured, caller of 185 MB: a forked worker with Cling started had
323 MB resident, 71 MB of it its own; a spawned one 309 MB, 170 MB its
own), and Dask pauses, then restarts, a worker that nears its memory limit. So a caller
larger than `FORK_MEMORY_SHARE` of a worker's limit gets spawned workers, as
do platforms other than Linux (macOS's system libraries are not fork-safe;
Windows cannot fork).

The embedded cluster's workers run with the caller's preferences as they
were when `sweep` was called (the worker plugin applies them, also to a
spawned or restarted worker; a value that cannot be pickled stays the
worker's own), so e.g. ``codegen.runtime.cppyy.cache_dir`` is shared; a
cluster passed in keeps its workers' own preferences.
"""

import gc
import logging
import os
import sys
import threading

from ..cling import compile_thread, runtime

__all__ = ["Connection", "EMBEDDED_CLUSTER_CONFIG", "FORK_MEMORY_SHARE", "start_method",
           "fork_allowed"]

#: Dask settings for the lifetime of an embedded cluster (its nannies hand
#: them to the worker processes they start).
#:
#: A worker that dies fails its task at once, so that ``retries`` counts every
#: attempt; and the cluster never closes the nanny of a dead worker. (LocalCluster
#: closes a nanny when, ``lost-worker-timeout`` after one of its workers died, no
#: worker of that name is registered; measured: with deaths every few seconds, the
#: timer of an old death fired while the nanny was restarting the worker of a
#: later one, both nannies were closed and the sweep waited for ever.)
#:
#: The cluster's housekeeping is made rarer: on a machine with as many workers
#: as cores it takes its CPU from the runs. Idle, with Dask's defaults, the
#: client process (scheduler and nannies) used 5.5 % of a core and each worker
#: 4.5 % (measured, 2 workers); with these, 1 % and 0.4 %. The statistical
#: profiler (a stack sample of the running task every 10 ms, for the dashboard's
#: profile page) is off; the event loop's responsiveness check ticks every
#: second instead of every 20 ms (it still warns of a loop blocked for
#: ``distributed.admin.tick.limit``, 3 s); memory is checked against the
#: workers' limits every 0.5 s instead of 0.1 s, and the dashboard's system
#: monitor samples every 2 s instead of 0.5 s.
EMBEDDED_CLUSTER_CONFIG = {"distributed.scheduler.allowed-failures": 0,
                           "distributed.deploy.lost-worker-timeout": "100 days",
                           "distributed.worker.profile.enabled": False,
                           "distributed.admin.tick.interval": "1s",
                           "distributed.worker.memory.monitor-interval": "500ms",
                           "distributed.admin.system-monitor.interval": "2s"}

#: the largest resident size of the calling process, as a share of a
#: worker's memory limit, with which workers are forked from it (the rest is
#: for the runs; Dask pauses a worker at 80 % of its limit)
FORK_MEMORY_SHARE = 0.5

_forking_clusters = 0  # embedded clusters alive whose workers are forked
_fork_hooks_installed = False
_fork_hooks_lock = threading.Lock()


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def fork_allowed(n_workers, resident_bytes=None, total_bytes=None):
    """Whether the embedded cluster's ``n_workers`` workers may be forked
    from this process: on Linux, when this process's resident size is at most
    `FORK_MEMORY_SHARE` of a worker's memory limit (LocalCluster's default:
    the memory Dask sees, the machine's or its cgroup's, over the number of
    workers)."""
    if not sys.platform.startswith("linux"):
        return False
    if resident_bytes is None:
        import psutil

        resident_bytes = psutil.Process().memory_info().rss
    if total_bytes is None:
        from distributed.system import MEMORY_LIMIT

        total_bytes = MEMORY_LIMIT
    return resident_bytes <= FORK_MEMORY_SHARE * total_bytes / n_workers


def start_method(n_workers):
    """``'fork'`` or ``'spawn'``: how the embedded cluster's nannies start
    their worker processes (see the module's docstring)."""
    return "fork" if fork_allowed(n_workers) else "spawn"


def _install_fork_hooks():
    """``os.register_at_fork`` handlers that hold `brian2cppyy.cling.runtime.lock`
    across every fork made while an embedded cluster forks its workers (the
    handlers cannot be removed: they do nothing the rest of the time)."""
    global _fork_hooks_installed
    with _fork_hooks_lock:
        if _fork_hooks_installed:
            return
        held = threading.local()  # whether this thread's fork holds the lock

        def before():
            held.value = _forking_clusters > 0
            if held.value:
                compile_thread.wait_idle()  # its jobs take the lock
                runtime.lock.acquire()

        def after():
            if getattr(held, "value", False):
                held.value = False
                runtime.lock.release()

        os.register_at_fork(before=before, after_in_parent=after, after_in_child=after)
        _fork_hooks_installed = True


def _picklable(preferences):
    """The preferences that can be sent to the workers (a value that cannot
    be pickled stays the worker's own)."""
    import cloudpickle

    sendable = {}
    for key, value in preferences.items():
        try:
            cloudpickle.dumps(value)
        except Exception:
            continue
        sendable[key] = value
    return sendable


class Connection:
    """The Dask client of a sweep, and what to close afterwards: an embedded
    LocalCluster (processes, one thread each, `EMBEDDED_CLUSTER_CONFIG` and
    the start method set while it lives), or a client of our own for a
    scheduler address; a given Client is left unchanged. ``preferences``:
    what the workers' plugin applies (the caller's, for the embedded
    cluster; None, the workers' own, otherwise)."""

    def __init__(self, client, n_workers):
        from distributed import Client

        self.cluster = self.config = None
        self.forking = self.froze_caller = False
        self.preferences = None
        self.own_client = client is None or isinstance(client, str)
        if client is None:
            self._start_embedded(n_workers or _cores())
        elif isinstance(client, str):
            self.client = Client(client)
        elif isinstance(client, Client):
            self.client = client
        else:
            raise TypeError("sweep: client must be None, a distributed.Client or a "
                            f"scheduler address, not a {type(client).__name__}")

    def _start_embedded(self, n_workers):
        import dask
        from distributed import Client, LocalCluster

        from .worker import preference_snapshot

        self.preferences = _picklable(preference_snapshot())
        method = start_method(n_workers)
        self.config = dask.config.set(
            dict(EMBEDDED_CLUSTER_CONFIG, **{"distributed.worker.multiprocessing-method": method}))
        try:
            if method == "fork":
                self._prepare_caller_for_forks()
            self.cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True,
                dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        except BaseException:
            self.close()
            raise

    def _prepare_caller_for_forks(self):
        global _forking_clusters
        runtime.ready()  # once, here, instead of in every worker
        _install_fork_hooks()
        _forking_clusters += 1
        self.forking = True
        if gc.get_freeze_count() == 0:
            gc.freeze()
            self.froze_caller = True

    def workers(self):
        return len(self.client.scheduler_info()["workers"])

    def close(self):
        global _forking_clusters
        try:
            if self.own_client and getattr(self, "client", None) is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            if self.forking:
                _forking_clusters -= 1
                self.forking = False
            if self.froze_caller:
                gc.unfreeze()
                self.froze_caller = False
            if self.config is not None:
                self.config.__exit__(None, None, None)
                self.config = None
