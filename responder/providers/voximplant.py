"""The Voximplant SMS provider: one outbox message becomes one SendSmsMessage request."""

from __future__ import annotations

from datetime import datetime

from responder.providers.base import OutboundSms, SendResult
from responder.voximplant.api import VoximplantClient
from responder.voximplant.errors import VoximplantApiError

__all__ = ["VoximplantApiError", "VoximplantClient", "VoximplantProvider"]


class VoximplantProvider:
    """Sends replies with SendSmsMessage from our Voximplant number."""

    name = "voximplant"

    def __init__(self, client: VoximplantClient) -> None:
        self.client = client

    def send(self, sms: OutboundSms) -> SendResult:
        """Send *sms*; raise VoximplantApiError (a ProviderError) when it is not accepted."""
        sent = self.client.send_sms_message(sms.our_number, sms.their_number, sms.text)
        return SendResult(provider_message_id=sent.message_id, fragments=sent.fragments_count)

    def sent_since(self, sms: OutboundSms, since: datetime) -> list[SendResult]:
        """Messages from our number to theirs the gateway processed since *since*, oldest first.

        The sender asks before it sends again after an attempt whose outcome it never saw; an
        item whose text the history keeps must match, one without text (store_body off) may.
        """
        page = self.client.get_sms_history(
            source_number=sms.our_number,
            destination_number=sms.their_number,
            direction="out",
            from_date=since,
            count=100,
        )
        items = sorted(page.items, key=lambda item: (item.processed_at is None, item.processed_at))
        return [
            SendResult(provider_message_id=item.message_id, fragments=item.fragments)
            for item in items
            if item.text is None or item.text == sms.text
        ]
