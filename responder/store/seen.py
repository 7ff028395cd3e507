"""Seen callbacks: a unique key on (account_id, callback_id) makes each callback count once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from responder.store.tables import seen_callbacks


def _remember(dialect: Any) -> Any:
    return (
        dialect.insert(seen_callbacks)
        .on_conflict_do_nothing(index_elements=["account_id", "callback_id"])
        .returning(seen_callbacks.c.account_id)
    )


# Built once (every callback runs both), the values passed at execution.
_REMEMBER = {"postgresql": _remember(postgresql), "sqlite": _remember(sqlite)}
_LINK = (
    update(seen_callbacks)
    .where(seen_callbacks.c.account_id == bindparam("account"))
    .where(seen_callbacks.c.callback_id == bindparam("callback"))
    .values(message_id=bindparam("message"))
)


def remember(conn: Connection, account_id: int, callback_id: int, now: datetime) -> bool:
    """Record the callback; False when it was seen before (or is being stored concurrently)."""
    stmt = _REMEMBER["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    values = {"account_id": account_id, "callback_id": callback_id, "received_at": now}
    # RETURNING rather than rowcount: not every driver reports a count for this statement.
    return len(conn.execute(stmt, values).all()) == 1


def link_message(conn: Connection, account_id: int, callback_id: int, message_id: int) -> None:
    values = {"account": account_id, "callback": callback_id, "message": message_id}
    conn.execute(_LINK, values)
