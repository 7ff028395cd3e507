"""Outbound messages: check, encode, split and queue a text in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from responder.sms.segments import count_segments
from responder.sms.smart import smart_encode
from responder.sms.split import split_for_limit, validate_reply
from responder.store.outbox import enqueue
from responder.store.threads import Thread, append_message

# SendSmsMessage refuses bodies over 765 characters; longer replies go out as several messages.
MAX_REPLY_CHARS = 765


def queue_text(
    conn: Connection,
    thread: Thread,
    text: str,
    now: datetime,
    *,
    kind: str,
    rule_id: str | None = None,
    ruleset_version: str | None = None,
    reply_to_id: int | None = None,
    smart: bool = False,
) -> list[int]:
    """Store *text* as outbound message(s) of *thread* and queue them; return their ids."""
    validate_reply(text)
    if smart:
        text = smart_encode(text)
    ids = []
    for part in split_for_limit(text, MAX_REPLY_CHARS):
        count = count_segments(part)
        message_id = append_message(
            conn,
            thread,
            now,
            direction="out",
            kind=kind,
            text=part,
            rule_id=rule_id,
            ruleset_version=ruleset_version,
            reply_to_id=reply_to_id,
            encoding=count.encoding,
            segments=count.segments,
        )
        enqueue(conn, message_id, now)
        ids.append(message_id)
    return ids
