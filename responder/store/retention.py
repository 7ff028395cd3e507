"""Retention: purge what is older than a cutoff, in small batches; export messages as rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, exists, func, select

from responder.store.db import reading
from responder.store.rows import utc
from responder.store.tables import (
    message_events,
    messages,
    metadata,
    outbox,
    seen_callbacks,
    threads,
)

# Rows per delete statement: short transactions, so callbacks and senders never wait long.
BATCH = 1000

# Exported columns, in order; the thread's numbers come first.
EXPORT_COLUMNS = (
    "id",
    "thread_id",
    "our_number",
    "their_number",
    "direction",
    "kind",
    "status",
    "created_at",
    "updated_at",
    "text",
    "rule_id",
    "ruleset_version",
    "reply_to_id",
    "callback_id",
    "provider",
    "provider_message_id",
    "encoding",
    "segments",
    "fragments",
    "attempts",
    "error_code",
    "error_text",
)


@dataclass
class PurgeReport:
    """How many rows of each kind went (or would go, in a dry run)."""

    messages: int = 0
    events: int = 0
    threads: int = 0
    seen_callbacks: int = 0
    quarantined: int = 0


def _old_messages(cutoff: datetime) -> Any:
    # A message still waiting in the outbox is kept whatever its age.
    waiting = exists().where(outbox.c.message_id == messages.c.id)
    return select(messages.c.id).where(messages.c.created_at < cutoff).where(~waiting)


def _empty_threads(cutoff: datetime, *, dry_run: bool = False) -> Any:
    kept = exists().where(messages.c.thread_id == threads.c.id)
    if dry_run:  # the messages the purge would keep
        waiting = exists().where(outbox.c.message_id == messages.c.id)
        kept = kept.where((messages.c.created_at >= cutoff) | waiting)
    query = select(threads.c.id).where(threads.c.last_activity_at < cutoff).where(~kept)
    for table in metadata.tables.values():
        # Other state that points at a thread (a loop breaker, say) keeps it.
        for fk in table.foreign_keys:
            if fk.column.table is threads and table is not messages:
                query = query.where(~exists().where(fk.parent == threads.c.id))
    return query


def purge_older_than(engine: Engine, cutoff: datetime, *, dry_run: bool = False) -> PurgeReport:
    """Delete messages (with their history), emptied threads and dedupe keys older than *cutoff*.

    Consent records and opt-outs are kept: they are the proof a number asked to stop.
    """
    report = PurgeReport()
    quarantine = metadata.tables.get("quarantined_callbacks")
    if dry_run:
        with reading(engine) as conn:
            ids = _old_messages(cutoff).subquery()
            report.messages = conn.execute(select(func.count()).select_from(ids)).scalar_one()
            report.events = conn.execute(
                select(func.count()).where(message_events.c.message_id.in_(select(ids.c.id)))
            ).scalar_one()
            empty = _empty_threads(cutoff, dry_run=True).subquery()
            report.threads = conn.execute(select(func.count()).select_from(empty)).scalar_one()
            report.seen_callbacks = conn.execute(
                select(func.count()).where(seen_callbacks.c.received_at < cutoff)
            ).scalar_one()
            if quarantine is not None:
                report.quarantined = conn.execute(
                    select(func.count()).where(quarantine.c.received_at < cutoff)
                ).scalar_one()
        return report
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(_old_messages(cutoff).limit(BATCH)).scalars())
            if not ids:
                break
            report.events += conn.execute(
                delete(message_events).where(message_events.c.message_id.in_(ids))
            ).rowcount
            report.messages += conn.execute(delete(messages).where(messages.c.id.in_(ids))).rowcount
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(_empty_threads(cutoff).limit(BATCH)).scalars())
            if not ids:
                break
            report.threads += conn.execute(delete(threads).where(threads.c.id.in_(ids))).rowcount
    with engine.begin() as conn:
        report.seen_callbacks = conn.execute(
            delete(seen_callbacks).where(seen_callbacks.c.received_at < cutoff)
        ).rowcount
        if quarantine is not None:
            report.quarantined = conn.execute(
                delete(quarantine).where(quarantine.c.received_at < cutoff)
            ).rowcount
    return report


def iter_messages(
    engine: Engine, *, since: datetime | None = None, number: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every message (oldest first) with its thread's numbers, read in batches by id."""
    last_id = 0
    columns = [threads.c.our_number, threads.c.their_number] + [
        messages.c[name] for name in EXPORT_COLUMNS if name not in ("our_number", "their_number")
    ]
    while True:
        query = (
            select(*columns)
            .join(threads, threads.c.id == messages.c.thread_id)
            .where(messages.c.id > last_id)
            .order_by(messages.c.id)
            .limit(BATCH)
        )
        if since is not None:
            query = query.where(messages.c.created_at >= since)
        if number is not None:
            query = query.where(
                (threads.c.their_number == number) | (threads.c.our_number == number)
            )
        with reading(engine) as conn:
            rows = conn.execute(query).mappings().all()
        if not rows:
            return
        for row in rows:
            item = {name: row[name] for name in EXPORT_COLUMNS}
            item["created_at"] = utc(item["created_at"])
            item["updated_at"] = utc(item["updated_at"])
            yield item
        last_id = rows[-1]["id"]
