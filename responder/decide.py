"""The decision for one inbound message: thread state + ruleset + now -> what to do (pure)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from responder import reasons
from responder.compliance.gate import Screen
from responder.ruleset import MessageContext, Ruleset
from responder.store.threads import Thread

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What the service does about one inbound message."""

    reply: str | None
    rule_id: str | None
    ruleset_version: str
    reason: str  # why there is or is not a reply, in a few words
    kind: str = "reply"  # reply | compliance
    actions: tuple[Any, ...] = ()
    state: Any = None  # a StateChange from the ruleset, or None to keep the state
    save: Mapping[str, str] = field(default_factory=dict)
    smart_encoding: bool = False
    trace: dict[str, Any] = field(default_factory=dict)


def decide(
    text: str,
    thread: Thread,
    ruleset: Ruleset,
    now: datetime,
    last_fired: Mapping[str, datetime],
    recent_replies: Sequence[datetime] = (),
    *,
    screen: Screen | None = None,
) -> Decision:
    """Choose the reply to *text* in *thread*; never raises for a rule's own mistakes.

    *screen* is what the compliance gate found first: when it decided, no rule runs.
    """
    trace: dict[str, Any] = {"checks": list(screen.checks) if screen else []}
    if screen is not None and screen.decided:
        kind = "compliance" if screen.answer is not None else "reply"
        reason = screen.reason or "compliance"
        return Decision(screen.answer, None, ruleset.version, reason, kind=kind, trace=trace)
    if thread.is_paused(now):
        trace["checks"].append(
            {"check": "handoff", "result": "paused", "until": str(thread.paused_until)}
        )
        return Decision(
            None, None, ruleset.version, "automation paused for this thread", trace=trace
        )
    context = MessageContext(
        text=text,
        our_number=thread.our_number,
        their_number=thread.their_number,
        now=now,
        state=thread.live_state(now),
        saved=thread.saved,
        last_fired=last_fired,
        recent_replies=recent_replies,
    )
    try:
        evaluation = ruleset.evaluate(context)
    except Exception as exc:
        # A rule-set bug must not lose the message: it is stored unanswered, with the reason.
        log.exception("rule set %s failed on a message", ruleset.version)
        trace["error"] = f"{type(exc).__name__}: {exc}"
        return Decision(None, None, ruleset.version, reasons.EVALUATION_FAILED, trace=trace)
    trace["rules"] = evaluation.trace.to_dict()
    if evaluation.reply is None:
        if evaluation.rule_id is None:
            reason = reasons.NO_MATCH
        else:
            reason = evaluation.withheld or "rule has no reply"
    else:
        reason = f"rule {evaluation.rule_id}"
    return Decision(
        reply=evaluation.reply,
        rule_id=evaluation.rule_id,
        ruleset_version=ruleset.version,
        reason=reason,
        actions=tuple(evaluation.actions),
        state=evaluation.state,
        save=evaluation.save,
        smart_encoding=evaluation.smart_encoding,
        trace=trace,
    )
