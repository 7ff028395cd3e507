"""The database engine: SQLite (WAL, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


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
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transactions, so BEGIN IMMEDIATE below takes the write lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A deferred transaction that later writes can fail with "database is locked" at once;
    # taking the write lock at BEGIN makes concurrent writers wait for busy_timeout instead.
    # Readers (see reading()) keep a plain BEGIN so they never queue behind writers.
    readonly = connection.get_execution_options().get("responder_readonly", False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for queries only; on SQLite it does not take the write lock."""
    with engine.connect() as conn:
        yield conn.execution_options(responder_readonly=True)


def create_schema(engine: Engine) -> tuple[str | None, str | None]:
    """Create the schema or upgrade it to the newest migration; safe from many processes at once."""
    from responder.migrations import upgrade

    return upgrade(engine)
