"""Read-only queries behind the dashboard's reports: rule hits and the consent ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from responder.store.rows import utc
from responder.store.tables import consent_ledger, messages


@dataclass(frozen=True)
class RuleHits:
    """How often each rule answered: per day since a date, and in all."""

    per_day: dict[str, dict[date, int]]
    total: dict[str, int]
    last_at: dict[str, datetime]


def rule_hits(conn: Connection, since: datetime) -> RuleHits:
    """Inbound messages decided by each rule: per UTC day from *since*, and ever."""
    at = messages.c.created_at
    day = (
        func.date(func.timezone("UTC", at)) if conn.dialect.name == "postgresql" else func.date(at)
    )
    decided = (messages.c.direction == "in") & messages.c.rule_id.is_not(None)
    per_day: dict[str, dict[date, int]] = defaultdict(dict)
    rows = conn.execute(
        select(messages.c.rule_id, day.label("day"), func.count())
        .where(decided)
        .where(at >= since)
        .group_by(messages.c.rule_id, day)
    )
    for rule_id, when, count in rows:
        per_day[rule_id][date.fromisoformat(str(when)[:10])] = count
    total: dict[str, int] = {}
    last_at: dict[str, datetime] = {}
    for rule_id, count, last in conn.execute(
        select(messages.c.rule_id, func.count(), func.max(at))
        .where(decided)
        .group_by(messages.c.rule_id)
    ):
        total[rule_id] = count
        last_at[rule_id] = utc(last)  # type: ignore[assignment]
    return RuleHits(dict(per_day), total, last_at)


def ledger_page(
    conn: Connection, *, limit: int, before_id: int | None = None, their_number: str | None = None
) -> list[dict[str, Any]]:
    """Consent ledger entries, newest first, those before *before_id* when given."""
    query = select(consent_ledger).order_by(consent_ledger.c.id.desc())
    if before_id is not None:
        query = query.where(consent_ledger.c.id < before_id)
    if their_number:
        query = query.where(consent_ledger.c.their_number == their_number)
    rows = conn.execute(query.limit(limit)).mappings()
    return [{**row, "at": utc(row["at"])} for row in rows]
