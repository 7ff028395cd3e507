"""The last check before a message leaves: a later opt-out wins, quiet hours hold it back."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import bindparam, exists, select

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


_ANSWERED = messages.alias("answered")
# One read, every part by primary key: the message, what it answers, and an opt-out of this
# number or of the whole account (the same test as consent.is_opted_out). Built once: the
# sender runs it before every send.
_CHECK = (
    select(
        messages.c.kind,
        _ANSWERED.c.created_at.label("answers_at"),
        exists()
        .where(
            opt_outs.c.their_number == bindparam("their"),
            opt_outs.c.our_number.in_([bindparam("our"), ACCOUNT_WIDE]),
        )
        .label("opted_out"),
    )
    .outerjoin(_ANSWERED, _ANSWERED.c.id == messages.c.reply_to_id)
    .where(messages.c.id == bindparam("message_id"))
)


def withhold_at_send(services: Services, claim: Claim) -> bool:
    """Fail (opted out) or hold (quiet hours) a claimed message; True when it must not go now."""
    values = {"their": claim.their_number, "our": claim.our_number, "message_id": claim.message_id}
    with reading(services.engine) as conn:
        row = conn.execute(_CHECK, values).first()
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
