"""The on-disk store of a sweep: one file per finished run, written at once
and atomically, keyed by the run's key (`seeds.run_key`).

A record is written to a temporary file in the store's directory, flushed to
disk and renamed over its final name (``os.replace`` is atomic on POSIX), so
a sweep that dies - Ctrl-C, a killed job, a full disk - leaves either the
whole record or none of it, never a truncated one. Records are pickles: load
a store only if you trust whoever wrote it, as with any pickle.

A store belongs to one function: its first sweep writes the function's name
(module and qualified name) to ``sweep.json``, and a sweep of another
function is refused, since run keys identify parameter values, not models.
"""

import dataclasses
import json
import os
import pickle
import tempfile

from .record import RunRecord

__all__ = ["RunStore"]

_SUFFIX = ".run.pkl"


class RunStore:
    """A directory of run records (created if missing)."""

    MANIFEST = "sweep.json"

    def __init__(self, directory, function_name):
        self.directory = os.fspath(directory)
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"sweep: cannot use '{self.directory}' as the store: {exc}") from exc
        if not os.path.isdir(self.directory):
            raise ValueError(f"sweep: the store '{self.directory}' is not a directory")
        self._claim(function_name)

    def _claim(self, function_name):
        path = os.path.join(self.directory, self.MANIFEST)
        try:
            with open(path) as f:
                owner = json.load(f)["function"]
        except FileNotFoundError:
            self._write_atomically(path, json.dumps({"function": function_name}).encode())
            return
        if owner != function_name:
            raise ValueError(
                f"sweep: the store '{self.directory}' holds runs of the function '{owner}', "
                f"not of '{function_name}'; give each function its own store directory")

    def _path(self, key):
        return os.path.join(self.directory, key + _SUFFIX)

    def keys(self):
        """The keys of the records in the store."""
        return {name[: -len(_SUFFIX)] for name in os.listdir(self.directory)
                if name.endswith(_SUFFIX)}

    def load(self, key):
        """The `RunRecord` stored under ``key``, or None if there is none
        (or if what is there is not a record's fields)."""
        try:
            with open(self._path(key), "rb") as f:
                fields = pickle.load(f)
        except FileNotFoundError:
            return None
        names = {f.name for f in dataclasses.fields(RunRecord)}
        if not isinstance(fields, dict) or set(fields) != names:
            return None
        return RunRecord(**fields)

    def save(self, key, record):
        """Write ``record`` (a `RunRecord`) under ``key`` atomically (all of
        it, or nothing); its fields are stored, not the class."""
        self._write_atomically(self._path(key), pickle.dumps(
            dataclasses.asdict(record), protocol=pickle.HIGHEST_PROTOCOL))

    def _write_atomically(self, path, data):
        fd, temporary = tempfile.mkstemp(prefix=".writing-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise
