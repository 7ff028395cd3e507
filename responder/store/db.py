"""The database engine: SQLite (WAL, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

# How long a writer waits for its turn before giving up with "database is locked".
WRITE_WAIT_S = 30.0
# The longest pause between two tries of BEGIN IMMEDIATE while another process writes.
RETRY_PAUSE_S = 0.0005


def make_engine(url: str, *, data_dir: Path | None = None) -> Engine:
    """Create the engine for *url*; a SQLite file must live inside *data_dir*."""
    if url.startswith("sqlite:"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            file = Path(path).resolve()
            if data_dir is not None and not file.is_relative_to(data_dir.resolve()):
                raise ValueError(f"the SQLite database {file} is outside the data directory")
            file.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", sqlite_pragmas)
        _WriteQueue().attach(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transactions, so BEGIN IMMEDIATE below takes the write lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_S * 1000)}")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL, waiting while another process opening it at once holds it."""
    # The switch needs the file to itself and answers "locked" at once, without the busy
    # handler, when several processes open a new database together (gunicorn workers).
    _execute_until_unlocked(cursor, "PRAGMA journal_mode=WAL", first_pause=0.005)


def _execute_until_unlocked(
    cursor: Any, sql: str, *, first_pause: float, longest_pause: float | None = None
) -> None:
    """Run *sql*, again after a pause (doubling up to *longest_pause*) while the file is locked."""
    deadline = time.monotonic() + WRITE_WAIT_S
    pause = first_pause
    while True:
        try:
            cursor.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, longest_pause or first_pause)


class _WriteQueue:
    """Writers of one process take turns here rather than in SQLite's busy handler.

    SQLite lets one writer in at a time, and a connection that finds the write lock taken
    sleeps 1, 2, 5, 10 ... up to 100 ms between tries: under load the lock sits free while
    every waiter sleeps, and an unlucky writer waits seconds (bench/README.md, "SQLite
    writers"). Here the threads of a process queue on a lock that hands over at once, and the
    one at the head retries BEGIN IMMEDIATE every half millisecond or less while another
    process writes. SQLite's lock still guarantees one writer; this only decides who asks next.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the driver connection that has the turn

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "begin", self._begin)
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        # Release after COMMIT or ROLLBACK has run; the "commit" event comes before it.
        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self._release(dbapi_connection)

        def do_rollback(dbapi_connection: Any) -> None:
            try:
                rollback(dbapi_connection)
            finally:
                self._release(dbapi_connection)

        setattr(dialect, "do_commit", do_commit)  # noqa: B010 - this engine's dialect only
        setattr(dialect, "do_rollback", do_rollback)  # noqa: B010
        # A connection returned to the pool, invalidated or closed never keeps the turn.
        for name in ("reset", "checkin", "invalidate", "close", "close_detached"):
            event.listen(engine, name, self._release_from_pool)

    def _begin(self, connection: Connection) -> None:
        # Readers (see reading()) keep a plain BEGIN so they never queue behind writers.
        if connection.get_execution_options().get("responder_readonly", False):
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection = connection.connection.dbapi_connection
        key = id(dbapi_connection)
        if self._holder != key:
            if not self._lock.acquire(timeout=WRITE_WAIT_S):
                raise sqlite3.OperationalError("database is locked")
            self._holder = key
        try:
            _begin_immediate(dbapi_connection)
        except BaseException:
            self._release(dbapi_connection)
            raise

    def _release(self, dbapi_connection: Any) -> None:
        # Dialect methods get the pool's proxy, pool events the driver's connection.
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
        if raw is not None and self._holder == id(raw):
            self._holder = None
            self._lock.release()

    def _release_from_pool(self, dbapi_connection: Any, *_: Any) -> None:
        self._release(dbapi_connection)


def _begin_immediate(dbapi_connection: Any) -> None:
    """BEGIN IMMEDIATE, retried every half millisecond or less while another process writes."""
    # Taking the write lock at BEGIN: a deferred transaction that later writes can fail with
    # "database is locked" at once. SQLite's own busy handler would sleep 1, 2, 5 ... ms.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        take_write_lock(cursor)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_S * 1000)}")
        cursor.close()


def take_write_lock(cursor: Any) -> None:
    """BEGIN IMMEDIATE on a connection whose busy timeout is 0, tried until the lock is free."""
    _execute_until_unlocked(
        cursor, "BEGIN IMMEDIATE", first_pause=0.0001, longest_pause=RETRY_PAUSE_S
    )


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for queries only; on SQLite it does not take the write lock."""
    with engine.connect() as conn:
        yield conn.execution_options(responder_readonly=True)


def create_schema(engine: Engine) -> tuple[str | None, str | None]:
    """Create the schema or upgrade it to the newest migration; safe from many processes at once."""
    from responder.migrations import upgrade

    return upgrade(engine)
