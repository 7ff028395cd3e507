"""Phone numbers: parse, validate and normalise to the digits-only international form."""

from __future__ import annotations

import re

import phonenumbers

from responder.errors import InvalidNumberError

_NON_DIGITS = re.compile(r"\D+")


def normalise_number(raw: str) -> str:
    """Return *raw* as digits-only E.164 (no '+'), or raise InvalidNumberError."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InvalidNumberError("empty phone number")
    candidate = text if text.startswith("+") else "+" + text.lstrip("0")
    if text.startswith("00"):
        candidate = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumberError(f"{raw!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumberError(f"{raw!r} is not a valid international phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def digits_only(raw: str) -> str:
    """Strip everything but digits; used for numbers received from the network, never rejected."""
    return _NON_DIGITS.sub("", raw)


def callback_number(raw: str) -> str:
    """Normalise a number found in a callback: validated when possible, digits when not."""
    try:
        return normalise_number(raw)
    except InvalidNumberError:
        return digits_only(raw)
