"""Queue mode (RESPONDER_INTAKE=queue): keep verified callbacks in the inbox, answer, process.

queue_batch runs in the request; process_inbox and the InboxLoop that calls it run beside the
sender. Storing a callback's messages is intake's work (receive_callback), as in inline mode.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime

from sqlalchemy import Connection

from responder.intake import BatchReport, Outcome, Result, receive_callback, screen_batch
from responder.request_ids import bound_request_id, current_request_id
from responder.ruleset import Ruleset
from responder.schemas import SmsItem
from responder.services import Services
from responder.store.inbox import Queued, any_ready, finish, gather, keep, take
from responder.store.seen import remember

log = logging.getLogger(__name__)

# After an unexpected error (the database down), wait this long before trying again.
ERROR_PAUSE_S = 1.0


def queue_batch(services: Services, raw: bytes) -> BatchReport:
    """Verify a raw callback body and keep its new callbacks for processing, in one write:
    this process's journal on SQLite, one transaction of the inbox on PostgreSQL.

    Queue mode (RESPONDER_INTAKE=queue): the answer waits for that write, not for the rules
    and the reply; process_inbox does the rest. Raises CallbackError like handle_batch. A
    redelivery is answered as a duplicate when keep() knows the first (store/inbox.py);
    otherwise the inbox's key or the database's seen-callback key drops it when processed.
    """
    report, verified = screen_batch(services, raw)
    report.queued = True
    if not verified:
        return report
    now = services.clock()
    request_id = current_request_id()
    rows = [
        {
            "account_id": callback.account_id,
            "callback_id": callback.callback_id,
            "received_at": now,
            "request_id": request_id,
            "payload": encode_items(callback.items),
        }
        for callback in verified
    ]
    kept = keep(services.inbox, rows)
    for callback, new in zip(verified, kept, strict=True):
        outcome = Outcome.ACCEPTED if new else Outcome.DUPLICATE
        report.results.append(Result(callback.index, outcome, callback_id=callback.callback_id))
    if any(kept) and not services.inbox_wakeup.is_set():  # set() takes a lock
        services.inbox_wakeup.set()
    return report


def process_inbox(services: Services, *, limit: int = 20, budget_s: float = 0.004) -> int:
    """Store, decide and queue the replies of the oldest callbacks in the inbox; how many.

    They are processed in one database transaction, each in a savepoint: one that fails is
    counted and tried again later, and the others are kept. The transaction ends once
    *budget_s* has passed, so that it never holds SQLite's write lock for long; the callbacks
    left are handed back for the next one.
    """
    gather(services.inbox)
    now = services.clock()
    if not any_ready(services.inbox, now):
        return 0
    taken = take(services.inbox, now, limit, lease_s=services.config.lease_s)
    if not taken:
        return 0  # another process was first
    try:
        with services.engine.begin() as conn:
            done, failed = _store_taken(conn, services, taken, now, budget_s)
    except Exception:
        _hand_back(services, now, taken)
        raise
    handled = {q.id for q in done} | {q.id for q, _ in failed}
    untouched = [q for q in taken if q.id not in handled]
    finish(services.inbox, now, done=done, failed=failed, untouched=untouched)
    if done:
        services.wakeup.set()
    return len(handled)


def _store_taken(
    conn: Connection, services: Services, taken: list[Queued], now: datetime, budget_s: float
) -> tuple[list[Queued], list[tuple[Queued, str]]]:
    """Store each taken callback in a savepoint of *conn* until *budget_s* has passed: those
    stored, and those that failed with their error."""
    ruleset = services.rules.serving()
    deadline = time.monotonic() + budget_s
    done: list[Queued] = []
    failed: list[tuple[Queued, str]] = []
    for item in taken:
        if done and time.monotonic() > deadline:
            break
        with bound_request_id(item.request_id):
            try:
                with conn.begin_nested():
                    _store_queued(conn, services, ruleset, item, now)
                done.append(item)
            except Exception as exc:  # one bad callback must not hold up the others
                log.exception("queued callback %s failed", item.callback_id)
                failed.append((item, f"{type(exc).__name__}: {exc}"))
    return done, failed


def _hand_back(services: Services, now: datetime, taken: list[Queued]) -> None:
    """After a transaction that kept nothing (the database went away): release the leases
    now, so that the callbacks are tried again when it is back, not when the leases run out.
    Not a failure of the callbacks: their attempts are not counted."""
    try:
        finish(services.inbox, now, done=[], failed=[], untouched=taken)
    except Exception:
        log.warning("could not hand back %d queued callbacks: their leases run out", len(taken))


def _store_queued(
    conn: Connection, services: Services, ruleset: Ruleset, item: Queued, now: datetime
) -> None:
    items = decode_items(item.payload)
    if not remember(conn, item.account_id, item.callback_id, now):
        log.info("queued callback %s was stored before; dropped", item.callback_id)
        return
    receive_callback(conn, services, ruleset, item.account_id, item.callback_id, items, now)


def encode_items(items: tuple[SmsItem, ...]) -> str:
    return json.dumps(
        [[i.source_number, i.destination_number, i.sms_body] for i in items], ensure_ascii=False
    )


def decode_items(payload: str) -> list[SmsItem]:
    items = [SmsItem(*fields) for fields in json.loads(payload)]
    if not items:
        raise ValueError("the queued callback holds no message")
    return items


class InboxLoop:
    """Runs beside a Sender, in the same process and with the same stop signal."""

    def __init__(self, services: Services, stop: threading.Event, idle_poll_s: float) -> None:
        self.services = services
        self.stop = stop
        self.idle_poll_s = idle_poll_s
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="responder-inbox", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Process until stopped; a stop lets the transaction in flight finish first."""
        wakeup = self.services.inbox_wakeup
        while not self.stop.is_set():
            try:
                taken = process_inbox(self.services)
            except Exception:  # the loop must survive a database hiccup; the rows stay
                log.exception("inbox loop error; retrying shortly")
                self.stop.wait(ERROR_PAUSE_S)
                continue
            if not taken:
                wakeup.wait(self.idle_poll_s)
                wakeup.clear()
