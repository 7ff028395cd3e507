"""What the service would answer to one message, worked out without storing or sending anything."""

from __future__ import annotations

from datetime import datetime

from responder.decide import Decision, decide
from responder.services import Services
from responder.store.db import reading
from responder.store.threads import Thread, find_thread, last_replies_by_rule


def simulate_message(
    services: Services,
    our_number: str,
    their_number: str,
    text: str,
    *,
    now: datetime | None = None,
) -> Decision:
    """Decide on *text* as if it arrived now in the thread of the two numbers; reads only."""
    now = now or services.clock()
    with reading(services.engine) as conn:
        thread = find_thread(conn, our_number, their_number)
        fired = last_replies_by_rule(conn, thread.id) if thread else {}
    if thread is None:
        thread = Thread(0, our_number, their_number, now, now)
    return decide(text, thread, services.rules.current(), now, fired)
