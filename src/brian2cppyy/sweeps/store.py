"""The on-disk store of a sweep: one file per finished run, written at once
and atomically, keyed by the run's key (`seeds.run_key`).

A record is written to a temporary file in the store's directory, flushed to
disk and renamed over its final name (``os.replace`` is atomic on POSIX), so
a sweep that dies - Ctrl-C, a killed job, a full disk - leaves either the
whole record or none of it, never a truncated one.

What is read back is data, never code: a record is a numpy ``.npz`` file
(a zip of ``.npy`` members, written and read without pickles) whose member
``record`` is a JSON text of the record's fields, its scalar outputs and
the names of its array outputs, and whose members ``array<i>`` hold the
arrays (and ``scalar<i>`` the scalars JSON has no exact form of: complex
numbers, bytes, as 0-d arrays). A file that does not read back as a valid
record (truncated by hand, another format, an object array) is reported as
absent, so its run is run again and the file replaced.

A store belongs to one function: its first sweep writes the function's name
(module and qualified name) to ``sweep.json``, and a sweep of another
function is refused, since run keys identify parameter values, not models.
"""

import io
import json
import os
import tempfile
import zipfile

import numpy as np

from .record import RunRecord

__all__ = ["RunStore"]

_SUFFIX = ".run.npz"
#: the text fields of a record, stored in its JSON member
_TEXT_FIELDS = ("status", "error", "traceback", "worker")


def _scalar_entry(name, value, members):
    """A scalar output in the JSON text (numbers, booleans and strings, exactly:
    Python's JSON keeps ints of any size and floats' full precision), or as a
    0-d array member (complex numbers, bytes)."""
    if type(value) in (bool, int, float, str):
        return {"name": name, "value": value}
    member = f"scalar{len(members)}"
    members.append((member, np.asarray(value)))
    return {"name": name, "member": member}


def _encode(record):
    """The bytes of the ``.npz`` file of ``record``; a `ValueError` if an
    output is not plain data (numpy refuses object arrays without pickles)."""
    members = []
    header = {name: getattr(record, name) for name in _TEXT_FIELDS}
    header.update(wall_s=record.wall_s, units=record.units,
                  scalars=[_scalar_entry(n, v, members) for n, v in record.scalars.items()],
                  arrays=list(record.arrays))
    members += [(f"array{i}", np.asarray(value)) for i, value in enumerate(record.arrays.values())]
    members.append(("record", np.asarray(json.dumps(header))))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in members:
            with archive.open(name + ".npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return buffer.getvalue()


def _valid_header(header):
    """Whether the JSON text of a record has the fields of one, of their types."""
    return (isinstance(header, dict)
            and header.get("status") in ("ok", "failed")
            and all(isinstance(header.get(name), str) for name in _TEXT_FIELDS)
            and type(header.get("wall_s")) in (int, float)
            and isinstance(header.get("units"), dict)
            and all(isinstance(k, str) and isinstance(v, str)
                    for k, v in header["units"].items())
            and isinstance(header.get("arrays"), list)
            and all(isinstance(name, str) for name in header["arrays"])
            and isinstance(header.get("scalars"), list)
            and all(isinstance(entry, dict) and isinstance(entry.get("name"), str)
                    and (isinstance(entry.get("member"), str)
                         or type(entry.get("value")) in (bool, int, float, str))
                    for entry in header["scalars"]))


def _decode(archive):
    """The `RunRecord` of an opened ``.npz`` file, or None if it is not one."""
    header = json.loads(str(archive["record"]))
    if not _valid_header(header):
        return None
    scalars = {entry["name"]: archive[entry["member"]].item() if "member" in entry
               else entry["value"] for entry in header["scalars"]}
    arrays = {name: archive[f"array{i}"] for i, name in enumerate(header["arrays"])}
    return RunRecord(**{name: header[name] for name in _TEXT_FIELDS},
                     wall_s=float(header["wall_s"]), units=header["units"],
                     scalars=scalars, arrays=arrays)


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
        """The `RunRecord` stored under ``key``, or None if there is none or
        the file is not a valid record."""
        try:
            with np.load(self._path(key), allow_pickle=False) as archive:
                return _decode(archive)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # not a record
            return None

    def save(self, key, record):
        """Write ``record`` (a `RunRecord`) under ``key`` atomically (all of
        it, or nothing)."""
        self._write_atomically(self._path(key), _encode(record))

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
