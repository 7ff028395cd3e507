"""The AlphaSMS gateway (alphasms.ua, /api/http.php): reply parsing, delivery codes, the client."""

from responder.alphasms.client import (
    DEFAULT_URL,
    AlphaPrice,
    AlphaSendResult,
    AlphaSmsClient,
    check_sender_name,
    endpoint_url,
)
from responder.alphasms.errors import AlphaSmsError
from responder.alphasms.reply import parse_pairs
from responder.alphasms.status import DeliveryState, DeliveryStatus, state_for_code

__all__ = [
    "DEFAULT_URL",
    "AlphaPrice",
    "AlphaSendResult",
    "AlphaSmsClient",
    "AlphaSmsError",
    "DeliveryState",
    "DeliveryStatus",
    "check_sender_name",
    "endpoint_url",
    "parse_pairs",
    "state_for_code",
]
