"""The on-disk store of the analysis cache: one SQLite file of text entries.

Several processes (sweep workers, jobs of a cluster on a shared file system)
may read and write the same cache. SQLite does the locking: the default
rollback journal (not WAL, which needs shared memory and fails on network
file systems) and a busy timeout; every access opens its own short
connection, so a cache that ``clear_cache('cppyy')`` deleted is simply
recreated. A row holds a key (hex digest), a kind, a JSON text of plain data,
the SHA-256 of that text, the environment fingerprint, its size and when it
was last used. Nothing executable is ever stored or loaded.

What is read back is untrusted: a value whose digest, fingerprint or JSON
does not match is reported once (a warning through Brian2's logger), deleted
if possible and treated as a miss. A cache that cannot be opened or written
(read-only or missing directory, a file in the way, a corrupt database)
means no cache -- never an exception for the user. The store keeps its total
size below a bound by deleting the least recently used entries.
"""

import hashlib
import json
import os
import sqlite3
import time

from ..log import get_logger
from ..preferences import ANALYSIS_CACHE_FILE as FILE_NAME

__all__ = ["AnalysisStore", "FILE_NAME"]

logger = get_logger(__name__)

#: how long a process waits for another one's write lock (seconds)
BUSY_TIMEOUT = 10.0
#: a hit refreshes an entry's "last used" time at most this often (seconds),
#: so that reading stays (mostly) free of writes
TOUCH_INTERVAL = 3600.0
#: eviction removes entries until the store is this fraction of its bound
EVICT_TO = 0.8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    value TEXT NOT NULL,
    value_sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    last_used REAL NOT NULL
)"""
_INDEX = "CREATE INDEX IF NOT EXISTS entries_last_used ON entries (last_used)"


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AnalysisStore:
    """The SQLite file ``FILE_NAME`` in ``directory``, bounded to ``max_bytes``."""

    def __init__(self, directory, max_bytes):
        self.directory = directory
        self.path = os.path.join(directory, FILE_NAME)
        self.max_bytes = max_bytes
        self._reported = set()

    # -- connections -------------------------------------------------------

    def _connect(self, create):
        """A connection, or None when there is no usable cache (reported once)."""
        if not create and not os.path.isfile(self.path):
            return None
        try:
            if create:
                os.makedirs(self.directory, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            self._report("open", f"cannot open the analysis cache '{self.path}' ({exc}); "
                         "running without it", warn=False)
            return None
        try:
            if create:
                connection.execute(_SCHEMA)
                connection.execute(_INDEX)
        except sqlite3.Error as exc:
            if not self._has_schema(connection):
                connection.close()
                self._report_database_error(exc)
                return None
        return connection

    @staticmethod
    def _has_schema(connection):
        try:
            connection.execute("SELECT key FROM entries LIMIT 0")
            return True
        except sqlite3.Error:
            return False

    def _report(self, what, message, warn=True):
        """Log a problem of the store once per process (a warning or debug)."""
        if what in self._reported:
            return
        self._reported.add(what)
        if warn:
            logger.warn(message, "problem")
        else:
            logger.debug(message, "problem")

    def _report_database_error(self, exc):
        if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
            self._report("readonly", f"the analysis cache '{self.path}' is read-only; "
                         "new results are not stored", warn=False)
        elif isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            self._report("locked", f"the analysis cache '{self.path}' stayed locked by "
                         f"another process for {BUSY_TIMEOUT:.0f} s; going on without it",
                         warn=False)
        else:
            self._report("database", f"the analysis cache '{self.path}' is unusable "
                         f"({type(exc).__name__}: {exc}); it is ignored. Delete it, "
                         "e.g. with clear_cache('cppyy').")

    # -- reading and writing -----------------------------------------------

    def get(self, key, kind, fingerprint):
        """The stored plain data for ``key``, or None (missing or invalid)."""
        connection = self._connect(create=False)
        if connection is None:
            return None
        try:
            row = self._read_row(connection, key)
            if row is None:
                return None
            value = self._validated(row, kind, fingerprint)
            self._after_read(connection, key, row, value)
            return value
        finally:
            connection.close()

    def _read_row(self, connection, key):
        try:
            return connection.execute(
                "SELECT kind, fingerprint, value, value_sha256, last_used FROM entries "
                "WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):  # an empty database: a miss
                self._report_database_error(exc)
            return None
        except sqlite3.Error as exc:
            self._report_database_error(exc)
            return None

    def _after_read(self, connection, key, row, value):
        """Delete an invalid entry; refresh the "last used" time of a valid one."""
        last_used = row[4]
        try:
            if value is None:
                connection.execute("DELETE FROM entries WHERE key = ?", (key,))
            elif not isinstance(last_used, float) or time.time() - last_used > TOUCH_INTERVAL:
                connection.execute("UPDATE entries SET last_used = ? WHERE key = ?",
                                   (time.time(), key))
        except sqlite3.Error as exc:
            self._report_database_error(exc)

    def _validated(self, row, kind, fingerprint):
        """The JSON value of a row, or None (with one warning) if it is not sound."""
        stored_kind, stored_fingerprint, text, sha, _ = row
        problem = None
        if not all(isinstance(x, str) for x in (stored_kind, stored_fingerprint, text, sha)):
            problem = "a field of the wrong type"
        elif stored_kind != kind or stored_fingerprint != fingerprint:
            problem = "it was written for another kind of result or another version"
        elif _sha256(text) != sha:
            problem = "its content does not match its digest (truncated or altered)"
        else:
            try:
                return json.loads(text)
            except ValueError:
                problem = "its content is not valid JSON"
        self._report("entry", f"an entry of the analysis cache '{self.path}' was ignored "
                     f"and will be recomputed: {problem}.")
        return None

    def reject(self, key, problem):
        """Delete an entry whose value the caller found unsound (one warning)."""
        self._report("entry", f"an entry of the analysis cache '{self.path}' was ignored "
                     f"and will be recomputed: {problem}.")
        connection = self._connect(create=False)
        if connection is None:
            return
        try:
            connection.execute("DELETE FROM entries WHERE key = ?", (key,))
        except sqlite3.Error as exc:
            self._report_database_error(exc)
        finally:
            connection.close()

    def put(self, key, kind, fingerprint, value):
        """Store plain data (JSON-serialisable) under ``key``; evict if too large."""
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        size = len(key) + len(text.encode("utf-8"))
        if size > self.max_bytes:
            return
        connection = self._connect(create=True)
        if connection is None:
            return
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, kind, fingerprint, text, _sha256(text), size, time.time()))
            self._evict(connection)
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            self._report_database_error(exc)
        finally:
            connection.close()

    def _evict(self, connection):
        """Delete least recently used entries while the store is over its bound."""
        (total,) = connection.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()
        if total <= self.max_bytes:
            return
        target = self.max_bytes * EVICT_TO
        rows = connection.execute("SELECT key, size FROM entries ORDER BY last_used").fetchall()
        doomed = []
        for key, size in rows:
            if total <= target:
                break
            doomed.append((key,))
            total -= size
        connection.executemany("DELETE FROM entries WHERE key = ?", doomed)

    def summary(self):
        """``{'entries': n, 'bytes': stored bytes, 'file_bytes': size on disk}``."""
        connection = self._connect(create=False)
        result = {"entries": 0, "bytes": 0, "file_bytes": 0}
        if connection is None:
            return result
        try:
            count, total = connection.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
            result.update(entries=count, bytes=total, file_bytes=os.path.getsize(self.path))
        except (sqlite3.Error, OSError) as exc:
            self._report_database_error(exc)
        finally:
            connection.close()
        return result
