"""The outbox: durable queue of messages to send, claimed atomically by any number of senders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from responder.store.db import reading
from responder.store.privacy import forget_text
from responder.store.rows import utc
from responder.store.tables import messages, outbox, send_gates, threads
from responder.store.threads import set_message_status

# PostgreSQL channel a commit that queued something notifies; senders in other processes LISTEN.
CHANNEL = "responder_outbox"
_NOTIFY = text("SELECT pg_notify(:channel, '')")
# The gate every send passes (pacing.ALL): its strikes count rate limits in a row.
ALL_GATE = "*"


@dataclass(frozen=True)
class Claim:
    """A message a sender holds the lease on, with what it needs to send it."""

    outbox_id: int
    message_id: int
    owner: str
    our_number: str
    their_number: str
    text: str
    attempts: int
    created_at: datetime
    request_id: str | None = None  # of the callback that caused it, for the logs
    kind: str = "reply"  # the message's kind; "webhook" rows are delivered by HTTP POST
    claimed_at: datetime | None = None
    # An earlier attempt may have reached the provider unseen since this time: look first.
    uncertain_since: datetime | None = None
    # Rate limits in a row when it was claimed: a send that goes through resets them.
    strikes: int = 0


def enqueue(
    conn: Connection, message_id: int, now: datetime, due_at: datetime | None = None
) -> int:
    """Queue *message_id* for sending at *due_at* (now by default); senders hear of it at commit."""
    values = {"message_id": message_id, "due_at": due_at or now, "created_at": now}
    outbox_id: int = conn.execute(_ENQUEUE, values).scalar_one()
    if conn.dialect.name == "postgresql":
        notify(conn)
    return outbox_id


# Built once, as _RELEASE below: each reply and each send runs them.
_ENQUEUE = insert(outbox).returning(outbox.c.id)


def notify(conn: Connection) -> None:
    """Wake every PostgreSQL sender at commit: there is work (repeats in a transaction fold)."""
    conn.execute(_NOTIFY, {"channel": CHANNEL})


def claim_due(
    engine: Engine, owner: str, now: datetime, *, lease_s: float = 60.0, limit: int = 10
) -> list[Claim]:
    """Claim up to *limit* due messages; safe to call from many threads and processes.

    One conditional UPDATE takes the rows: on SQLite under the write lock, on PostgreSQL with
    FOR UPDATE SKIP LOCKED so that concurrent senders take different rows without waiting. A
    row whose lease ran out is taken back; its holder died or hung, perhaps mid-send, so the row
    is marked uncertain and the provider's history is checked before it is sent again.
    """
    lease_until = now + timedelta(seconds=lease_s)
    due = (
        select(outbox.c.id)
        .where(outbox.c.due_at <= now)
        .where((outbox.c.lease_until.is_(None)) | (outbox.c.lease_until < now))
        .order_by(outbox.c.due_at, outbox.c.id)
        .limit(limit)
    )
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        # The SET expressions read the row as it was before this UPDATE.
        expired = outbox.c.lease_until.is_not(None)
        claimed = list(
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(due.scalar_subquery()))
                .values(
                    lease_owner=owner,
                    lease_until=lease_until,
                    claimed_at=now,
                    uncertain_since=case(
                        (
                            expired,
                            func.coalesce(
                                outbox.c.uncertain_since, outbox.c.claimed_at, outbox.c.created_at
                            ),
                        ),
                        else_=outbox.c.uncertain_since,
                    ),
                )
                .returning(outbox.c.id)
            ).scalars()
        )
        if not claimed:
            return []
        rows = conn.execute(
            select(
                outbox.c.id,
                outbox.c.message_id,
                outbox.c.uncertain_since,
                threads.c.our_number,
                threads.c.their_number,
                messages.c.text,
                messages.c.attempts,
                messages.c.created_at,
                messages.c.request_id,
                messages.c.kind,
                messages.c.status,
                select(send_gates.c.strikes)
                .where(send_gates.c.name == ALL_GATE)
                .scalar_subquery()
                .label("strikes"),
            )
            .join(messages, messages.c.id == outbox.c.message_id)
            .join(threads, threads.c.id == messages.c.thread_id)
            .where(outbox.c.id.in_(claimed))
            .order_by(outbox.c.due_at, outbox.c.id)
        ).all()
        for row in rows:
            detail = f"attempt {row.attempts + 1} by {owner}"
            if row.status == "sending":  # still so: its sender never came back to it
                detail += "; taken back from a sender whose lease ran out"
            set_message_status(conn, row.message_id, "sending", now, detail=detail)
    return [
        Claim(
            outbox_id=row.id,
            message_id=row.message_id,
            owner=owner,
            our_number=row.our_number,
            their_number=row.their_number,
            text=row.text or "",
            attempts=row.attempts,
            created_at=utc(row.created_at),  # type: ignore[arg-type]
            request_id=row.request_id,
            kind=row.kind,
            claimed_at=now,
            uncertain_since=utc(row.uncertain_since),
            strikes=row.strikes or 0,
        )
        for row in rows
    ]


def _release(conn: Connection, claim: Claim) -> bool:
    """Remove the outbox row if we still hold its lease; False when another sender took it."""
    result = conn.execute(_RELEASE, {"outbox_id": claim.outbox_id, "owner": claim.owner})
    return result.rowcount == 1


_RELEASE = (
    delete(outbox)
    .where(outbox.c.id == bindparam("outbox_id"))
    .where(outbox.c.lease_owner == bindparam("owner"))
)


def mark_sent(
    engine: Engine,
    claim: Claim,
    now: datetime,
    *,
    provider: str,
    provider_message_id: str | None,
    fragments: int | None,
    detail: str | None = None,
    keep_text: bool = True,
    clear_strikes: bool = False,
) -> bool:
    """Record that the provider accepted the message; False if our lease had run out meanwhile.

    One write transaction; with *clear_strikes* it also resets the rate-limit strikes (a send
    went through, so the next rate limit's pause starts from the shortest again).
    """
    with engine.begin() as conn:
        held = _release(conn, claim)
        if not held:
            # Another sender took the row back and may send it too; what we sent stays recorded.
            conn.execute(delete(outbox).where(outbox.c.id == claim.outbox_id))
        via = f"{provider} id {provider_message_id}" if provider_message_id else provider
        set_message_status(
            conn,
            claim.message_id,
            "sent",
            now,
            detail=f"{via}; {detail}" if detail else via,
            provider=provider,
            provider_message_id=provider_message_id,
            fragments=fragments,
            attempts=claim.attempts + 1,
            error_code=None,
            error_text=None,
        )
        if not keep_text:
            forget_text(conn, claim.message_id)
        if clear_strikes:
            conn.execute(
                update(send_gates)
                .where(send_gates.c.name == ALL_GATE)
                .where(send_gates.c.strikes != 0)
                .values(strikes=0)
            )
    return held


def mark_retry(
    engine: Engine,
    claim: Claim,
    now: datetime,
    *,
    due_at: datetime,
    error_code: str | None,
    error_text: str,
    count_attempt: bool = True,
    uncertain_since: datetime | None = None,
) -> None:
    """Put the message back in the queue for another try at *due_at*."""
    with engine.begin() as conn:
        result = conn.execute(
            update(outbox)
            .where(outbox.c.id == claim.outbox_id)
            .where(outbox.c.lease_owner == claim.owner)
            .values(
                due_at=due_at, lease_until=None, lease_owner=None, uncertain_since=uncertain_since
            )
        )
        if result.rowcount != 1:
            return
        set_message_status(
            conn,
            claim.message_id,
            "errored",
            now,
            detail=f"retry at {due_at.isoformat(timespec='seconds')}: {error_text}",
            attempts=claim.attempts + (1 if count_attempt else 0),
            error_code=error_code,
            error_text=error_text,
        )


def mark_failed(
    engine: Engine,
    claim: Claim,
    now: datetime,
    *,
    reason: str,
    error_code: str | None = None,
    error_text: str | None = None,
    attempted: bool = True,
    keep_text: bool = True,
) -> None:
    """Give up on the message for good, keeping why."""
    with engine.begin() as conn:
        if not _release(conn, claim):
            return  # another sender holds it now and decides its fate
        set_message_status(
            conn,
            claim.message_id,
            "failed",
            now,
            detail=reason if not error_text else f"{reason}: {error_text}",
            attempts=claim.attempts + (1 if attempted else 0),
            error_code=error_code or reason,
            error_text=error_text or reason,
        )
        if not keep_text:
            forget_text(conn, claim.message_id)


def release(
    engine: Engine, claims: list[Claim], now: datetime, *, due_at: datetime | None = None,
    reason: str,
) -> None:  # fmt: skip
    """Hand back claims that were not attempted, due again at *due_at* (at once by default)."""
    if not claims:
        return
    with engine.begin() as conn:
        for claim in claims:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id == claim.outbox_id)
                .where(outbox.c.lease_owner == claim.owner)
                .values(lease_until=None, lease_owner=None, due_at=due_at or now)
            )
            if result.rowcount == 1:
                set_message_status(conn, claim.message_id, "queued", now, detail=reason)


def has_due(engine: Engine, now: datetime) -> bool:
    """Whether a row can be claimed at *now*; a read (an index range), so no write lock."""
    with reading(engine) as conn:
        found = conn.execute(
            select(outbox.c.id)
            .where(outbox.c.due_at <= now)
            .where((outbox.c.lease_until.is_(None)) | (outbox.c.lease_until < now))
            .limit(1)
        ).first()
    return found is not None


def next_due(engine: Engine) -> datetime | None:
    """When the next row becomes claimable: its due time, or when its lease runs out."""
    with reading(engine) as conn:
        at = conn.execute(
            select(func.min(func.coalesce(outbox.c.lease_until, outbox.c.due_at)))
        ).scalar_one()
    return utc(at)


def depth(conn: Connection) -> int:
    """How many messages wait in the outbox."""
    return conn.execute(select(func.count()).select_from(outbox)).scalar_one()
