"""AlphaSMS as an SmsProvider, and its settings read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from responder.alphasms import (
    DEFAULT_URL,
    AlphaPrice,
    AlphaSendResult,
    AlphaSmsClient,
    AlphaSmsError,
    DeliveryState,
    DeliveryStatus,
    check_sender_name,
)
from responder.providers.base import OutboundSms, SendResult
from responder.secret import Secret

__all__ = [
    "DEFAULT_URL",
    "AlphaPrice",
    "AlphaSendResult",
    "AlphaSmsClient",
    "AlphaSmsError",
    "AlphaSmsProvider",
    "AlphaSmsSettings",
    "DeliveryState",
    "DeliveryStatus",
    "read_alphasms_settings",
]


@dataclass(frozen=True)
class AlphaSmsSettings:
    """How to reach AlphaSMS: the API key, our registered sender name and the endpoint."""

    api_key: Secret
    sender: str
    url: str = DEFAULT_URL

    def make_client(self, *, timeout: float = 10.0) -> AlphaSmsClient:
        return AlphaSmsClient(self.url, self.api_key, timeout=timeout)


class AlphaSmsProvider:
    """Sends through AlphaSMS under one alpha-name; the outbox's our_number is not the sender."""

    name = "alphasms"

    def __init__(self, client: AlphaSmsClient, sender_name: str) -> None:
        problem = check_sender_name(sender_name)
        if problem is not None:
            raise ValueError(f"AlphaSMS sender name {problem}")
        self.client = client
        self.sender_name = sender_name

    def send(self, sms: OutboundSms) -> SendResult:
        """Send *sms*; raises AlphaSmsError, whose kind UNKNOWN means "do not resend blindly"."""
        result = self.client.send(
            self.sender_name, sms.their_number, sms.text, our_id=str(sms.outbox_id)
        )
        return SendResult(provider_message_id=result.message_id, fragments=result.sms_count)


_VARS = ("ALPHASMS_API_KEY", "ALPHASMS_SENDER", "ALPHASMS_URL")


def read_alphasms_settings(
    environ: Mapping[str, str],
) -> tuple[AlphaSmsSettings | None, list[str]]:
    """AlphaSMS settings from *environ* (None when none of its variables is set), plus problems."""
    values = {name: (environ.get(name) or "").strip() for name in _VARS}
    if not any(values.values()):
        return None, []
    problems: list[str] = []
    key = values["ALPHASMS_API_KEY"]
    sender = values["ALPHASMS_SENDER"]
    url = values["ALPHASMS_URL"] or DEFAULT_URL
    if not key:
        problems.append(
            "ALPHASMS_API_KEY: missing; it is required once any ALPHASMS_* variable is set "
            "(cabinet: SMS -> Settings -> API)"
        )
    elif any(c.isspace() for c in key):
        problems.append("ALPHASMS_API_KEY: contains whitespace; paste the key alone")
    if not sender:
        problems.append(
            "ALPHASMS_SENDER: missing; set the alpha-name registered in the AlphaSMS cabinet"
        )
    else:
        problem = check_sender_name(sender)
        if problem is not None:
            problems.append(f"ALPHASMS_SENDER: {problem}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(
            f"ALPHASMS_URL: expected an http(s) URL such as {DEFAULT_URL} (got {url!r})"
        )
    if problems:
        return None, problems
    return AlphaSmsSettings(api_key=Secret(key), sender=sender, url=url), []
