"""The Voximplant SMS provider: one outbox message becomes one SendSmsMessage request."""

from __future__ import annotations

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
