"""The last check before a message leaves: a later opt-out wins, quiet hours hold it back."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from responder.compliance.quiet import describe_hold, hold_until
from responder.services import Services
from responder.store.consent import ACCOUNT_WIDE
from responder.store.db import reading
from responder.store.outbox import Claim, mark_failed
from responder.store.rows import utc
from responder.store.tables import messages, opt_outs
from responder.store.withheld import NEVER_WITHHELD, OPTED_OUT, hold_claim

log = logging.getLogger(__name__)

# Rows that are not an SMS to the person in the thread, or that must reach them regardless.
ALWAYS_SENT = frozenset(NEVER_WITHHELD)
CONFIRMATION_WINDOW = timedelta(minutes=5)


def withhold_at_send(services: Services, claim: Claim) -> bool:
    """Fail (opted out) or hold (quiet hours) a claimed message; True when it must not go now."""
    answered = aliased(messages)
    # One read, every part by primary key: the message, what it answers, and an opt-out of
    # this number or of the whole account (the same test as consent.is_opted_out).
    opted_out_now = exists().where(
        opt_outs.c.their_number == claim.their_number,
        opt_outs.c.our_number.in_([claim.our_number, ACCOUNT_WIDE]),
    )
    with reading(services.engine) as conn:
        row = conn.execute(
            select(
                messages.c.kind,
                answered.c.created_at.label("answers_at"),
                opted_out_now.label("opted_out"),
            )
            .outerjoin(answered, answered.c.id == messages.c.reply_to_id)
            .where(messages.c.id == claim.message_id)
        ).first()
    if row is None:
        return False
    opted_out = row.kind not in ALWAYS_SENT and bool(row.opted_out)
    now = services.clock()
    settings = services.config.compliance
    late = now - claim.created_at > CONFIRMATION_WINDOW
    if late and row.kind == "compliance" and claim.text == settings.opt_out_reply:
        # The one confirmation an opt-out allows must follow it within minutes, or not at all.
        mark_failed(
            services.engine,
            claim,
            now,
            reason="too_old",
            error_text="an opt-out confirmation goes out within 5 minutes or not at all",
            attempted=False,
        )
        return True
    if row.kind in ALWAYS_SENT:
        return False
    if opted_out:
        mark_failed(
            services.engine,
            claim,
            now,
            reason=OPTED_OUT,
            error_text="the recipient opted out",
            attempted=False,
        )
        log.info("message %s not sent: %s opted out", claim.message_id, claim.their_number)
        return True
    quiet = settings.quiet
    until = hold_until(claim.their_number, row.kind, now, quiet, answers_at=utc(row.answers_at))
    if until is None:
        return False
    hold_claim(services.engine, claim, until, now, describe_hold(claim.their_number, until, quiet))
    log.info("message %s held until %s (quiet hours)", claim.message_id, until.isoformat())
    return True
