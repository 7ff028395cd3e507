"""Delivery states from GetSmsHistory (`status_id`) for messages Voximplant accepted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from responder.store.db import reading
from responder.store.tables import messages
from responder.store.threads import set_message_status
from responder.voximplant.api import VoximplantClient

PROVIDER = "voximplant"
# status_id of a history item: 1 success, 2 error, 3 waiting.
DELIVERED, UNDELIVERED = 1, 2
# Sent messages older than this are no longer asked about.
LOOK_BACK = timedelta(days=3)
# History items carry the gateway's processing time, a little after our own record.
SLACK = timedelta(minutes=10)


@dataclass
class PollReport:
    """What one poll found."""

    checked: int = 0
    delivered: int = 0
    failed: int = 0


def poll_delivery(
    engine: Engine, client: VoximplantClient, now: datetime, *, limit: int = 500
) -> PollReport:
    """Ask GetSmsHistory about up to *limit* sent messages; mark delivered or failed ones."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(messages.c.id, messages.c.provider_message_id, messages.c.updated_at)
            .where(messages.c.status == "sent")
            .where(messages.c.updated_at >= now - LOOK_BACK)
            .where(messages.c.provider == PROVIDER)
            .where(messages.c.provider_message_id.is_not(None))
            .order_by(messages.c.updated_at)
            .limit(limit)
        ).all()
    report = PollReport(checked=len(rows))
    if not rows:
        return report
    by_id = {str(row.provider_message_id): row.id for row in rows}
    oldest = min(row.updated_at for row in rows)
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
    # message_id narrows the answer where the API supports it; the dates bound it where not.
    page = client.get_sms_history(
        direction="out", message_id=list(by_id), from_date=oldest - SLACK, count=1000
    )
    with engine.begin() as conn:
        for item in page.items:
            message_id = by_id.get(str(item.message_id))
            if message_id is None:
                continue
            if item.status_id == DELIVERED:
                report.delivered += 1
                set_message_status(
                    conn, message_id, "delivered", now, detail="GetSmsHistory status_id 1"
                )
            elif item.status_id == UNDELIVERED:
                report.failed += 1
                text = item.error_message or "not delivered"
                set_message_status(
                    conn,
                    message_id,
                    "failed",
                    now,
                    detail=f"undelivered: {text}",
                    error_code="undelivered",
                    error_text=text,
                )
    return report
