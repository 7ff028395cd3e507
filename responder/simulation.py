"""What the service would answer to one message, worked out without storing or sending anything."""

from __future__ import annotations

from datetime import datetime

from responder.decide import Decision
from responder.intake import decide_inbound
from responder.services import Services
from responder.store.threads import append_message, get_or_create_thread


def simulate_message(
    services: Services,
    our_number: str,
    their_number: str,
    text: str,
    *,
    now: datetime | None = None,
) -> Decision:
    """Decide on *text* exactly as intake would if it arrived now, then forget it all.

    The message is stored and decided on inside a transaction that is rolled back, so the
    compliance gate, the loop breaker and conversation state see what they would see live,
    and nothing stays behind: no message, no ledger entry, nothing in the outbox.
    """
    now = now or services.clock()
    ruleset = services.rules.current()
    with services.engine.connect() as conn:
        transaction = conn.begin()
        try:
            thread = get_or_create_thread(conn, our_number, their_number, now)
            message_id = append_message(
                conn, thread, now, direction="in", kind="inbound", text=text
            )
            return decide_inbound(conn, services, ruleset, thread, message_id, text, now)
        finally:
            transaction.rollback()
