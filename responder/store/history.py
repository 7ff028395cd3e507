"""Provider history imported into threads (keyed by message id), and the progress of each sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from responder.store.rows import utc
from responder.store.tables import history_syncs, messages, threads
from responder.store.threads import get_or_create_thread, record_event, set_message_status

# An inbound message stored from a callback has no provider id; one from the history matches it
# when it is in the same thread, within this much time, with the same text when both have one.
INBOUND_MATCH_WINDOW = timedelta(minutes=10)
# Statuses the history may move a message on to: a later word never goes back to an earlier one.
FINAL_STATUSES = ("delivered", "failed")


@dataclass(frozen=True)
class HistoryMessage:
    """One message as a provider's history lists it, in our terms."""

    provider: str
    provider_message_id: str
    direction: str  # in | out
    our_number: str
    their_number: str
    text: str | None
    status: str
    at: datetime
    fragments: int | None = None
    error_text: str | None = None


@dataclass(frozen=True)
class HistorySync:
    """One sync of one history method: its fixed window and how far it got."""

    id: int
    method: str
    from_date: datetime | None
    to_date: datetime
    next_offset: int
    total: int | None
    imported: int
    skipped: int
    finished_at: datetime | None


def _sync(row: Any) -> HistorySync:
    return HistorySync(
        id=row.id,
        method=row.method,
        from_date=utc(row.from_date),
        to_date=utc(row.to_date),  # type: ignore[arg-type]
        next_offset=row.next_offset,
        total=row.total,
        imported=row.imported,
        skipped=row.skipped,
        finished_at=utc(row.finished_at),
    )


def find_unfinished_sync(conn: Connection, method: str) -> HistorySync | None:
    row = conn.execute(
        select(history_syncs)
        .where(history_syncs.c.method == method)
        .where(history_syncs.c.finished_at.is_(None))
        .order_by(history_syncs.c.id.desc())
        .limit(1)
    ).first()
    return _sync(row) if row else None


def find_last_finished_sync(conn: Connection, method: str) -> HistorySync | None:
    row = conn.execute(
        select(history_syncs)
        .where(history_syncs.c.method == method)
        .where(history_syncs.c.finished_at.is_not(None))
        .order_by(history_syncs.c.to_date.desc(), history_syncs.c.id.desc())
        .limit(1)
    ).first()
    return _sync(row) if row else None


def start_sync(
    conn: Connection, method: str, from_date: datetime | None, to_date: datetime, now: datetime
) -> HistorySync:
    sync_id: int = conn.execute(
        insert(history_syncs)
        .values(method=method, from_date=from_date, to_date=to_date, started_at=now)
        .returning(history_syncs.c.id)
    ).scalar_one()
    return _sync(conn.execute(select(history_syncs).where(history_syncs.c.id == sync_id)).one())


def save_progress(
    conn: Connection,
    sync_id: int,
    *,
    next_offset: int,
    total: int,
    imported: int,
    skipped: int,
    finished_at: datetime | None = None,
) -> None:
    """Record that every item before *next_offset* is stored; in the same transaction as they."""
    conn.execute(
        update(history_syncs)
        .where(history_syncs.c.id == sync_id)
        .values(
            next_offset=next_offset,
            total=total,
            imported=history_syncs.c.imported + imported,
            skipped=history_syncs.c.skipped + skipped,
            finished_at=finished_at,
        )
    )


def import_message(
    conn: Connection,
    item: HistoryMessage,
    now: datetime,
    *,
    thread_ids: dict[tuple[str, str], int] | None = None,
) -> bool:
    """Store *item* in its thread unless it is there already; True when it was added.

    *thread_ids* caches thread ids across the items of one transaction.
    """
    existing = conn.execute(
        select(messages.c.id, messages.c.status)
        .where(messages.c.provider == item.provider)
        .where(messages.c.provider_message_id == item.provider_message_id)
        .limit(1)
    ).first()
    if existing is not None:
        if item.status in FINAL_STATUSES and existing.status not in FINAL_STATUSES:
            set_message_status(
                conn, existing.id, item.status, now, detail=f"from {item.provider} history"
            )
        return False
    key = (item.our_number, item.their_number)
    cache = thread_ids if thread_ids is not None else {}
    if key not in cache:
        cache[key] = get_or_create_thread(conn, *key, item.at).id
    thread_id = cache[key]
    if item.direction == "in":
        adopted = _unnumbered_inbound(conn, thread_id, item)
        if adopted is not None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        update(messages)
                        .where(messages.c.id == adopted)
                        .values(
                            provider=item.provider, provider_message_id=item.provider_message_id
                        )
                    )
            except IntegrityError:
                pass  # a concurrent sync has just stored this id as a message of its own
            return False
    # Another sync may store the same id between our look above and this insert: the unique
    # index decides, and the loser skips the message.
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    message_id = conn.execute(
        dialect.insert(messages)
        .values(
            thread_id=thread_id,
            direction=item.direction,
            kind="inbound" if item.direction == "in" else "imported",
            text=item.text,
            status=item.status,
            provider=item.provider,
            provider_message_id=item.provider_message_id,
            fragments=item.fragments,
            error_text=item.error_text,
            created_at=item.at,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=[messages.c.provider, messages.c.provider_message_id],
            index_where=messages.c.provider_message_id.is_not(None),
        )
        .returning(messages.c.id)
    ).scalar_one_or_none()
    if message_id is None:
        return False
    record_event(conn, message_id, item.status, item.at, detail=f"from {item.provider} history")
    # Old messages must not make a thread look recently active.
    conn.execute(
        update(threads)
        .where(threads.c.id == thread_id)
        .where(threads.c.last_activity_at < item.at)
        .values(last_activity_at=item.at, last_text=item.text)
    )
    return True


def _unnumbered_inbound(conn: Connection, thread_id: int, item: HistoryMessage) -> int | None:
    query = (
        select(messages.c.id, messages.c.text)
        .where(messages.c.thread_id == thread_id)
        .where(messages.c.direction == "in")
        .where(messages.c.provider_message_id.is_(None))
        .where(messages.c.created_at >= item.at - INBOUND_MATCH_WINDOW)
        .where(messages.c.created_at <= item.at + INBOUND_MATCH_WINDOW)
        .order_by(messages.c.id)
    )
    for row in conn.execute(query):
        if item.text is None or row.text is None or row.text == item.text:
            return int(row.id)
    return None
