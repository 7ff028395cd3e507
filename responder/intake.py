"""One callback batch: verify, filter, dedupe, store, decide, enqueue; a transaction each.

Queue mode keeps verified callbacks in the inbox instead and stores them later: responder/inbox.py.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from responder.compliance.gate import screen_inbound
from responder.compliance.optout import is_opted_out
from responder.decide import Decision, decide
from responder.errors import SignatureError
from responder.numbers import callback_number
from responder.reasons import UNUSABLE_REPLY
from responder.replies import queue_text
from responder.ruleset import Ruleset
from responder.schemas import Callback, SmsItem, parse_batch
from responder.services import Services
from responder.signature import verify
from responder.store.privacy import forget_text
from responder.store.seen import link_message, remember
from responder.store.threads import (
    Thread,
    get_or_create_thread,
    insert_message,
    last_replies_by_rule,
    receive_in_thread,
    recent_reply_times,
    save_conversation,
    set_message_status,
)
from responder.webhooks import queue_webhook

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Result:
    index: int
    outcome: Outcome
    reason: str | None = None
    callback_id: int | None = None
    message_ids: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "outcome": self.outcome.value}
        if self.callback_id is not None:
            data["callback_id"] = self.callback_id
        if self.reason:
            data["reason"] = self.reason
        if self.message_ids:
            data["message_ids"] = list(self.message_ids)
        return data


@dataclass
class BatchReport:
    """Per-callback outcomes and the HTTP status that sums them up."""

    results: list[Result] = field(default_factory=list)
    queued: bool = False  # answered once in the inbox: message ids are not known yet

    @property
    def status(self) -> int:
        if any(r.outcome is not Outcome.REJECTED for r in self.results):
            return 200
        if any(r.reason and "security hash" in r.reason for r in self.results):
            return 403
        return 400

    def to_dict(self) -> dict[str, Any]:
        counts = dict.fromkeys(Outcome, 0)
        for result in self.results:
            counts[result.outcome] += 1
        body: dict[str, Any] = {
            o.value if o is not Outcome.DUPLICATE else "duplicates": n for o, n in counts.items()
        }
        if self.queued:
            body["queued"] = True
        body["results"] = [r.to_dict() for r in sorted(self.results, key=lambda r: r.index)]
        return body


def handle_batch(services: Services, raw: bytes) -> BatchReport:
    """Process a raw callback body; raises CallbackError when the body as a whole is unusable."""
    report, verified = screen_batch(services, raw)
    if not verified:
        return report
    ruleset = services.rules.serving()
    for callback in verified:
        report.results.append(store_callback(services, ruleset, callback))
    if any(r.outcome is Outcome.ACCEPTED for r in report.results):
        services.wakeup.set()
    return report


def screen_batch(services: Services, raw: bytes) -> tuple[BatchReport, list[Callback]]:
    """Parse and check every element: the report of those refused, and those to store."""
    batch = parse_batch(raw)
    report = BatchReport([Result(e.index or 0, Outcome.REJECTED, e.reason) for e in batch.errors])
    verified: list[Callback] = []
    for callback in batch.callbacks:
        problem = check_callback(services, callback)
        if problem is not None:
            report.results.append(problem)
        else:
            verified.append(callback)
    return report, verified


def check_callback(services: Services, callback: Callback) -> Result | None:
    """Why this callback must not be stored (a Result), or None when it is ours and genuine."""
    config = services.config
    try:
        if config.hash_configured:
            verify(
                callback.hash,
                salt=config.callback_salt,  # type: ignore[arg-type]
                api_key=config.api_key,  # type: ignore[arg-type]
                account_id=callback.account_id,
                callback_id=callback.callback_id,
            )
    except SignatureError as exc:
        log.warning("callback %s rejected: %s", callback.callback_id, exc.reason)
        return Result(callback.index, Outcome.REJECTED, exc.reason, callback.callback_id)
    if config.voximplant is not None and callback.account_id != config.voximplant.account_id:
        return Result(
            callback.index,
            Outcome.REJECTED,
            f"callback for account {callback.account_id}, this service serves account "
            f"{config.voximplant.account_id}",
            callback.callback_id,
        )
    if not callback.items:
        return Result(
            callback.index,
            Outcome.IGNORED,
            f"type {callback.type!r} is not handled",
            callback.callback_id,
        )
    return None


def store_callback(services: Services, ruleset: Ruleset, callback: Callback) -> Result:
    """Store every SMS of one callback with its replies, exactly once."""
    now = services.clock()
    with services.engine.begin() as conn:
        if not remember(conn, callback.account_id, callback.callback_id, now):
            return Result(callback.index, Outcome.DUPLICATE, callback_id=callback.callback_id)
        ids = receive_callback(
            conn, services, ruleset, callback.account_id, callback.callback_id, callback.items, now
        )
    return Result(
        callback.index, Outcome.ACCEPTED, callback_id=callback.callback_id, message_ids=tuple(ids)
    )


def receive_callback(
    conn: Connection,
    services: Services,
    ruleset: Ruleset,
    account_id: int,
    callback_id: int,
    items: Sequence[SmsItem],
    now: datetime,
) -> list[int]:
    """Receive each SMS of one callback already remembered as seen; link the callback to them."""
    ids = [receive_sms(conn, services, ruleset, item, callback_id, now) for item in items]
    link_message(conn, account_id, callback_id, ids[0])
    return ids


def receive_sms(
    conn: Connection,
    services: Services,
    ruleset: Ruleset,
    item: SmsItem,
    callback_id: int | None,
    now: datetime,
) -> int:
    """Store one inbound SMS in its thread, decide, and queue what the decision says."""
    thread = receive_in_thread(
        conn,
        callback_number(item.destination_number),
        callback_number(item.source_number),
        item.sms_body,
        now,
    )
    message_id = insert_message(
        conn,
        thread,
        now,
        first_event=False,  # recorded with the decision's status, in one statement
        direction="in",
        kind="inbound",
        text=item.sms_body,
        callback_id=callback_id,
    )
    decision = decide_inbound(conn, services, ruleset, thread, message_id, item.sms_body, now)
    apply_decision(conn, services, thread, message_id, decision, now)
    if not services.config.store_bodies:
        forget_text(conn, message_id)  # metadata only: the text has been decided on
    return message_id


def decide_inbound(
    conn: Connection,
    services: Services,
    ruleset: Ruleset,
    thread: Thread,
    message_id: int,
    text: str,
    now: datetime,
) -> Decision:
    """The decision on an inbound message stored in *thread*: compliance first, then rules."""
    # Compliance runs first: opt-out, opt-in and help words, opted-out numbers, loops.
    screen = screen_inbound(
        conn,
        services.config.compliance,
        thread,
        text,
        message_id=message_id,
        ruleset_version=ruleset.version,
        now=now,
    )
    last_fired: dict[str, datetime] = {}
    recent: list[datetime] = []
    # Cooldowns and the reply budget matter only to the rules, which run neither when
    # compliance decided nor during a handoff: a looping or opted-out thread is not read again.
    if not screen.decided and not thread.is_paused(now):
        last_fired = last_replies_by_rule(conn, thread.id)
        if ruleset.budget_window is not None:
            recent = recent_reply_times(conn, thread.id, now - ruleset.budget_window)
    return decide(text, thread, ruleset, now, last_fired, recent, screen=screen)


def apply_decision(
    conn: Connection,
    services: Services,
    thread: Thread,
    message_id: int,
    decision: Decision,
    now: datetime,
) -> None:
    """Queue the reply and actions, update the conversation, mark the inbound message handled."""
    trace = dict(decision.trace)
    reason = decision.reason
    if decision.rule_id is not None:
        services.metrics.rule_hits.labels(decision.rule_id).inc()
    if decision.reply is not None:
        try:
            trace["reply_ids"] = queue_text(
                conn,
                thread,
                decision.reply,
                now,
                kind=decision.kind,
                rule_id=decision.rule_id,
                ruleset_version=decision.ruleset_version,
                reply_to_id=message_id,
                smart=decision.smart_encoding,
            )
            services.metrics.replies.labels("queued").inc(len(trace["reply_ids"]))
        except ValueError as exc:
            trace["reply_error"] = str(exc)
            reason = f"{UNUSABLE_REPLY}: {exc}"
            log.error("rule %s produced an unusable reply: %s", decision.rule_id, exc)
    actions = apply_actions(conn, services, thread, decision, now)
    if actions:
        trace["actions"] = actions
    set_message_status(
        conn,
        message_id,
        "handled",
        now,
        detail=reason,
        earlier="received",
        rule_id=decision.rule_id,
        ruleset_version=decision.ruleset_version,
        trace=json.dumps(trace, ensure_ascii=False, default=str),
    )


def apply_actions(
    conn: Connection, services: Services, thread: Thread, decision: Decision, now: datetime
) -> list[str]:
    """Carry out the rule's actions and state changes; return what was done, for the trace."""
    done: list[str] = []
    state, expires = thread.live_state(now), thread.state_expires_at
    if decision.state is not None:
        state, expires = decision.state.name, decision.state.expires_at
        done.append(f"state -> {state or '(none)'}")
    saved = {**thread.saved, **decision.save}
    tags = list(thread.tags)
    handoff_end = now + timedelta(seconds=services.config.handoff_idle_s)
    paused_until = thread.paused_until
    if paused_until is not None and thread.is_paused(now):
        # Their message during a handoff keeps the person in charge for another idle time, so
        # the rules never cut into a conversation with a human.
        paused_until = max(paused_until, handoff_end)
    for action in decision.actions:
        name = type(action).__name__
        if name == "Tag":
            tags.append(action.name)
            done.append(f"tag {action.name}")
        elif name == "Handoff":
            paused_until = handoff_end
            done.append("handoff to a human")
        elif name == "ForwardSms":
            staff = get_or_create_thread(conn, thread.our_number, callback_number(action.to), now)
            if is_opted_out(conn, staff.our_number, staff.their_number):
                done.append(f"forward to {staff.their_number} not sent: that number opted out")
                continue
            queue_text(
                conn,
                staff,
                action.text,
                now,
                kind="forward",
                rule_id=decision.rule_id,
                ruleset_version=decision.ruleset_version,
            )
            done.append(f"forward to {staff.their_number}")
        elif name == "ForwardUrl":
            queue_webhook(
                conn,
                thread,
                action.url,
                action.payload,
                action.timeout_s,
                now,
                rule_id=decision.rule_id,
                ruleset_version=decision.ruleset_version,
            )
            done.append(f"forward to {action.url}")
        else:
            done.append(f"{name} not carried out by this version")
    save_conversation(
        conn,
        thread,
        state=state,
        state_expires_at=expires,
        saved=saved,
        tags=tags,
        paused_until=paused_until,
    )
    return done
