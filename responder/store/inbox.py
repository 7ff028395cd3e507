"""The inbox: callbacks answered in queue mode, kept until the transaction that processes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, or_, select, update

from responder.store.db import reading
from responder.store.rows import utc
from responder.store.tables import inbox

# A callback whose processing failed this many times waits for `responder callbacks inbox
# --retry`; before that it is tried again after 1, 2, 4 ... seconds, at most a minute apart.
MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 60.0

_ADD = insert(inbox)
_READY = or_(inbox.c.not_before.is_(None), inbox.c.not_before <= bindparam("now"))
_TAKE = (
    select(inbox.c.id, inbox.c.account_id, inbox.c.callback_id, inbox.c.request_id)
    .add_columns(inbox.c.payload, inbox.c.attempts)
    .where(_READY)
    .where(inbox.c.attempts < MAX_ATTEMPTS)
    .order_by(inbox.c.id)
    .limit(bindparam("limit"))
)
_ANY_READY = select(inbox.c.id).where(_READY).where(inbox.c.attempts < MAX_ATTEMPTS).limit(1)
_REMOVE = delete(inbox).where(inbox.c.id == bindparam("inbox_id"))
_FAILED = (
    update(inbox)
    .where(inbox.c.id == bindparam("inbox_id"))
    .values(
        attempts=inbox.c.attempts + 1,
        not_before=bindparam("retry_at"),
        last_error=bindparam("error"),
    )
)


@dataclass(frozen=True)
class Queued:
    """One callback waiting to be processed."""

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


def add(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Keep callbacks until processed: account_id, callback_id, received_at, request_id, payload."""
    conn.execute(_ADD, rows)


def any_ready(engine: Engine, now: datetime) -> bool:
    """Whether a callback waits to be processed now; a read, so an idle loop never writes."""
    with reading(engine) as conn:
        return conn.execute(_ANY_READY, {"now": now}).first() is not None


def take(conn: Connection, now: datetime, limit: int) -> list[Queued]:
    """The oldest callbacks ready now, locked in *conn*'s transaction (skipped by other takers)."""
    stmt = _TAKE
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = conn.execute(stmt, {"now": now, "limit": limit}).all()
    return [Queued(*row) for row in rows]


def remove(conn: Connection, inbox_id: int) -> None:
    conn.execute(_REMOVE, {"inbox_id": inbox_id})


def record_failure(conn: Connection, item: Queued, now: datetime, error: str) -> None:
    """Count a failed attempt; the next is due after a pause that doubles each time."""
    pause = min(2.0**item.attempts, MAX_BACKOFF_S)
    values = {"inbox_id": item.id, "retry_at": now + timedelta(seconds=pause), "error": error}
    conn.execute(_FAILED, values)


def summary(conn: Connection) -> Summary:
    waiting, parked, oldest = conn.execute(
        select(
            func.count(),
            func.count().filter(inbox.c.attempts >= MAX_ATTEMPTS),
            func.min(inbox.c.received_at),
        ).select_from(inbox)
    ).one()
    return Summary(waiting, parked, utc(oldest))


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
