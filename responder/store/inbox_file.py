"""Queue mode's inbox file on SQLite: the answers' inserts, several requests per transaction.

A callback's answer waits until its rows are committed to `responder-inbox.db`. The threads of
a process that answer at the same time hand their rows to one of them, which inserts them all
in one transaction, a statement per CHUNK rows, while the others wait for its commit (group
commit): one lock, one commit and one write of each changed page for the group, where each
request used to take its own. The writes go through the sqlite3 module on one connection
per process; through SQLAlchemy's pool and events the insert cost about four times as much
(bench/README.md). Rows are stored as SQLAlchemy's SQLite types store them, and read back
through it.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import OperationalError

from responder.store.db import WRITE_WAIT_S, sqlite_pragmas, take_write_lock

# Rows per INSERT statement: 5 variables each, far below SQLite's limit of 32,766.
CHUNK = 200
_COLUMNS = "(account_id, callback_id, received_at, request_id, payload)"


@functools.cache
def _insert_sql(rows: int) -> str:
    """The INSERT of *rows* rows; only placeholders vary, and the driver caches each form."""
    values = ", ".join(["(?, ?, ?, ?, ?)"] * rows)
    return (
        f"INSERT INTO inbox {_COLUMNS} VALUES {values} "  # noqa: S608 - placeholders only
        "ON CONFLICT (account_id, callback_id) DO NOTHING RETURNING account_id, callback_id"
    )


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Request:
    """One request's rows, and once written, which were new or what went wrong."""

    rows: list[dict[str, Any]]
    kept: list[bool] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False
    # Held from the start; released once, by the thread that wrote these rows or that hands
    # this request's thread the turn to write. A plain lock: an Event costs a Condition and a
    # lock per wait.
    wake: threading.Lock = field(default_factory=_held_lock)


class InboxFile:
    """The inbox file of one SQLite database, written by the threads of this process.

    Each answering thread waits at most once: the writer wakes the requests it wrote, then
    hands its turn to the first that came while it wrote.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._waiting: list[_Request] = []
        self._writing = False

    def keep(self, rows: list[dict[str, Any]]) -> list[bool]:
        """Insert *rows*, committed when this returns; for each, False when already there.

        Raises SQLAlchemy's OperationalError when the file cannot be written (locked for
        longer than WRITE_WAIT_S, disk full): nothing of this request was kept.
        """
        mine = _Request(rows)
        with self._lock:
            self._waiting.append(mine)
            leading = not self._writing
            self._writing = True
        if not leading:
            mine.wake.acquire()  # written by the writer, or made the writer
        if not mine.done:
            self._lead(mine)
        if mine.error is not None:
            if isinstance(mine.error, sqlite3.Error):
                raise OperationalError("INSERT INTO inbox", None, mine.error)
            raise mine.error
        return mine.kept

    def _lead(self, mine: _Request) -> None:
        """Write every request waiting now (*mine* among them), wake their threads, then hand
        the turn to the first that came since."""
        with self._lock:
            group, self._waiting = self._waiting, []
        self._write(group)
        for request in group:
            if request is not mine:
                request.wake.release()
        with self._lock:
            if self._waiting:
                self._waiting[0].wake.release()  # its thread writes the next group
            else:
                self._writing = False

    def _write(self, group: list[_Request]) -> None:
        """Insert the rows of every request in *group* at once; each request learns how it
        went, and none is left waiting, whatever happens."""
        try:
            new = self._insert([row for request in group for row in request.rows])
            for request in group:
                request.kept = [_first_of(new, row) for row in request.rows]
        except BaseException as exc:  # handed to each waiting request, raised in its thread
            for request in group:
                request.error = exc
        finally:
            for request in group:
                request.done = True

    def _insert(self, rows: list[dict[str, Any]]) -> set[tuple[int, int]]:
        """Insert *rows* in one transaction, CHUNK rows per statement; the (account_id,
        callback_id) of those inserted."""
        conn = self._connection()
        take_write_lock(conn)
        try:
            new: set[tuple[int, int]] = set()
            for i in range(0, len(rows), CHUNK):
                chunk = rows[i : i + CHUNK]
                new |= _added(conn.execute(_insert_sql(len(chunk)), _values(chunk)))
            conn.execute("COMMIT")
        except BaseException:
            self._roll_back(conn)
            raise
        return new

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, timeout=WRITE_WAIT_S, check_same_thread=False)
            sqlite_pragmas(conn, None)  # the engine's own settings: WAL, synchronous
            # take_write_lock waits for the lock itself, retrying sooner than SQLite's handler.
            conn.execute("PRAGMA busy_timeout=0")
            self._conn = conn
        return self._conn

    def _roll_back(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            # A connection that cannot even roll back is replaced on the next write.
            self._conn = None
            conn.close()


def _values(rows: list[dict[str, Any]]) -> list[Any]:
    return [
        value
        for row in rows
        for value in (
            row["account_id"],
            row["callback_id"],
            _stored(row["received_at"]),
            row["request_id"],
            row["payload"],
        )
    ]


def _added(cursor: sqlite3.Cursor) -> set[tuple[int, int]]:
    return {(account_id, callback_id) for account_id, callback_id in cursor.fetchall()}


def _first_of(new: set[tuple[int, int]], row: dict[str, Any]) -> bool:
    """Whether *row* was inserted: the first of the group with its key takes it."""
    key = (row["account_id"], row["callback_id"])
    if key in new:
        new.discard(key)
        return True
    return False


def _stored(at: datetime) -> str:
    """A datetime as SQLAlchemy's SQLite DateTime stores it: UTC, no zone, microseconds."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


_FILES: dict[str, InboxFile] = {}
_FILES_LOCK = threading.Lock()


def inbox_file(path: str) -> InboxFile:
    """The one InboxFile of this process for *path*."""
    found = _FILES.get(path)
    if found is None:
        with _FILES_LOCK:
            found = _FILES.setdefault(path, InboxFile(path))
    return found
