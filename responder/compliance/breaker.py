"""The loop breaker: a thread that looks like a loop gets no automatic replies for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from responder.compliance.settings import BreakerSettings
from responder.compliance.words import normalise_words
from responder.store.rows import insert_ignore, utc
from responder.store.tables import breakers, messages

AUTOMATIC = "reply"  # the kind of message the breaker counts; compliance answers are exempt


@dataclass(frozen=True)
class BreakerState:
    """Whether the breaker of one thread stops automatic replies now, and the trace entry."""

    open: bool
    check: dict[str, Any]
    until: datetime | None = None
    reason: str | None = None


def _seconds(value: float) -> str:
    if value % 60 == 0 and value >= 60:
        return f"{value / 60:g} min"
    return f"{value:g} s"


def check_breaker(
    conn: Connection, settings: BreakerSettings, thread_id: int, now: datetime
) -> BreakerState:
    """Open the thread's breaker when it loops (its newest inbound message is stored already)."""
    check: dict[str, Any] = {"check": "loop breaker"}
    if not settings.enabled:
        return BreakerState(False, {**check, "result": "off"})
    row = conn.execute(_BREAKER, {"thread_id": thread_id}).first()
    since = now - timedelta(seconds=settings.window_s)
    if row is not None:
        open_until = utc(row.open_until) or now
        if open_until > now:
            return BreakerState(
                True,
                {**check, "result": "open", "until": open_until.isoformat(), "reason": row.reason},
                open_until,
                row.reason,
            )
        # Only what happened after the last cool-down counts towards the next trip.
        since = max(since, open_until)
        check["closed_at"] = open_until.isoformat()
    reason = _loop_reason(conn, settings, thread_id, since)
    if reason is None:
        return BreakerState(False, {**check, "result": "closed"})
    until = now + timedelta(seconds=settings.cooldown_s)
    values = {"thread_id": thread_id, "opened_at": now, "open_until": until, "reason": reason}
    if not insert_ignore(conn, breakers, values, ["thread_id"]):
        conn.execute(
            update(breakers)
            .where(breakers.c.thread_id == thread_id)
            .values(opened_at=now, open_until=until, reason=reason, trips=breakers.c.trips + 1)
        )
    return BreakerState(
        True,
        {**check, "result": "opened", "until": until.isoformat(), "reason": reason},
        until,
        reason,
    )


def _recent_query() -> Any:
    """The newest messages of a thread that can make a loop, each row carrying the count of
    automatic replies in the window: one statement. No rows means no automatic reply either."""
    in_thread = (messages.c.thread_id == bindparam("thread_id")) & (
        messages.c.created_at >= bindparam("since")
    )
    replies_in_window = (
        select(func.count())
        .select_from(messages)
        .where(in_thread)
        .where(messages.c.direction == "out")
        .where(messages.c.kind == AUTOMATIC)
        .scalar_subquery()
    )
    return (
        select(
            messages.c.direction,
            messages.c.kind,
            messages.c.text,
            messages.c.created_at,
            replies_in_window.label("replies"),
        )
        .where(in_thread)
        .where(messages.c.kind.in_(["inbound", AUTOMATIC]))
        .order_by(messages.c.id.desc())
        .limit(bindparam("rows"))
    )


# Built once, like the breaker lookup: only the parameters change from one message to the next.
_RECENT = _recent_query()
_BREAKER = select(breakers).where(breakers.c.thread_id == bindparam("thread_id"))


def _loop_reason(
    conn: Connection, settings: BreakerSettings, thread_id: int, since: datetime
) -> str | None:
    wanted = max(settings.pingpong_count, settings.repeats)
    recent = conn.execute(
        _RECENT, {"thread_id": thread_id, "since": since, "rows": wanted * 2 + 1}
    ).all()
    replies = recent[0].replies if recent else 0
    if replies >= settings.max_replies:
        return (
            f"more than {settings.max_replies} automatic replies within "
            f"{_seconds(settings.window_s)}"
        )
    texts = [normalise_words(r.text or "") for r in recent if r.direction == "in"]
    if len(texts) >= settings.repeats and texts[0] and len(set(texts[: settings.repeats])) == 1:
        return f"the same message arrived {settings.repeats} times in a row"
    quick = 0
    for newer, older in pairwise(recent):
        if newer.direction != "in":
            continue
        gap = (newer.created_at - older.created_at).total_seconds()
        if older.direction != "out" or gap > settings.pingpong_s:
            break
        quick += 1
        if quick >= settings.pingpong_count:
            return (
                f"ping-pong: {quick} messages in a row arrived within "
                f"{_seconds(settings.pingpong_s)} of our reply"
            )
    return None
