"""Why an inbound message got no reply: kept in its `handled` event, read back by the inbox."""

from __future__ import annotations

NO_MATCH = "no rule matched and no fallback"
EVALUATION_FAILED = "rule evaluation failed"
BUDGET_USED_UP = "automatic reply budget used up"
TEMPLATE_FAILED = "reply template failed"
# These two start a longer reason: the breaker's end and cause, the reply's problem.
BREAKER_OPEN = "loop breaker open"
UNUSABLE_REPLY = "unusable reply"

# A reply was due but none went out: someone should look. Silence on purpose (opted out, a
# repeated STOP, a paused thread, a cooldown, a rule without a reply) is not among them.
UNANSWERED = (NO_MATCH, EVALUATION_FAILED, BUDGET_USED_UP, TEMPLATE_FAILED)
UNANSWERED_PREFIXES = (BREAKER_OPEN, UNUSABLE_REPLY)
