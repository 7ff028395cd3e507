"""Broadcasts and their recipients: which destination got what, so a resumed run sends no copy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from responder.store.rows import utc
from responder.store.tables import broadcast_recipients, broadcasts

# Recipient statuses. `unknown`: the request may have reached Voximplant and no proof either
# way was found; such a recipient is never sent to again automatically.
PENDING, SENDING, SENT, FAILED, OPTED_OUT, UNKNOWN = (
    "pending",
    "sending",
    "sent",
    "failed",
    "opted_out",
    "unknown",
)
# In the recipient's quiet hours during a run: pending again at the start of the next run.
HELD = "held"
# The run saw its request fail without an answer and stopped: the next run settles these.
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Broadcast:
    """One broadcast: who sends what to how many, and whether it has finished."""

    id: int
    key: str
    sender: str
    text: str
    recipients: int
    invalid: int
    duplicates: int
    created_at: datetime
    finished_at: datetime | None


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=row.id,
        key=row.key,
        sender=row.sender,
        text=row.text,
        recipients=row.recipients,
        invalid=row.invalid,
        duplicates=row.duplicates,
        created_at=utc(row.created_at),  # type: ignore[arg-type]
        finished_at=utc(row.finished_at),
    )


def find_broadcast(conn: Connection, key: str) -> Broadcast | None:
    row = conn.execute(select(broadcasts).where(broadcasts.c.key == key)).first()
    return _broadcast(row) if row else None


def create_broadcast(
    conn: Connection,
    *,
    key: str,
    sender: str,
    text: str,
    numbers: Sequence[str],
    invalid: int,
    duplicates: int,
    now: datetime,
) -> Broadcast:
    """Store a new broadcast with every recipient pending, in list order."""
    broadcast_id: int = conn.execute(
        insert(broadcasts)
        .values(
            key=key,
            sender=sender,
            text=text,
            recipients=len(numbers),
            invalid=invalid,
            duplicates=duplicates,
            created_at=now,
        )
        .returning(broadcasts.c.id)
    ).scalar_one()
    if numbers:
        conn.execute(
            insert(broadcast_recipients),
            [
                {
                    "broadcast_id": broadcast_id,
                    "position": position,
                    "their_number": number,
                    "status": PENDING,
                    "updated_at": now,
                }
                for position, number in enumerate(numbers)
            ],
        )
    found = find_broadcast(conn, key)
    if found is None:  # inserted just above
        raise RuntimeError("broadcast row missing right after its insert")
    return found


def next_pending(
    conn: Connection, broadcast_id: int, limit: int, *, status: str = PENDING
) -> list[str]:
    """The next *limit* recipients still to send to (or in *status*), in list order."""
    return list(
        conn.execute(
            select(broadcast_recipients.c.their_number)
            .where(broadcast_recipients.c.broadcast_id == broadcast_id)
            .where(broadcast_recipients.c.status == status)
            .order_by(broadcast_recipients.c.position)
            .limit(limit)
        ).scalars()
    )


@dataclass(frozen=True)
class InFlight:
    """A recipient a request went out for whose answer was never recorded."""

    their_number: str
    status: str  # sending (a run may still be waiting for the answer) or interrupted
    sending_at: datetime | None


def in_flight(conn: Connection, broadcast_id: int) -> list[InFlight]:
    """Recipients a request went out for without its answer recorded."""
    rows = conn.execute(
        select(
            broadcast_recipients.c.their_number,
            broadcast_recipients.c.status,
            broadcast_recipients.c.sending_at,
        )
        .where(broadcast_recipients.c.broadcast_id == broadcast_id)
        .where(broadcast_recipients.c.status.in_([SENDING, INTERRUPTED]))
        .order_by(broadcast_recipients.c.position)
    ).all()
    return [InFlight(row.their_number, row.status, utc(row.sending_at)) for row in rows]


def claim_chunk(conn: Connection, broadcast_id: int, numbers: Sequence[str], now: datetime) -> bool:
    """Mark pending *numbers* as sending; False when another run took any of them first."""
    result = conn.execute(
        update(broadcast_recipients)
        .where(broadcast_recipients.c.broadcast_id == broadcast_id)
        .where(broadcast_recipients.c.their_number.in_(list(numbers)))
        .where(broadcast_recipients.c.status == PENDING)
        .values(status=SENDING, sending_at=now, updated_at=now)
    )
    return result.rowcount == len(numbers)


def set_status(
    conn: Connection,
    broadcast_id: int,
    numbers: Sequence[str],
    status: str,
    now: datetime,
    **values: Any,
) -> None:
    """Move *numbers* of a broadcast to *status* (with the columns in *values*)."""
    if status == SENDING:
        values.setdefault("sending_at", now)
    conn.execute(
        update(broadcast_recipients)
        .where(broadcast_recipients.c.broadcast_id == broadcast_id)
        .where(broadcast_recipients.c.their_number.in_(list(numbers)))
        .values(status=status, updated_at=now, **values)
    )


def release_held(conn: Connection, broadcast_id: int, now: datetime) -> None:
    """Recipients held for quiet hours by an earlier run become pending again."""
    conn.execute(
        update(broadcast_recipients)
        .where(broadcast_recipients.c.broadcast_id == broadcast_id)
        .where(broadcast_recipients.c.status == HELD)
        .values(status=PENDING, updated_at=now)
    )


def counts(conn: Connection, broadcast_id: int) -> dict[str, int]:
    """How many recipients are in each status."""
    rows = conn.execute(
        select(broadcast_recipients.c.status, func.count())
        .where(broadcast_recipients.c.broadcast_id == broadcast_id)
        .group_by(broadcast_recipients.c.status)
    ).all()
    return {status: count for status, count in rows}


def finish(conn: Connection, broadcast_id: int, now: datetime) -> None:
    conn.execute(update(broadcasts).where(broadcasts.c.id == broadcast_id).values(finished_at=now))
