"""Seen callbacks: a unique key on (account_id, callback_id) makes each callback count once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update

from responder.store.rows import insert_ignore
from responder.store.tables import seen_callbacks


def remember(conn: Connection, account_id: int, callback_id: int, now: datetime) -> bool:
    """Record the callback; False when it was seen before (or is being stored concurrently)."""
    values = {"account_id": account_id, "callback_id": callback_id, "received_at": now}
    return insert_ignore(conn, seen_callbacks, values, ["account_id", "callback_id"]) == 1


def link_message(conn: Connection, account_id: int, callback_id: int, message_id: int) -> None:
    conn.execute(
        update(seen_callbacks)
        .where(seen_callbacks.c.account_id == account_id)
        .where(seen_callbacks.c.callback_id == callback_id)
        .values(message_id=message_id)
    )
