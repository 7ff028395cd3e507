"""Quarantined callbacks: add (capped in size and count), list, get, record a replay."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from responder.store.db import reading
from responder.store.rows import utc
from responder.store.tables import quarantined_callbacks as table

MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class QuarantinedCallback:
    """One refused callback request, as kept."""

    id: int
    received_at: datetime
    request_id: str | None
    remote_addr: str | None
    route: str
    failed_check: str
    reason: str
    checks: list[dict[str, Any]]
    status_code: int
    headers: dict[str, str]
    body: bytes
    body_size: int
    replayed_at: datetime | None
    replay_result: dict[str, Any] | None

    @property
    def truncated(self) -> bool:
        return self.body_size > len(self.body)


def _row(row: Any) -> QuarantinedCallback:
    return QuarantinedCallback(
        id=row.id,
        received_at=utc(row.received_at),  # type: ignore[arg-type]
        request_id=row.request_id,
        remote_addr=row.remote_addr,
        route=row.route,
        failed_check=row.failed_check,
        reason=row.reason,
        checks=json.loads(row.checks),
        status_code=row.status_code,
        headers=json.loads(row.headers),
        body=bytes(row.body),
        body_size=row.body_size,
        replayed_at=utc(row.replayed_at),
        replay_result=json.loads(row.replay_result) if row.replay_result else None,
    )


def blank_sms_bodies(body: bytes) -> bytes:
    """*body* with every `sms_body` value emptied and all else kept; nothing if it is not JSON.

    The hash of a callback does not cover the text, so a blanked callback still verifies and
    its replay stores the message's metadata. A body that cannot be read may hold text
    anywhere, so none of it is kept.
    """
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return b""
    return json.dumps(_blanked(parsed), ensure_ascii=False).encode("utf-8")


def _blanked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: ("" if isinstance(item, str) else None) if key == "sms_body" else _blanked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_blanked(item) for item in value]
    return value


def add_quarantined(
    conn: Connection,
    now: datetime,
    *,
    body: bytes,
    keep: int,
    keep_texts: bool = True,
    **values: Any,
) -> int:
    """Keep one refused request (body cut at 64 KiB); drop the oldest beyond *keep* rows.

    Without *keep_texts* (RESPONDER_STORE_BODIES=false) the message texts are blanked first.
    """
    if not keep_texts:
        body = blank_sms_bodies(body)
    values["checks"] = json.dumps(values.get("checks", []), ensure_ascii=False)
    values["headers"] = json.dumps(values.get("headers", {}), ensure_ascii=False)
    new_id: int = conn.execute(
        insert(table)
        .values(received_at=now, body=body[:MAX_BODY_BYTES], body_size=len(body), **values)
        .returning(table.c.id)
    ).scalar_one()
    cutoff = select(table.c.id).order_by(table.c.id.desc()).offset(keep).limit(1)
    conn.execute(delete(table).where(table.c.id <= cutoff.scalar_subquery()))
    return new_id


def list_quarantined(engine: Engine, *, limit: int = 50) -> list[QuarantinedCallback]:
    """The newest quarantined requests first."""
    with reading(engine) as conn:
        rows = conn.execute(select(table).order_by(table.c.id.desc()).limit(limit))
        return [_row(r) for r in rows]


def count_quarantined(engine: Engine) -> int:
    with reading(engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def find_quarantined(engine: Engine, quarantine_id: int) -> QuarantinedCallback | None:
    with reading(engine) as conn:
        row = conn.execute(select(table).where(table.c.id == quarantine_id)).first()
        return _row(row) if row else None


def mark_replayed(
    engine: Engine, quarantine_id: int, now: datetime, result: dict[str, Any]
) -> None:
    """Record when the request was run through intake again and what came of it."""
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id == quarantine_id)
            .values(replayed_at=now, replay_result=json.dumps(result, ensure_ascii=False))
        )
