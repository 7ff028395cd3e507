"""The compliance gate for one inbound message: runs before conversation state and rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from responder.compliance.breaker import check_breaker
from responder.compliance.optout import Keyword, change_consent, classify, is_opted_out
from responder.compliance.quiet import quiet_until
from responder.compliance.settings import ComplianceSettings
from responder.compliance.words import normalise_words
from responder.reasons import BREAKER_OPEN
from responder.store.threads import Thread


@dataclass(frozen=True)
class Screen:
    """What compliance decided before any rule: an answer of its own, a block, or go ahead."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    answer: str | None = None  # the compliance reply (confirmation or help text)
    reason: str | None = None  # set when compliance handled the message or blocks the rules

    @property
    def decided(self) -> bool:
        return self.reason is not None


def screen_inbound(
    conn: Connection,
    settings: ComplianceSettings,
    thread: Thread,
    text: str,
    *,
    message_id: int,
    ruleset_version: str,
    now: datetime,
) -> Screen:
    """Handle opt-out, opt-in and help words, and stop rules for opted-out or looping threads."""
    ours, theirs = thread.our_number, thread.their_number
    opted_out = is_opted_out(conn, ours, theirs)
    checks: list[dict[str, Any]] = [
        {"check": "consent", "result": "opted out" if opted_out else "subscribed"}
    ]
    keyword = classify(text, settings, opted_out=opted_out)
    if keyword is not None:
        entry: dict[str, Any] = {
            "check": "compliance keyword",
            "result": keyword.value,
            "matched": normalise_words(text),
        }
        checks.append(entry)
        if keyword is Keyword.HELP:
            entry["outcome"] = "help: answered with the help text"
            return Screen(checks, settings.help_reply, entry["outcome"])
        change = change_consent(
            conn,
            settings,
            keyword,
            ours,
            theirs,
            text,
            now,
            ruleset_version=ruleset_version,
            message_id=message_id,
            opted_out=opted_out,
        )
        entry.update(ledger_id=change.ledger_id, scope=settings.scope)
        if keyword is Keyword.OPT_IN:
            entry["outcome"] = "opt-in: subscribed again, confirmed"
            return Screen(checks, settings.opt_in_reply, entry["outcome"])
        if change.cancelled:
            entry["cancelled"] = list(change.cancelled)
        if not change.changed:
            entry["outcome"] = "opt-out repeated: already opted out, no second confirmation"
            return Screen(checks, None, entry["outcome"])
        entry["outcome"] = "opt-out: confirmed once, nothing more is sent"
        return Screen(checks, settings.opt_out_reply, entry["outcome"])
    if opted_out:
        checks[0]["outcome"] = "no automatic reply"
        return Screen(checks, None, "opted out: no automatic reply")
    breaker = check_breaker(conn, settings.breaker, thread.id, now)
    checks.append(breaker.check)
    if breaker.open:
        until = breaker.until.isoformat(timespec="seconds") if breaker.until else "?"
        return Screen(checks, None, f"{BREAKER_OPEN} until {until}: {breaker.reason}")
    night_until = quiet_until(theirs, now, settings.quiet)
    if night_until is not None:
        checks.append(
            {
                "check": "quiet hours",
                "result": "immediate answer allowed",
                "window": settings.quiet.describe(),
                "until": night_until.isoformat(),
            }
        )
    return Screen(checks)
