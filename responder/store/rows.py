"""Small helpers shared by the store modules: UTC times and portable insert-or-ignore."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> int:
    """Insert *values* unless a row with the same *keys* exists; return the rows inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(table.c[keys[0]])
    )
    # RETURNING rather than rowcount: not every driver reports a count for this statement.
    return len(conn.execute(stmt).all())
