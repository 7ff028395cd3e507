"""Outbox messages compliance keeps back: held for quiet hours, or failed as opted out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, or_, select, update

from responder.store.outbox import Claim
from responder.store.tables import messages, outbox, threads
from responder.store.threads import set_message_status

OPTED_OUT = "opted_out"
# Compliance answers must reach the person; URL forwards are not messages to them at all.
NEVER_WITHHELD = ("compliance", "webhook")


QUIET_HOURS = "quiet_hours"


def _mark_held(conn: Connection, message_id: int, now: datetime, detail: str) -> None:
    # The reason goes where both the dashboard and the CLI show it; sending clears it.
    set_message_status(
        conn, message_id, "held", now, detail=detail, error_code=QUIET_HOURS, error_text=detail
    )


def hold_queued(
    conn: Connection, message_ids: Sequence[int], until: datetime, now: datetime, detail: str
) -> None:
    """Move freshly queued messages to *until*; their thread shows them as held."""
    for message_id in message_ids:
        conn.execute(update(outbox).where(outbox.c.message_id == message_id).values(due_at=until))
        _mark_held(conn, message_id, now, detail)


def hold_claim(engine: Engine, claim: Claim, until: datetime, now: datetime, detail: str) -> bool:
    """Give back a claimed message to be sent at *until*, without counting an attempt."""
    with engine.begin() as conn:
        result = conn.execute(
            update(outbox)
            .where(outbox.c.id == claim.outbox_id)
            .where(outbox.c.lease_owner == claim.owner)
            .values(due_at=until, lease_until=None, lease_owner=None)
        )
        if result.rowcount != 1:
            return False
        _mark_held(conn, claim.message_id, now, detail)
    return True


def fail_waiting(
    conn: Connection, our_number: str | None, their_number: str, now: datetime
) -> list[int]:
    """Fail every unclaimed SMS (not a compliance answer) waiting for *their_number*: opted out.

    *our_number* None means from any of our numbers. Messages a sender holds right now are
    left to it: it checks again before sending.
    """
    query = (
        select(outbox.c.id, outbox.c.message_id)
        .join(messages, messages.c.id == outbox.c.message_id)
        .join(threads, threads.c.id == messages.c.thread_id)
        .where(threads.c.their_number == their_number)
        .where(messages.c.kind.not_in(NEVER_WITHHELD))
        .where(or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now))
    )
    if our_number is not None:
        query = query.where(threads.c.our_number == our_number)
    failed = []
    for outbox_id, message_id in conn.execute(query).all():
        gone = conn.execute(
            delete(outbox)
            .where(outbox.c.id == outbox_id)
            .where(or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now))
        )
        if gone.rowcount != 1:
            continue
        set_message_status(
            conn,
            message_id,
            "failed",
            now,
            detail=f"{OPTED_OUT}: the recipient opted out",
            error_code=OPTED_OUT,
            error_text="the recipient opted out",
        )
        failed.append(message_id)
    return failed
