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
from responder.store.threads import histories, inbox_page, thread_page

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
THREADS = 10_000
BUSY_SHARE = 10  # one message in ten goes to the busiest thread
OUR = "447443332211"
START = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 50_000
SLOW_MS = 200.0
SLOW_REPEATS = 5


@dataclass
class Timing:
    database: str
    query: str
    times_ms: list[float]


def thread_of(k: int) -> int:
    """Thread id of message k: thread 1 holds every tenth, the rest spread over the others."""
    return 1 if k % BUSY_SHARE == 0 else 2 + k % (THREADS - 1)


RARE_WORD = "zebra"  # in one message of 100,000: what a search for a rare word finds


def message_rows(count: int) -> Iterator[tuple[Any, ...]]:
    for k in range(count):
        at = START + timedelta(seconds=k)
        inbound = k % 2 == 0
        word = RARE_WORD if k % 100_000 == 77_777 else "today"
        yield (
            k + 1,
            thread_of(k),
            "in" if inbound else "out",
            "inbound" if inbound else "reply",
            f"message {k}: can you tell me the opening hours for {word} please",
            "handled" if inbound else "sent",
            None if inbound else "hours",
            at,
            at,
        )


def event_rows(count: int) -> Iterator[tuple[Any, ...]]:
    """One status event per message (what each message's history shows at least)."""
    for k in range(count):
        yield (k + 1, k + 1, "handled" if k % 2 == 0 else "sent", START + timedelta(seconds=k))


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
EVENT_COLUMNS = "id, message_id, status, at"
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
        cursor.executemany(
            f"INSERT INTO message_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?)",  # noqa: S608
            (tuple(map(_sqlite_time, row)) for row in event_rows(count)),
        )
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
            with cursor.copy(f"COPY message_events ({EVENT_COLUMNS}) FROM STDIN") as copy:
                for row in event_rows(count):
                    copy.write_row(row)
            for table in ("threads", "messages", "message_events"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
        connection.commit()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE threads")
            cursor.execute("VACUUM ANALYZE messages")
            cursor.execute("VACUUM ANALYZE message_events")
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
    busy_less = count - count // BUSY_SHARE
    with reading(engine) as conn:
        newest = inbox_page(conn, limit=THREADS // 2)
        assert len(newest) == THREADS // 2
        cursor = (newest[-1].last_activity_at, newest[-1].id)
        busy = thread_page(conn, 1, limit=100)
        assert len(busy) == 100
        assert busy[-1]["created_at"].tzinfo is not None
        middle = busy[0]["id"] - count // BUSY_SHARE // 2 * BUSY_SHARE

    def page_with_history(c: Any, thread_id: int, before_id: int | None = None) -> Any:
        rows = thread_page(c, thread_id, limit=100, before_id=before_id)
        return rows, histories(c, [m["id"] for m in rows])

    queries: list[tuple[str, Callable[[Any], Any]]] = [
        (f"thread page, newest 100 of the busiest thread ({count // BUSY_SHARE:,} messages)",
         lambda c: page_with_history(c, 1)),
        ("thread page, 100 from the middle of the busiest thread",
         lambda c: page_with_history(c, 1, middle)),
        (f"thread page, a typical thread (~{busy_less // (THREADS - 1)} messages)",
         lambda c: page_with_history(c, typical)),
        ("inbox page, newest 50 threads", lambda c: inbox_page(c, limit=50)),
        (f"inbox page, 50 threads after the {THREADS // 2:,}th",
         lambda c: inbox_page(c, limit=50, before=cursor)),
        ("inbox search by number digits (`7700000123`)",
         lambda c: inbox_page(c, limit=50, number="7700000123")),
        ("inbox search, a word in every message (`hours`)",
         lambda c: inbox_page(c, limit=50, text="hours")),
        (f"inbox search, a word in one message of 100,000 (`{RARE_WORD}`)",
         lambda c: inbox_page(c, limit=50, text=RARE_WORD)),
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
            if times[-1] > SLOW_MS and len(times) >= SLOW_REPEATS:
                break  # a slow query: a few timings say enough
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
        if not r.query.startswith("inbox search"):
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
            f"{count:,} messages in {THREADS:,} threads, one status event each, on "
            f"{databases} (PostgreSQL: a schema of its own in the local server, dropped "
            "afterwards). One thread holds one message in ten, the others about a hundred "
            "each. Loaded with sqlite3 `executemany` and PostgreSQL `COPY` (then `VACUUM "
            "ANALYZE`; SQLite gets no `ANALYZE`, as in service). Read with the functions of "
            "`responder/store/threads.py`: a thread page is `thread_page` and `histories` (what "
            "the dashboard shows of a thread, and `responder threads show`); an inbox page is "
            "`inbox_page` (the dashboard's inbox and its search, `responder threads list`). "
            f"Each {repeats} times (5 when one takes over {SLOW_MS:.0f} ms), each time on a "
            "connection from the pool through `reading()`, as a request would.",
            "",
            "| database | page | median ms | p99 ms | min–max ms |",
            "|---|---|---:|---:|---:|",
            *rows,
            "",
            f"Target ≤ 50 ms for each thread and inbox page: {'met' if worst <= 50 else 'MISSED'} "
            f"(slowest median {worst:.2f} ms). The searches are shown for what they cost, not "
            "held to the target: a text search walks the messages of thread after thread, "
            "newest first, until it has a page of matches, so a rare word reads most of the "
            "table.",
        ]
    )
