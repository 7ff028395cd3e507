"""Thread page and inbox page over 1,000,000 messages, on SQLite and on PostgreSQL.

Rows are bulk-loaded (sqlite3 executemany, PostgreSQL COPY), not through the callback path; the
pages are read with the real query functions of responder/store/threads.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from responder.config import normalise_database_url
from responder.store.db import create_schema, make_engine, reading
from responder.store.threads import inbox_page, thread_page

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
THREADS = 10_000
BUSY_SHARE = 10  # one message in ten goes to the busiest thread
OUR = "447443332211"
START = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 50_000


@dataclass
class Timing:
    database: str
    query: str
    times_ms: list[float]


def thread_of(k: int) -> int:
    """Thread id of message k: thread 1 holds every tenth, the rest spread over the others."""
    return 1 if k % BUSY_SHARE == 0 else 2 + k % (THREADS - 1)


def message_rows(count: int) -> Iterator[tuple[Any, ...]]:
    for k in range(count):
        at = START + timedelta(seconds=k)
        inbound = k % 2 == 0
        yield (
            k + 1,
            thread_of(k),
            "in" if inbound else "out",
            "inbound" if inbound else "reply",
            f"message {k}: can you tell me the opening hours for today please",
            "received" if inbound else "sent",
            None if inbound else "hours",
            at,
            at,
        )


def thread_rows(count: int) -> list[tuple[Any, ...]]:
    last: dict[int, int] = {}
    for k in range(count):
        last[thread_of(k)] = k
    return [
        (
            tid,
            OUR,
            str(447700000000 + tid),
            START,
            START + timedelta(seconds=k),
            f"message {k}",
        )
        for tid, k in sorted(last.items())
    ]


MESSAGE_COLUMNS = "id, thread_id, direction, kind, text, status, rule_id, created_at, updated_at"
THREAD_COLUMNS = "id, our_number, their_number, created_at, last_activity_at, last_text"


def _sqlite_time(value: Any) -> Any:
    # The text form SQLAlchemy's SQLite DateTime stores.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def load_sqlite(engine: Engine, count: int) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        cursor.executemany(
            f"INSERT INTO threads ({THREAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
            [tuple(map(_sqlite_time, row)) for row in thread_rows(count)],
        )
        batch: list[tuple[Any, ...]] = []
        insert = f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ({', '.join('?' * 9)})"  # noqa: S608
        for row in message_rows(count):
            batch.append(tuple(map(_sqlite_time, row)))
            if len(batch) == CHUNK:
                cursor.executemany(insert, batch)
                batch.clear()
        cursor.executemany(insert, batch)
        cursor.execute("COMMIT")
    finally:
        raw.close()


def load_postgresql(engine: Engine, count: int) -> None:
    raw = engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY threads ({THREAD_COLUMNS}) FROM STDIN") as copy:
                for row in thread_rows(count):
                    copy.write_row(row)
            with cursor.copy(f"COPY messages ({MESSAGE_COLUMNS}) FROM STDIN") as copy:
                for row in message_rows(count):
                    copy.write_row(row)
            for table in ("threads", "messages"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
        connection.commit()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE threads")
            cursor.execute("VACUUM ANALYZE messages")
        connection.autocommit = False
    finally:
        raw.close()


@contextmanager
def sqlite_engine(workdir: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{workdir / 'bench.db'}", data_dir=workdir)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def postgresql_engine(url: str) -> Iterator[Engine]:
    """An engine on a schema of its own, dropped afterwards."""
    base = normalise_database_url(url)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    engine = make_engine(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def time_queries(engine: Engine, name: str, count: int, repeats: int) -> list[Timing]:
    typical = 2 + THREADS // 2
    with reading(engine) as conn:
        newest = inbox_page(conn, limit=THREADS // 2)
        assert len(newest) == THREADS // 2
        cursor = (newest[-1].last_activity_at, newest[-1].id)
        busy = thread_page(conn, 1, limit=100)
        assert len(busy) == 100
        assert busy[-1]["created_at"].tzinfo is not None
        middle = busy[0]["id"] - count // BUSY_SHARE // 2 * BUSY_SHARE
    queries: list[tuple[str, Callable[[Any], Any]]] = [
        ("thread page, newest 100 of the busiest thread (100,000 messages)",
         lambda c: thread_page(c, 1, limit=100)),
        ("thread page, 100 from the middle of the busiest thread",
         lambda c: thread_page(c, 1, limit=100, before_id=middle)),
        (f"thread page, a typical thread (~{count // THREADS} messages)",
         lambda c: thread_page(c, typical, limit=100)),
        ("inbox page, newest 50 threads", lambda c: inbox_page(c, limit=50)),
        (f"inbox page, 50 threads after the {THREADS // 2:,}th",
         lambda c: inbox_page(c, limit=50, before=cursor)),
    ]  # fmt: skip
    results = []
    for label, query in queries:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            with reading(engine) as conn:
                rows = query(conn)
            times.append((time.perf_counter() - start) * 1000)
            assert rows
        results.append(Timing(name, label, times))
    return results


def measure(workdir: Path, *, count: int, repeats: int, pg_url: str | None) -> list[Timing]:
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[Timing] = []
    targets: list[tuple[str, Callable[[], Any], Callable[[Engine, int], None]]] = [
        ("SQLite", lambda: sqlite_engine(workdir), load_sqlite)
    ]
    if pg_url:
        targets.append(("PostgreSQL", lambda: postgresql_engine(pg_url), load_postgresql))
    for name, open_engine, load in targets:
        with open_engine() as engine:
            create_schema(engine)
            start = time.perf_counter()
            load(engine, count)
            print(f"  {name}: {count:,} messages loaded in {time.perf_counter() - start:.0f} s")
            results += time_queries(engine, name, count, repeats)
    return results


def report(results: list[Timing], machine: str, *, count: int, repeats: int) -> str:
    from bench.stats import median, percentile

    rows = []
    worst = 0.0
    for r in results:
        p50 = median(r.times_ms)
        worst = max(worst, p50)
        rows.append(
            f"| {r.database} | {r.query} | {p50:.2f} | {percentile(r.times_ms, 0.99):.2f} | "
            f"{min(r.times_ms):.2f}–{max(r.times_ms):.2f} |"
        )
    databases = " and ".join(dict.fromkeys(r.database for r in results))
    return "\n".join(
        [
            machine,
            "",
            f"{count:,} messages in {THREADS:,} threads on {databases} (PostgreSQL: a schema "
            "of its own in the local server, dropped afterwards). One thread holds one message "
            "in ten, the others about a hundred each. Loaded with sqlite3 `executemany` and "
            "PostgreSQL `COPY` (then `VACUUM ANALYZE`; SQLite gets no `ANALYZE`, as in "
            "service). Pages are read with `thread_page` and `inbox_page` of "
            "`responder/store/threads.py` (what `responder threads show` and "
            f"`responder threads list` use), each {repeats} times, each time on a connection "
            "from the pool through `reading()`, as a request would.",
            "",
            "| database | page | median ms | p99 ms | min–max ms |",
            "|---|---|---:|---:|---:|",
            *rows,
            "",
            f"Target ≤ 50 ms each: {'met' if worst <= 50 else 'MISSED'} (slowest median "
            f"{worst:.2f} ms).",
        ]
    )
