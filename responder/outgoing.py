"""Operator-originated messages (manual replies, broadcasts): compliance first, then the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from responder.compliance.optout import is_opted_out
from responder.compliance.quiet import describe_hold, hold_until
from responder.errors import OptedOutError, ResponderError
from responder.numbers import normalise_number
from responder.replies import queue_text
from responder.services import Services
from responder.store.rows import utc
from responder.store.tables import messages
from responder.store.threads import get_or_create_thread, set_paused
from responder.store.withheld import hold_queued


class MessageTextError(ResponderError):
    """A message text that cannot be sent (empty, or nothing visible)."""


def queue_manual(
    conn: Connection,
    services: Services,
    our_number: str,
    their_number: str,
    text: str,
    *,
    kind: str = "manual",
    now: datetime | None = None,
) -> list[int]:
    """Queue one operator message in the caller's transaction; return the outbound message ids.

    Raises InvalidNumberError for a number that is not valid, OptedOutError when the
    recipient opted out, MessageTextError for an empty text. In quiet hours the message is
    stored and held until the window opens (its status is `held`), unless it answers a
    message that arrived within the grace time. A manual message to a thread whose automation
    is paused (handoff) pauses it for RESPONDER_HANDOFF_IDLE from now.
    """
    ours, theirs = normalise_number(our_number), normalise_number(their_number)
    now = now or services.clock()
    if is_opted_out(conn, ours, theirs):
        raise OptedOutError(ours, theirs)
    settings = services.config.compliance
    thread = get_or_create_thread(conn, ours, theirs, now)
    answers_id, answers_at = None, None
    if kind == "manual":
        last_in = conn.execute(
            select(messages.c.id, messages.c.created_at)
            .where(messages.c.thread_id == thread.id)
            .where(messages.c.direction == "in")
            .order_by(messages.c.id.desc())
            .limit(1)
        ).first()
        if last_in is not None:
            answers_id, answers_at = last_in.id, utc(last_in.created_at)
    try:
        ids = queue_text(conn, thread, text, now, kind=kind, reply_to_id=answers_id)
    except ValueError as exc:
        raise MessageTextError(f"cannot send this text: {exc}") from None
    if kind == "manual" and thread.is_paused(now):
        # A hand reply during a handoff: the person is still talking, so the pause runs on.
        set_paused(conn, thread.id, now + timedelta(seconds=services.config.handoff_idle_s))
    until = hold_until(theirs, kind, now, settings.quiet, answers_at=answers_at)
    if until is not None:
        hold_queued(conn, ids, until, now, describe_hold(theirs, until, settings.quiet))
    services.wakeup.set()
    return ids
