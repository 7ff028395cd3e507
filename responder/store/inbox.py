"""The inbox: callbacks answered in queue mode, kept until a sender has processed them.

With SQLite the inbox is a file of its own beside the database (`responder-inbox.db` next to
`responder.db`), and the answers do not write it: each process appends the callbacks it answers
to its journal (store/journal.py), and `gather` moves them into the inbox table before they are
taken. SQLite has one write lock per file, and a callback's answer must wait for no lock of
another process. With PostgreSQL the inbox is a table of the database, where row locks keep
the answers and the processing apart.

A row is leased while a sender processes it and deleted once its messages are stored. The
database's seen-callback key decides whether a callback is stored at all, so a row processed
twice (its sender died before deleting it) is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from responder.store import journal
from responder.store.db import make_engine, reading
from responder.store.outbox import notify
from responder.store.rows import utc
from responder.store.tables import inbox

# A callback whose processing failed this many times waits for `responder callbacks inbox
# --retry`; before that it is tried again after 1, 2, 4 ... seconds, at most a minute apart.
MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 60.0


# Built once (every queued callback runs one), the values passed at execution.
_ADD = (
    postgresql.insert(inbox)
    .on_conflict_do_nothing(index_elements=["account_id", "callback_id"])
    .returning(inbox.c.id)
)
_TAKEABLE = and_(
    or_(inbox.c.not_before.is_(None), inbox.c.not_before <= bindparam("now")),
    or_(inbox.c.lease_until.is_(None), inbox.c.lease_until <= bindparam("now")),
    inbox.c.attempts < MAX_ATTEMPTS,
)
_ANY = select(inbox.c.id).where(_TAKEABLE).limit(1)
_OLDEST = select(inbox.c.id).where(_TAKEABLE).order_by(inbox.c.id).limit(bindparam("limit"))
_COLUMNS = (
    inbox.c.id,
    inbox.c.account_id,
    inbox.c.callback_id,
    inbox.c.request_id,
    inbox.c.payload,
    inbox.c.attempts,
)
_REMOVE = delete(inbox).where(inbox.c.id.in_(bindparam("ids", expanding=True)))
_RELEASE = (
    update(inbox).where(inbox.c.id.in_(bindparam("ids", expanding=True))).values(lease_until=None)
)
_FAILED = (
    update(inbox)
    .where(inbox.c.id == bindparam("inbox_id"))
    .values(
        attempts=inbox.c.attempts + 1,
        lease_until=None,
        not_before=bindparam("retry_at"),
        last_error=bindparam("error"),
    )
)


@dataclass(frozen=True)
class Queued:
    """One callback taken for processing."""

    id: int
    account_id: int
    callback_id: int
    request_id: str | None
    payload: str
    attempts: int


@dataclass(frozen=True)
class Summary:
    waiting: int
    parked: int  # failed MAX_ATTEMPTS times: waits for an operator
    oldest: datetime | None


def inbox_engine(engine: Engine, data_dir: Path | None, *, create: bool = True) -> Engine:
    """Where the inbox lives: a SQLite file of its own beside a SQLite database, else *engine*.

    Without *create*, the file is used only when it exists (queue mode was on before).
    """
    database = _sqlite_file(engine)
    if database is None:
        return engine
    path = Path(database)
    file = path.with_name(f"{path.stem}-inbox{path.suffix}")
    if not create and not file.exists():
        return engine
    separate = make_engine(f"sqlite:///{file}", data_dir=data_dir)
    # Only callbacks in flight live here; the tables are made on first use, like the file.
    with separate.begin() as conn:
        inbox.create(conn, checkfirst=True)
        journal.journal_read.create(conn, checkfirst=True)
    return separate


def keep(engine: Engine, rows: list[dict[str, Any]]) -> list[bool]:
    """Keep callbacks (account_id, callback_id, received_at, request_id, payload); for each,
    False when it is known to be waiting already (a redelivery).

    On SQLite they go to this process's journal, and a redelivery is known when this process
    answered the first delivery. On PostgreSQL they are inserted in one transaction, which
    knows every redelivery still in the inbox, and wakes the senders (NOTIFY at commit).
    """
    database = _sqlite_file(engine)
    if database is not None:
        return journal.journal(journal.journal_dir(database)).append(rows)
    with engine.begin() as conn:
        # RETURNING rather than rowcount: not every driver reports a count for this statement.
        kept = [len(conn.execute(_ADD, row).all()) == 1 for row in rows]
        if any(kept):
            notify(conn)
    return kept


def _sqlite_file(engine: Engine) -> str | None:
    """The path of *engine*'s SQLite file; None for PostgreSQL (or SQLite in memory)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return database


