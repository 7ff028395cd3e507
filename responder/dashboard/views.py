"""Inbox and thread pages, hand replies, handoff, and the segment counter behind the reply box."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Connection

from responder.dashboard.blueprint import bp
from responder.dashboard.filters import format_number
from responder.errors import InvalidNumberError, OptedOutError
from responder.outgoing import MessageTextError, queue_manual
from responder.replies import MAX_REPLY_CHARS
from responder.services import current_services
from responder.sms.segments import count_segments
from responder.sms.split import split_for_limit
from responder.store.db import reading
from responder.store.threads import (
    Thread,
    find_thread_by_id,
    histories,
    inbox_page,
    mark_read,
    set_paused,
    thread_page,
)

INBOX_PAGE = 50
THREAD_PAGE = 50
MAX_SEARCH = 200
MAX_TEXT = 5 * MAX_REPLY_CHARS  # what one hand reply may hold, in characters
_NUMBER_QUERY = re.compile(r"\+?[\d\s().-]+")


def _cursor(thread: Thread) -> str:
    return f"{thread.last_activity_at.isoformat()}~{thread.id}"


def _parse_cursor(raw: str) -> tuple[datetime, int]:
    at, sep, thread_id = raw.partition("~")
    try:
        moment, number = datetime.fromisoformat(at), int(thread_id)
    except ValueError:
        sep = ""
    if not sep:
        abort(400, f"'before' must be a time and a thread id as the inbox writes it (got {raw!r})")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC), number


@bp.get("/")
def inbox() -> ResponseReturnValue:
    """Threads by last activity, 50 a page; by number digits or message text; needing a human."""
    query = request.args.get("q", "").strip()
    human = request.args.get("needs", "")
    if human not in ("", "human"):
        abort(400, f"'needs' may only be 'human' (got {human!r})")
    if len(query) > MAX_SEARCH:
        abort(400, f"search text is limited to {MAX_SEARCH} characters")
    before = request.args.get("before")
    number = text = None
    if query and _NUMBER_QUERY.fullmatch(query) and any(c.isdigit() for c in query):
        number = re.sub(r"\D", "", query)
    elif query:
        text = query
    svc = current_services()
    now = svc.clock()
    with reading(svc.engine) as conn:
        rows = inbox_page(
            conn,
            limit=INBOX_PAGE + 1,
            before=_parse_cursor(before) if before else None,
            number=number,
            text=text,
            needs_human_at=now if human else None,
        )
    more = len(rows) > INBOX_PAGE
    rows = rows[:INBOX_PAGE]
    return render_template(
        "dashboard/inbox.html",
        threads=rows,
        query=query,
        searched_for="number" if number else "text" if text else None,
        needs=human or None,
        now=now,
        next_cursor=_cursor(rows[-1]) if more else None,
        paged=before is not None,
    )


def _get_thread(conn: Connection, thread_id: int) -> Thread:
    thread = find_thread_by_id(conn, thread_id)
    if thread is None:
        abort(404, f"There is no thread {thread_id}.")
    return thread


def _decode_trace(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"unreadable": raw}


def _render_thread(
    thread_id: int, *, before_id: int | None = None, draft: str = "", error: str | None = None
) -> ResponseReturnValue:
    svc = current_services()
    with reading(svc.engine) as conn:
        thread = _get_thread(conn, thread_id)
        rows = thread_page(conn, thread.id, limit=THREAD_PAGE + 1, before_id=before_id)
        events = histories(conn, [m["id"] for m in rows])
    more = len(rows) > THREAD_PAGE
    rows = rows[-THREAD_PAGE:]
    older = rows[0]["id"] if more else None  # the oldest shown: the next page ends before it
    if before_id is None and thread.unread:
        with svc.engine.begin() as conn:
            mark_read(conn, thread.id)
    for message in rows:
        message["history"] = events.get(message["id"], [])
        message["trace_data"] = _decode_trace(message.get("trace"))
    page = render_template(
        "dashboard/thread.html",
        thread=thread,
        messages=rows,
        older=older,
        paged=before_id is not None,
        now=svc.clock(),
        idle_s=svc.config.handoff_idle_s,
        draft=draft,
        error=error,
    )
    return page, 400 if error else 200


@bp.get("/threads/<int:thread_id>")
def thread(thread_id: int) -> ResponseReturnValue:
    """One thread's messages with history and decision traces; opening it marks it read."""
    before = request.args.get("before")
    if before is not None and not before.isdigit():
        abort(400, f"'before' must be a message id (got {before!r})")
    return _render_thread(thread_id, before_id=int(before) if before else None)


@bp.post("/threads/<int:thread_id>/reply")
def reply(thread_id: int) -> ResponseReturnValue:
    """A hand reply: through compliance (opt-outs, quiet hours) into the outbox."""
    svc = current_services()
    text = request.form.get("text", "")
    if len(text) > MAX_TEXT:
        return _render_thread(
            thread_id, draft=text, error=f"A reply is limited to {MAX_TEXT} characters."
        )
    now = svc.clock()
    try:
        with svc.engine.begin() as conn:
            thread = _get_thread(conn, thread_id)
            ids = queue_manual(conn, svc, thread.our_number, thread.their_number, text, now=now)
            if request.form.get("pause"):
                set_paused(conn, thread.id, now + timedelta(seconds=svc.config.handoff_idle_s))
    except (OptedOutError, MessageTextError, InvalidNumberError) as exc:
        return _render_thread(thread_id, draft=text, error=f"Not sent: {exc}")
    count = f"{len(ids)} message{'s' * (len(ids) != 1)}"
    flash(f"Queued {count} to {format_number(thread.their_number)}.")
    return redirect(url_for("dashboard.thread", thread_id=thread_id, _anchor="reply"))


def _set_pause(thread_id: int, until: datetime | None, notice: str) -> ResponseReturnValue:
    with current_services().engine.begin() as conn:
        _get_thread(conn, thread_id)
        set_paused(conn, thread_id, until)
    flash(notice)
    return redirect(url_for("dashboard.thread", thread_id=thread_id))


@bp.post("/threads/<int:thread_id>/pause")
def pause(thread_id: int) -> ResponseReturnValue:
    """Hand the thread to a person: no automatic replies for RESPONDER_HANDOFF_IDLE."""
    svc = current_services()
    until = svc.clock() + timedelta(seconds=svc.config.handoff_idle_s)
    notice = "Automatic replies are paused; opt-out and help words are still answered."
    return _set_pause(thread_id, until, notice)


@bp.post("/threads/<int:thread_id>/resume")
def resume(thread_id: int) -> ResponseReturnValue:
    """Give the thread back to the rules."""
    return _set_pause(thread_id, None, "Automatic replies are on again.")


@bp.get("/segments")
def segments() -> ResponseReturnValue:
    """How a hand reply will go out: messages, encoding and segments, for the reply box."""
    text = request.args.get("text", "")
    if len(text) > MAX_TEXT:
        return jsonify({"error": f"a reply is limited to {MAX_TEXT} characters"}), 400
    parts = split_for_limit(text, MAX_REPLY_CHARS) if text else []
    counts = [count_segments(part) for part in parts]
    return jsonify(
        {
            "characters": len(text),
            "messages": len(parts),
            "encoding": "UCS-2" if any(c.encoding == "UCS-2" for c in counts) else "GSM-7",
            "segments": sum(c.segments for c in counts),
        }
    )
