"""Callback security hash: md5(salt + account_id + api_key + callback_id), constant-time."""

from __future__ import annotations

import hashlib
import hmac

from responder.errors import SignatureError
from responder.secret import Secret


def expected_hash(salt: Secret, account_id: int, api_key: Secret, callback_id: int) -> str:
    text = f"{salt.reveal()}{account_id}{api_key.reveal()}{callback_id}"
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def verify(
    received: str | None, *, salt: Secret, api_key: Secret, account_id: int, callback_id: int
) -> None:
    """Raise SignatureError unless *received* is the hash Voximplant computes for this callback."""
    if not received:
        raise SignatureError("security hash missing")
    expected = expected_hash(salt, account_id, api_key, callback_id)
    if not hmac.compare_digest(expected.encode(), received.strip().lower().encode()):
        raise SignatureError("security hash mismatch")
