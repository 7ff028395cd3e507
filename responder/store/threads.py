"""Threads and their messages: append inbound and outbound, state, pages for people to read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from responder.reasons import UNANSWERED, UNANSWERED_PREFIXES
from responder.request_ids import current_request_id
from responder.store.rows import insert_ignore, utc
from responder.store.tables import message_events, messages, threads

# Outbound messages that answer their latest message: automatic, compliance, or by hand.
ANSWER_KINDS = ("reply", "compliance", "manual")


@dataclass(frozen=True)
class Thread:
    """A conversation between one of our numbers and one of theirs."""

    id: int
    our_number: str
    their_number: str
    created_at: datetime
    last_activity_at: datetime
    last_text: str | None = None
    unread: int = 0
    state: str | None = None
    state_expires_at: datetime | None = None
    saved: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    paused_until: datetime | None = None
    # Its latest message got no reply that was due and nobody has answered it since (inbox only).
    unanswered: bool = False

    def live_state(self, now: datetime) -> str | None:
        """The conversation state unless it has expired."""
        if self.state and (self.state_expires_at is None or self.state_expires_at > now):
            return self.state
        return None

    def is_paused(self, now: datetime) -> bool:
        return self.paused_until is not None and self.paused_until > now

    def needs_human(self, now: datetime) -> bool:
        """Paused for a person, or left unanswered: someone should look at it."""
        return self.is_paused(now) or self.unanswered


def _thread(row: Any) -> Thread:
    return Thread(
        id=row.id,
        our_number=row.our_number,
        their_number=row.their_number,
        created_at=utc(row.created_at),  # type: ignore[arg-type]
        last_activity_at=utc(row.last_activity_at),  # type: ignore[arg-type]
        last_text=row.last_text,
        unread=row.unread,
        state=row.state,
        state_expires_at=utc(row.state_expires_at),
        saved=json.loads(row.saved or "{}"),
        tags=json.loads(row.tags or "[]"),
        paused_until=utc(row.paused_until),
        unanswered=bool(getattr(row, "unanswered", False)),
    )


def get_or_create_thread(
    conn: Connection, our_number: str, their_number: str, now: datetime
) -> Thread:
    """Return the thread of (our_number, their_number), creating it on first contact."""
    values = {
        "our_number": our_number,
        "their_number": their_number,
        "created_at": now,
        "last_activity_at": now,
    }
    insert_ignore(conn, threads, values, ["our_number", "their_number"])
    found = find_thread(conn, our_number, their_number)
    if found is None:  # inserted above or present already; only a vanished table gets here
        raise RuntimeError("thread row missing right after its insert")
    return found


def _receive_upsert(dialect: Any) -> Any:
    stmt = dialect.insert(threads)
    return stmt.on_conflict_do_update(
        index_elements=["our_number", "their_number"],
        set_={
            "last_activity_at": stmt.excluded.last_activity_at,
            "last_text": stmt.excluded.last_text,
            "unread": threads.c.unread + 1,
        },
    ).returning(*threads.c)


# Built once: the statement is the same for every inbound message, only its parameters vary.
_RECEIVE = {"postgresql": _receive_upsert(postgresql), "sqlite": _receive_upsert(sqlite)}


def receive_in_thread(
    conn: Connection, our_number: str, their_number: str, text: str | None, now: datetime
) -> Thread:
    """The thread of (our_number, their_number), created on first contact, with an inbound
    message's activity (time, text, one more unread) already counted: one statement.

    Store that message with insert_message, so that it is not counted twice.
    """
    stmt = _RECEIVE["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    values = {
        "our_number": our_number,
        "their_number": their_number,
        "created_at": now,
        "last_activity_at": now,
        "last_text": text,
        "unread": 1,
    }
    return _thread(conn.execute(stmt, values).one())


def find_thread(conn: Connection, our_number: str, their_number: str) -> Thread | None:
    row = conn.execute(
        select(threads)
        .where(threads.c.our_number == our_number)
        .where(threads.c.their_number == their_number)
    ).first()
    return _thread(row) if row else None


def find_thread_by_id(conn: Connection, thread_id: int) -> Thread | None:
    """The thread with *thread_id*, with whether it was left unanswered, as the inbox shows it."""
    query = select(threads, _unanswered().label("unanswered")).where(threads.c.id == thread_id)
    row = conn.execute(query).first()
    return _thread(row) if row else None


def find_threads_with(conn: Connection, number: str) -> list[Thread]:
    """Every thread in which *number* takes part, on either side."""
    rows = conn.execute(
        select(threads)
        .where(or_(threads.c.their_number == number, threads.c.our_number == number))
        .order_by(threads.c.last_activity_at.desc())
    )
    return [_thread(r) for r in rows]


def _unanswered() -> ColumnElement[bool]:
    """True for a thread whose latest inbound message got no reply that was due (see
    responder.reasons) and no answer since, from the messages and their events alone.

    Each lookup walks an index from one row: the thread's newest messages (ix_messages_thread)
    back to its latest inbound one, that message's events, the messages after it.
    """
    event, answer = message_events.alias("decided"), messages.alias("answer")
    latest_in = (
        select(messages.c.id)
        .where(messages.c.thread_id == threads.c.id)
        .where(messages.c.direction == "in")
        .order_by(messages.c.id.desc())
        .limit(1)
        .correlate(threads)
        .scalar_subquery()
    )
    answered = (
        select(answer.c.id)
        .where(answer.c.thread_id == threads.c.id)
        .where(answer.c.id > latest_in)
        .where(answer.c.direction == "out")
        .where(answer.c.kind.in_(ANSWER_KINDS))
        .correlate(threads)
        .exists()
    )
    no_reply = or_(
        event.c.detail.in_(UNANSWERED),
        *(event.c.detail.startswith(prefix, autoescape=True) for prefix in UNANSWERED_PREFIXES),
    )
    return (
        select(event.c.id)
        .where(event.c.message_id == latest_in)
        .where(event.c.status == "handled")
        .where(no_reply)
        .where(~answered)
        .correlate(threads)
        .exists()
    )


def inbox_page(
    conn: Connection,
    *,
    limit: int = 50,
    before: tuple[datetime, int] | None = None,
    number: str | None = None,
    text: str | None = None,
    needs_human_at: datetime | None = None,
) -> list[Thread]:
    """Threads by last activity, newest first; *before* is the (time, id) of the last row seen.

    *number* keeps threads whose number (either side) contains those digits; *text* keeps
    threads with a message containing it, case-insensitively; *needs_human_at* keeps the
    threads that need a person at that time (paused, or left unanswered).
    """
    query = inbox_query(before=before, number=number, text=text, needs_human_at=needs_human_at)
    return [_thread(r) for r in conn.execute(query.limit(limit))]


def inbox_query(
    *,
    before: tuple[datetime, int] | None = None,
    number: str | None = None,
    text: str | None = None,
    needs_human_at: datetime | None = None,
) -> Select[Any]:
    """The query behind inbox_page, without its limit."""
    unanswered = _unanswered()
    query = select(threads, unanswered.label("unanswered")).order_by(
        threads.c.last_activity_at.desc(), threads.c.id.desc()
    )
    if needs_human_at is not None:
        query = query.where(or_(threads.c.paused_until > needs_human_at, unanswered))
    if number:
        query = query.where(
            or_(
                threads.c.their_number.contains(number, autoescape=True),
                threads.c.our_number.contains(number, autoescape=True),
            )
        )
    if text:
        query = query.where(
            select(messages.c.id)
            .where(messages.c.thread_id == threads.c.id)
            .where(messages.c.text.icontains(text, autoescape=True))
            .exists()
        )
    if before is not None:
        at, thread_id = before
        query = query.where(
            or_(
                threads.c.last_activity_at < at,
                and_(threads.c.last_activity_at == at, threads.c.id < thread_id),
            )
        )
    return query


def thread_page(
    conn: Connection, thread_id: int, *, limit: int = 100, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Messages of a thread, oldest first, the newest *limit* of them (or those before an id)."""
    query = select(messages).where(messages.c.thread_id == thread_id)
    if before_id is not None:
        query = query.where(messages.c.id < before_id)
    rows = conn.execute(query.order_by(messages.c.id.desc()).limit(limit)).mappings().all()
    result = []
    for row in reversed(rows):
        item = dict(row)
        item["created_at"] = utc(item["created_at"])
        item["updated_at"] = utc(item["updated_at"])
        result.append(item)
    return result