def gather(engine: Engine) -> int:
    """Move the callbacks answered into the journal (SQLite) into the inbox table; how many."""
    database = _sqlite_file(engine)
    if database is None:
        return 0
    return journal.gather(engine, journal.journal_dir(database))


def any_ready(engine: Engine, now: datetime) -> bool:
    """Whether a callback waits to be processed now; a read, so an idle loop never writes."""
    with reading(engine) as conn:
        return conn.execute(_ANY, {"now": now}).first() is not None


def _take(oldest: Any) -> Any:
    return (
        update(inbox)
        .where(inbox.c.id.in_(oldest.scalar_subquery()))
        .values(lease_until=bindparam("until"))
        .returning(*_COLUMNS)
    )


_TAKE = {
    "postgresql": _take(_OLDEST.with_for_update(skip_locked=True)),
    "sqlite": _take(_OLDEST),
}


def take(engine: Engine, now: datetime, limit: int, *, lease_s: float) -> list[Queued]:
    """Lease the oldest callbacks ready now (at most *limit*) for *lease_s*, oldest first.

    A lease that runs out while its sender still works costs nothing but the work: the
    database's seen-callback key stores each callback once, whoever processes it.
    """
    stmt = _TAKE["postgresql" if engine.dialect.name == "postgresql" else "sqlite"]
    values = {"now": now, "limit": limit, "until": now + timedelta(seconds=lease_s)}
    with engine.begin() as conn:
        rows = conn.execute(stmt, values).all()
    return sorted((Queued(*row) for row in rows), key=lambda q: q.id)


def finish(
    engine: Engine,
    now: datetime,
    *,
    done: list[Queued],
    failed: list[tuple[Queued, str]],
    untouched: list[Queued],
) -> None:
    """After processing: forget the callbacks stored, count the failures, hand back the rest."""
    with engine.begin() as conn:
        if done:
            conn.execute(_REMOVE, {"ids": [q.id for q in done]})
        if untouched:
            conn.execute(_RELEASE, {"ids": [q.id for q in untouched]})
        for item, error in failed:
            pause = min(2.0**item.attempts, MAX_BACKOFF_S)
            retry_at = now + timedelta(seconds=pause)
            conn.execute(_FAILED, {"inbox_id": item.id, "retry_at": retry_at, "error": error})


def summary(engine: Engine) -> Summary:
    """The callbacks waiting, in the inbox table and (SQLite) still in the journal; a read."""
    with reading(engine) as conn:
        waiting, parked, oldest = conn.execute(
            select(
                func.count(),
                func.count().filter(inbox.c.attempts >= MAX_ATTEMPTS),
                func.min(inbox.c.received_at),
            ).select_from(inbox)
        ).one()
    oldest = utc(oldest)
    database = _sqlite_file(engine)
    if database is not None:
        journaled = journal.backlog(engine, journal.journal_dir(database))
        waiting += journaled.callbacks
        if oldest is None or (journaled.oldest is not None and journaled.oldest < oldest):
            oldest = journaled.oldest
    return Summary(waiting, parked, oldest)


def parked(conn: Connection, limit: int = 20) -> list[Any]:
    """The parked callbacks, oldest first, with the last error of each."""
    return list(
        conn.execute(
            select(
                inbox.c.id,
                inbox.c.account_id,
                inbox.c.callback_id,
                inbox.c.received_at,
                inbox.c.attempts,
                inbox.c.last_error,
            )
            .where(inbox.c.attempts >= MAX_ATTEMPTS)
            .order_by(inbox.c.id)
            .limit(limit)
        ).all()
    )


def retry_parked(engine: Engine) -> int:
    """Give every parked callback a fresh set of attempts; how many there were."""
    with engine.begin() as conn:
        result = conn.execute(
            update(inbox)
            .where(inbox.c.attempts >= MAX_ATTEMPTS)
            .values(attempts=0, not_before=None)
        )
    return int(result.rowcount or 0)
