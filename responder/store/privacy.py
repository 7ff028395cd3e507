"""Privacy: drop the text of messages (RESPONDER_STORE_BODIES=false), keeping their metadata."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from responder.store.tables import messages, threads


def forget_text(conn: Connection, message_id: int) -> None:
    """Drop a message's text and what was derived from it; who, when, rule and status stay."""
    conn.execute(update(messages).where(messages.c.id == message_id).values(text=None, trace=None))
    thread_id = select(messages.c.thread_id).where(messages.c.id == message_id).scalar_subquery()
    conn.execute(update(threads).where(threads.c.id == thread_id).values(last_text=None))