def message_history(conn: Connection, message_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(message_events)
        .where(message_events.c.message_id == message_id)
        .order_by(message_events.c.id)
    ).mappings()
    return [{**row, "at": utc(row["at"])} for row in rows]


# Built once, the values passed at execution: the compiled form is found in the cache at once.
_INSERT_MESSAGE = insert(messages).returning(messages.c.id)
_INSERT_EVENT = insert(message_events)
_SET_STATUS = update(messages).where(messages.c.id == bindparam("message_row"))


def append_message(conn: Connection, thread: Thread, now: datetime, **values: Any) -> int:
    """Store one message of *thread* with its first status event; return its id."""
    message_id = insert_message(conn, thread, now, **values)
    activity: dict[str, Any] = {"thread_row": thread.id, "last_activity_at": now}
    if values.get("kind") != "webhook":  # a forward's JSON is not conversation text
        activity["last_text"] = values.get("text")
    inbound = values.get("direction") == "in"
    conn.execute(_TOUCH_UNREAD if inbound else _TOUCH, activity)
    return message_id


# The thread's activity columns come with the values; an inbound message adds one unread.
_TOUCH = update(threads).where(threads.c.id == bindparam("thread_row"))
_TOUCH_UNREAD = _TOUCH.values(unread=threads.c.unread + 1)


