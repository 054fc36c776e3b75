"""The loop over Dask futures of a sweep (`Executor`): it submits the runs
that the store does not hold yet, collects each finished run into the
records (and the store) as it arrives, and resubmits runs whose worker died.

Failures are kept apart: an exception raised by the user's function is a
*failed run* (recorded on the worker, the sweep goes on); a worker that dies
while running a task is the cluster's failure, and the task is submitted
again up to ``retries`` times before the run is recorded as failed.

Only the run that was executing when its worker died is charged an attempt.
Dask cannot tell: it marks every task the dead worker had been given as
suspicious, also those only queued behind the one that killed it (measured:
one worker of one thread, runs [killer, innocent]: both came back as
``KilledWorker`` with ``allowed-failures`` = 0). So each worker announces
the task it starts (`worker.announce_start`, a round trip to the scheduler
before the function runs), and a ``KilledWorker`` whose task had not been
announced by its last worker is resubmitted without charge, at most
``FREE_RESUBMISSIONS`` times (a worker that dies before it can announce,
e.g. while unpickling, would otherwise loop).
"""

import time
import uuid

from .cluster import Connection
from .record import RunRecord

__all__ = ["Executor", "FREE_RESUBMISSIONS"]

#: how many times a run lost with a dead worker that had not started it is
#: resubmitted without charge (Dask's default ``allowed-failures``)
FREE_RESUBMISSIONS = 3


class Executor:
    """Submits the runs that are not in ``records`` yet, collects them into
    ``records`` (and the store) as they finish, resubmits the runs whose
    worker died, and keeps the progress bar up to date."""

    POLL_SECONDS = 0.1

    def __init__(self, function_bytes, runs, records, run_store, retries, progress):
        from .progress import ProgressBar

        self.function_bytes = function_bytes
        self.runs, self.records, self.store, self.retries = runs, records, run_store, retries
        self.reused = len(records)
        self.pending = [run for run in runs if run.index not in records]
        self.bar = ProgressBar(len(runs), self.reused, enabled=progress)
        self.token = uuid.uuid4().hex[:12]
        self.workers = 0
        self.done = self.failed = 0
        self.interrupted = False

    def run(self, client, n_workers):
        if not self.pending:
            self.bar.close(self.summary())
            return
        connection = Connection(client, n_workers)
        futures = []
        try:
            from .worker import SweepWorkerPlugin

            connection.client.register_plugin(SweepWorkerPlugin(connection.preferences))
            self.workers = connection.workers()
            self.bar.update(force=True)
            self._collect(connection.client, futures)
        except KeyboardInterrupt:
            self.interrupted = True
            connection.client.cancel([f for f in futures if not f.done()])
            raise
        finally:
            connection.close()
            self.bar.close(self.summary())

    def _submit(self, client, run, attempt, free):
        from .worker import run_pickled

        return client.submit(run_pickled, self.function_bytes, run.params, run.seed,
                             key=f"brian2cppyy-sweep-{self.token}-{run.index}-{attempt}-{free}",
                             pure=False)

    def _collect(self, client, futures):
        from distributed import as_completed

        which = {}  # key -> (run, attempts charged before this one, free resubmissions)
        for run in self.pending:
            future = self._submit(client, run, 0, 0)
            which[future.key] = (run, 0, 0)
            futures.append(future)
        completed = as_completed(futures)
        while not completed.is_empty():
            batch = completed.next_batch(block=False) if completed.has_ready() else []
            if not batch:
                self.bar.update()
                time.sleep(self.POLL_SECONDS)
                continue
            for future in batch:
                if future.status not in ("finished", "error", "cancelled"):
                    # finished, then lost with its worker before we took the result:
                    # Dask computes it again (measured: status 'lost', then 'finished')
                    completed.add(future)
                    continue
                run, attempt, free = which.pop(future.key)
                if future.status == "finished":
                    self._finish(run, future.result())
                else:
                    again = self._charge(future, run, attempt, free)
                    if again is not None:
                        retry = self._submit(client, run, *again)
                        which[retry.key] = (run, *again)
                        futures.append(retry)
                        completed.add(retry)
                future.release()
            self.bar.update(self.done, self.failed)

    def _charge(self, future, run, attempt, free):
        """``(attempt, free)`` of the resubmission of a run whose task failed
        outside the function, or None once the run is recorded as failed."""
        from distributed.scheduler import KilledWorker

        try:
            error = future.exception()
        except Exception as exc:  # e.g. cancelled by someone else
            error = exc
        if isinstance(error, KilledWorker):
            if free < FREE_RESUBMISSIONS and not _was_started(future.client, future.key, error):
                return attempt, free + 1  # only queued on the dead worker: not charged
            if attempt < self.retries:
                return attempt + 1, free
        self._finish(run, _lost_run(error, attempt))
        return None

    def _finish(self, run, record):
        # stored first: a Ctrl-C in between leaves a stored run that the
        # partial result lacks (reused on resume), never the reverse
        if record.ok and self.store is not None:
            self.store.save(run.key, record)
        self.records[run.index] = record
        self.done += 1
        if not record.ok:
            self.failed += 1

    def summary(self):
        from .progress import format_seconds

        ok = sum(r.ok for r in self.records.values())
        failed = len(self.records) - ok
        parts = [f"{len(self.records)} of {len(self.runs)} runs finished" if self.interrupted
                 else f"{len(self.runs)} runs", f"{ok} ok, {failed} failed"]
        parts.append(f"{self.done} run in {format_seconds(self.bar.elapsed())}"
                     + (f" on {self.workers} workers" if self.workers else ""))
        if self.reused:
            parts.append(f"{self.reused} from the store")
        return "sweep: " + "; ".join(parts)


def _was_started(client, key, error):
    """Whether the task ``key`` had started on the worker whose death failed
    it (``error``, a ``KilledWorker``): its announcement is among the recent
    ones of that worker (`worker.announce_start`)."""
    from .worker import started_topic

    events = client.get_events(started_topic(error.last_worker.address))
    return any(message == key for _, message in events)


def _lost_run(error, attempt):
    """The record of a run whose task failed outside the function."""
    from distributed.scheduler import KilledWorker

    if isinstance(error, KilledWorker):
        what = f"the worker died while running it ({attempt + 1} attempt" + \
               ("s)" if attempt else ")")
    else:
        what = "its task failed outside the function"
    return RunRecord(error=f"{what}: {type(error).__name__}: {error}")
