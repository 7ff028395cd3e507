"""A provider that only logs what it would send: the default when no credentials are set."""

from __future__ import annotations

import logging
import uuid

from responder.providers.base import OutboundSms, SendResult
from responder.sms.segments import count_segments

log = logging.getLogger("responder.providers.log")


class LogProvider:
    """Writes each SMS to the log and reports it as sent."""

    name = "log"

    def send(self, sms: OutboundSms) -> SendResult:
        segments = count_segments(sms.text).segments
        log.info(
            "SMS (not sent, log provider) from %s to %s, %d segment(s): %s",
            sms.our_number,
            sms.their_number,
            segments,
            sms.text,
        )
        return SendResult(provider_message_id=f"log-{uuid.uuid4().hex[:12]}", fragments=segments)
