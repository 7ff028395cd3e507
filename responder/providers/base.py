"""The provider contract: what the sender hands a provider and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutboundSms:
    """One message to send: our outbox id, both numbers (digits-only E.164) and the text."""

    outbox_id: int
    our_number: str
    their_number: str
    text: str


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_message_id: str | None
    fragments: int | None = None
    provider: str | None = None  # who actually sent it, when a router chose among several
    detail: str | None = None  # what else the answer said, for the message's history


class SmsProvider(Protocol):
    """Sends one SMS or raises responder.errors.ProviderError."""

    name: str

    def send(self, sms: OutboundSms) -> SendResult: ...
