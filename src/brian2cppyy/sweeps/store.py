"""The on-disk store of a sweep: one file per finished run, written at once
and atomically, keyed by the run's key (`seeds.run_key`).

A record is written to a temporary file in the store's directory, flushed to
disk and renamed over its final name (``os.replace`` is atomic on POSIX), so
a sweep that dies - Ctrl-C, a killed job, a full disk - leaves either the
whole record or none of it, never a truncated one. Records are pickles: load
a store only if you trust whoever wrote it, as with any pickle.
"""

import os
import pickle
import tempfile

__all__ = ["RunStore"]

_SUFFIX = ".run.pkl"


class RunStore:
    """A directory of run records (created if missing)."""

    def __init__(self, directory):
        self.directory = os.fspath(directory)
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"sweep: cannot use '{self.directory}' as the store: {exc}") from exc
        if not os.path.isdir(self.directory):
            raise ValueError(f"sweep: the store '{self.directory}' is not a directory")

    def _path(self, key):
        return os.path.join(self.directory, key + _SUFFIX)

    def keys(self):
        """The keys of the records in the store."""
        return {name[: -len(_SUFFIX)] for name in os.listdir(self.directory)
                if name.endswith(_SUFFIX)}

    def load(self, key):
        """The record stored under ``key``, or None if there is none."""
        try:
            with open(self._path(key), "rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            return None

    def save(self, key, record):
        """Write ``record`` under ``key`` atomically (all of it, or nothing)."""
        fd, temporary = tempfile.mkstemp(prefix=".writing-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(record, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self._path(key))
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise
