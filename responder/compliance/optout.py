"""Opt-out, opt-in and help: which keyword a message is, and the consent changes it causes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from responder.compliance.settings import ComplianceSettings
from responder.compliance.words import OPT_IN_AFTER_OPT_OUT, normalise_words
from responder.store import consent
from responder.store.withheld import fail_waiting


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def classify(text: str, settings: ComplianceSettings, *, opted_out: bool) -> Keyword | None:
    """The compliance keyword *text* is as a whole message, or None for the rules to answer."""
    words = normalise_words(text)
    if not words:
        return None
    if words in settings.opt_out_texts:
        return Keyword.OPT_OUT
    if words in settings.opt_in_texts or (opted_out and words in OPT_IN_AFTER_OPT_OUT):
        return Keyword.OPT_IN
    if words in settings.help_texts:
        return Keyword.HELP
    return None


def is_opted_out(conn: Connection, our_number: str, their_number: str) -> bool:
    """True when nothing but compliance answers may go from *our_number* to *their_number*.

    The configured scope applies when the opt-out is recorded (account-wide opt-outs cover
    every number of ours), so the check itself needs no settings.
    """
    return consent.is_opted_out(conn, our_number, their_number)


@dataclass(frozen=True)
class ConsentChange:
    """What an opt-out or opt-in did: its ledger entry, whether it changed anything."""

    ledger_id: int
    changed: bool
    cancelled: tuple[int, ...] = ()


def change_consent(
    conn: Connection,
    settings: ComplianceSettings,
    keyword: Keyword,
    our_number: str,
    their_number: str,
    text: str,
    now: datetime,
    *,
    ruleset_version: str | None = None,
    message_id: int | None = None,
    opted_out: bool | None = None,
) -> ConsentChange:
    """Record an opt-out or opt-in in the ledger and apply it to the opt-out list.

    An opt-out also fails what still waits for the number (changed=False if already out); an
    opt-in lifts the opt-out of this number, or of every number by scope. *opted_out* is
    whether the number is opted out now, when the caller has just looked.
    """
    if keyword is Keyword.HELP:
        raise ValueError("a help word changes no consent")
    if keyword is Keyword.OPT_OUT and opted_out is None:
        opted_out = consent.is_opted_out(conn, our_number, their_number)
    ledger_id = consent.record_consent(
        conn,
        our_number=our_number,
        their_number=their_number,
        action=keyword.value,
        scope=settings.scope,
        text=text,
        now=now,
        ruleset_version=ruleset_version,
        message_id=message_id,
    )
    if keyword is Keyword.OPT_IN:
        removed = consent.remove_opt_out(conn, our_number, their_number, scope=settings.scope)
        return ConsentChange(ledger_id, removed > 0)
    added = consent.add_opt_out(
        conn, our_number, their_number, scope=settings.scope, ledger_id=ledger_id, now=now
    )
    cancelled = fail_waiting(
        conn, our_number if settings.scope == "number" else None, their_number, now
    )
    return ConsentChange(ledger_id, added and not opted_out, tuple(cancelled))
