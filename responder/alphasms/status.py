"""AlphaSMS delivery codes (command=receive) and the words we store for them."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DeliveryState(enum.Enum):
    """Our word for where a message is, whatever the gateway called it."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"


# code -> (our word, final). Final means the code will not change again, so polling can stop.
# 50 (only some parts delivered) counts as failed: the reader did not get the whole text.
# 5 (subscriber out of touch) is still with the operator, which keeps trying.
CODES: dict[int, tuple[DeliveryState, bool]] = {
    0: (DeliveryState.QUEUED, False),
    1: (DeliveryState.QUEUED, False),
    2: (DeliveryState.SENT, False),
    3: (DeliveryState.DELIVERED, True),
    5: (DeliveryState.SENT, False),
    10: (DeliveryState.FAILED, True),
    50: (DeliveryState.FAILED, True),
    95: (DeliveryState.FAILED, True),
    96: (DeliveryState.FAILED, True),
    99: (DeliveryState.FAILED, True),
    116: (DeliveryState.DELIVERED, True),
}


@dataclass(frozen=True)
class DeliveryStatus:
    """One message's delivery state as the gateway reported it, or why it could not say."""

    message_id: str
    state: DeliveryState
    final: bool = False
    code: int | None = None
    provider_text: str | None = None
    status_time: str | None = None
    error: str | None = None


def state_for_code(code: int | None) -> tuple[DeliveryState, bool]:
    """Our word for a delivery *code* and whether it is final; unknown codes keep polling."""
    if code is None:
        return DeliveryState.UNKNOWN, False
    return CODES.get(code, (DeliveryState.UNKNOWN, False))


def parse_status(message_id: str, reply: dict[str, str]) -> DeliveryStatus:
    """Build a DeliveryStatus from a receive reply; the human "status" text is kept, not used."""
    raw_code = reply.get("code", "")
    code = int(raw_code) if raw_code.isdecimal() else None
    state, final = state_for_code(code)
    return DeliveryStatus(
        message_id=message_id,
        state=state,
        final=final,
        code=code,
        provider_text=reply.get("status"),
        status_time=reply.get("status_time"),
    )
