"""The last check before a message leaves: a later opt-out wins, quiet hours hold it back."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import aliased

from responder.compliance.optout import is_opted_out
from responder.compliance.quiet import hold_until
from responder.services import Services
from responder.store.db import reading
from responder.store.outbox import Claim, mark_failed
from responder.store.rows import utc
from responder.store.tables import messages
from responder.store.withheld import OPTED_OUT, hold_claim

log = logging.getLogger(__name__)

# Rows that are not an SMS to the person in the thread, or that must reach them regardless.
ALWAYS_SENT = frozenset({"compliance", "webhook"})


def withhold_at_send(services: Services, claim: Claim) -> bool:
    """Fail (opted out) or hold (quiet hours) a claimed message; True when it must not go now."""
    answered = aliased(messages)
    with reading(services.engine) as conn:
        row = conn.execute(
            select(messages.c.kind, answered.c.created_at.label("answers_at"))
            .outerjoin(answered, answered.c.id == messages.c.reply_to_id)
            .where(messages.c.id == claim.message_id)
        ).first()
        if row is None or row.kind in ALWAYS_SENT:
            return False
        opted_out = is_opted_out(conn, claim.our_number, claim.their_number)
    now = services.clock()
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
    quiet = services.config.compliance.quiet
    until = hold_until(claim.their_number, row.kind, now, quiet, answers_at=utc(row.answers_at))
    if until is None:
        return False
    hold_claim(services.engine, claim, until, now)
    log.info("message %s held until %s (quiet hours)", claim.message_id, until.isoformat())
    return True
