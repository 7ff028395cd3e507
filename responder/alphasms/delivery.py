"""Poll AlphaSMS for the delivery state of messages it accepted and record what changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select

from responder.alphasms.client import AlphaSmsClient
from responder.alphasms.status import DeliveryState, DeliveryStatus
from responder.store.db import reading
from responder.store.tables import messages
from responder.store.threads import set_message_status

PROVIDER = "alphasms"
# Our statuses that may still change at the gateway.
OPEN_STATUSES = ("sent",)


@dataclass
class PollReport:
    """What one poll found: how many were asked about and which changed to what."""

    checked: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    unknown: list[str] = field(default_factory=list)  # ids the gateway could not report on
    last_id: int = 0  # our id of the last message asked about, to go on from next time


def poll_delivery(
    engine: Engine,
    client: AlphaSmsClient,
    now: Callable[[], datetime],
    *,
    limit: int = 500,
    after_id: int = 0,
    sent_since: datetime | None = None,
) -> PollReport:
    """Ask the gateway about up to *limit* sent messages; mark delivered or failed ones.

    Only messages with an id above *after_id*, and last changed at or after *sent_since*, are
    asked about: a caller that polls in small batches goes round all of them this way.
    """
    query = (
        select(messages.c.id, messages.c.provider_message_id)
        .where(messages.c.provider == PROVIDER)
        .where(messages.c.direction == "out")
        .where(messages.c.status.in_(OPEN_STATUSES))
        .where(messages.c.provider_message_id.is_not(None))
        .where(messages.c.id > after_id)
        .order_by(messages.c.id)
        .limit(limit)
    )
    if sent_since is not None:
        query = query.where(messages.c.updated_at >= sent_since)
    with reading(engine) as conn:
        rows = conn.execute(query).all()
    report = PollReport(checked=len(rows))
    if not rows:
        return report
    report.last_id = rows[-1].id
    by_id = {str(row.provider_message_id): row.id for row in rows}
    statuses = client.status(by_id)
    with engine.begin() as conn:
        for provider_id, status in statuses.items():
            message_id = by_id[provider_id]
            if status.state is DeliveryState.DELIVERED:
                report.delivered += 1
                set_message_status(conn, message_id, "delivered", now(), detail=_detail(status))
            elif status.state is DeliveryState.FAILED:
                report.failed += 1
                set_message_status(
                    conn,
                    message_id,
                    "failed",
                    now(),
                    detail=_detail(status),
                    error_code=str(status.code),
                    error_text=f"AlphaSMS delivery code {status.code}"
                    + (f" ({status.provider_text})" if status.provider_text else ""),
                )
            elif status.error is not None:
                report.unknown.append(f"{provider_id}: {status.error}")
            else:
                report.pending += 1
    return report


def _detail(status: DeliveryStatus) -> str:
    when = f" at {status.status_time}" if status.status_time else ""
    return f"alphasms code {status.code}{when}"