def insert_message(
    conn: Connection, thread: Thread, now: datetime, *, first_event: bool = True, **values: Any
) -> int:
    """append_message without touching the thread (receive_in_thread counted the activity).

    *first_event* False leaves out the first status event, for the caller to record with the
    next status (set_message_status's *earlier*) in one statement.
    """
    values.setdefault("status", "received" if values.get("direction") == "in" else "queued")
    # The request that caused it (a callback, a dashboard reply), so its send logs under that id.
    values.setdefault("request_id", current_request_id())
    values.update(thread_id=thread.id, created_at=now, updated_at=now)
    message_id: int = conn.execute(_INSERT_MESSAGE, values).scalar_one()
    if first_event:
        record_event(conn, message_id, values["status"], now)
    return message_id


def record_event(
    conn: Connection, message_id: int, status: str, now: datetime, detail: str | None = None
) -> None:
    conn.execute(
        _INSERT_EVENT, {"message_id": message_id, "status": status, "detail": detail, "at": now}
    )


def set_message_status(
    conn: Connection,
    message_id: int,
    status: str,
    now: datetime,
    *,
    detail: str | None = None,
    earlier: str | None = None,
    **values: Any,
) -> None:
    """Change a message's status, keeping the change in its history.

    *earlier* is a status the message had before whose event is not recorded yet (see
    insert_message): both events are written in one statement, *earlier* first.
    """
    values.update(status=status, updated_at=now)
    if any(isinstance(v, ClauseElement) for v in values.values()):  # SQL, not plain values
        conn.execute(update(messages).where(messages.c.id == message_id).values(**values))
    else:
        conn.execute(_SET_STATUS, {**values, "message_row": message_id})
    event = {"message_id": message_id, "status": status, "detail": detail, "at": now}
    if earlier is None:
        conn.execute(_INSERT_EVENT, event)
    else:
        first = {"message_id": message_id, "status": earlier, "detail": None, "at": now}
        conn.execute(_INSERT_EVENT, [first, event])


def save_conversation(
    conn: Connection,
    thread: Thread,
    *,
    state: str | None,
    state_expires_at: datetime | None,
    saved: dict[str, str],
    tags: list[str],
    paused_until: datetime | None,
) -> None:
    """Store the thread's conversation state; nothing is written when *thread* has it already."""
    tag_list = sorted(set(tags))
    if (
        state == thread.state
        and state_expires_at == thread.state_expires_at
        and saved == thread.saved
        and tag_list == thread.tags
        and paused_until == thread.paused_until
    ):
        return
    values = {
        "thread_row": thread.id,
        "state": state,
        "state_expires_at": state_expires_at,
        "saved": json.dumps(saved, ensure_ascii=False, sort_keys=True),
        "tags": json.dumps(tag_list, ensure_ascii=False),
        "paused_until": paused_until,
    }
    conn.execute(_SAVE_CONVERSATION, values)


_SAVE_CONVERSATION = update(threads).where(threads.c.id == bindparam("thread_row"))


def last_replies_by_rule(conn: Connection, thread_id: int) -> dict[str, datetime]:
    """When each rule last produced a reply in this thread (for cooldowns)."""
    rows = conn.execute(_LAST_REPLIES, {"thread_id": thread_id})
    return {rule_id: utc(at) for rule_id, at in rows}  # type: ignore[misc]


# Built once, like the statements above: building one and its cache key on each call cost
# more than running it.
_LAST_REPLIES = (
    select(messages.c.rule_id, func.max(messages.c.created_at))
    .where(messages.c.thread_id == bindparam("thread_id"))
    .where(messages.c.direction == "out")
    .where(messages.c.rule_id.is_not(None))
    .group_by(messages.c.rule_id)
)


def mark_read(conn: Connection, thread_id: int) -> None:
    """Someone has read the thread: its unread count goes back to zero."""
    conn.execute(
        update(threads)
        .where(threads.c.id == thread_id)
        .where(threads.c.unread != 0)
        .values(unread=0)
    )


def set_paused(conn: Connection, thread_id: int, until: datetime | None) -> None:
    """Pause automatic replies in a thread until *until* (handoff), or resume them with None."""
    conn.execute(update(threads).where(threads.c.id == thread_id).values(paused_until=until))


def histories(conn: Connection, message_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The status history of several messages in one query, by message id."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in message_ids}
    if not message_ids:
        return found
    rows = conn.execute(
        select(message_events)
        .where(message_events.c.message_id.in_(message_ids))
        .order_by(message_events.c.message_id, message_events.c.id)
    ).mappings()
    for row in rows:
        found[row["message_id"]].append({**row, "at": utc(row["at"])})
    return found


def recent_reply_times(conn: Connection, thread_id: int, since: datetime) -> list[datetime]:
    """When each automatic reply of this thread since *since* was queued (one per answer)."""
    rows = conn.execute(
        select(func.min(messages.c.created_at))
        .where(messages.c.thread_id == thread_id)
        .where(messages.c.kind == "reply")
        .where(messages.c.created_at >= since)
        .group_by(messages.c.reply_to_id)
    ).scalars()
    return [utc(at) for at in rows]  # type: ignore[misc]
