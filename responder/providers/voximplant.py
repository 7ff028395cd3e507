"""The Voximplant SMS provider: one outbox message becomes one SendSmsMessage request."""

from __future__ import annotations

from responder.errors import ErrorKind
from responder.providers.base import OutboundSms, SendResult
from responder.voximplant.api import VoximplantClient
from responder.voximplant.errors import VoximplantApiError
from responder.voximplant.wire import as_int, as_text

__all__ = ["VoximplantApiError", "VoximplantClient", "VoximplantProvider"]


class VoximplantProvider:
    """Sends replies with SendSmsMessage from our Voximplant number."""

    name = "voximplant"

    def __init__(self, client: VoximplantClient) -> None:
        self.client = client

    def send(self, sms: OutboundSms) -> SendResult:
        """Send *sms*; raise VoximplantApiError when Voximplant does not accept it."""
        answer = self.client.call(
            "SendSmsMessage",
            {
                "source": sms.our_number.lstrip("+"),
                "destination": sms.their_number.lstrip("+"),
                "sms_body": sms.text,
            },
        )
        if as_int(answer.get("result")) != 1:
            # Neither an error nor a success: the gateway may have taken the message.
            raise VoximplantApiError(
                f"answer without result 1 (got {answer.get('result')!r})",
                kind=ErrorKind.UNKNOWN,
                method="SendSmsMessage",
            )
        # Older answers carry no message_id; the send still succeeded.
        return SendResult(
            provider_message_id=as_text(answer.get("message_id")),
            fragments=as_int(answer.get("fragments_count")),
        )
