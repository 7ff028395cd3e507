"""Phone numbers: parse, validate and normalise to the digits-only international form."""

from __future__ import annotations

import functools
import re

import phonenumbers

from responder.errors import InvalidNumberError

_NON_DIGITS = re.compile(r"\D+")


def normalise_number(raw: str) -> str:
    """Return *raw* as digits-only E.164 (no '+'), or raise InvalidNumberError.

    Accepted: `+44 7443 332212`, `00447443332212`, `447443332212`, with any spacing,
    brackets or dashes. A national number (`07443 332212`) is refused, since the country
    it belongs to cannot be known.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InvalidNumberError("empty phone number")
    digits = digits_only(text)
    if not digits:
        raise InvalidNumberError(f"{raw!r} is not a phone number: it has no digits")
    international = text.lstrip("( ").startswith("+")
    if not international and digits.startswith("00"):
        text, international = "+" + digits[2:], True
    if not international and digits.startswith("0"):
        raise InvalidNumberError(
            f"{raw!r} is a national number: give it with its country code, "
            "e.g. +44 7443 332212 or 447443332212"
        )
    candidate = text if international else "+" + text
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


# Each callback asks for both of its numbers, and the same numbers come again and again:
# phonenumbers' parse and validation cost more than storing the message.
@functools.lru_cache(maxsize=4096)
def callback_number(raw: str) -> str:
    """Normalise a number found in a callback: validated when possible, digits when not."""
    try:
        return normalise_number(raw)
    except InvalidNumberError:
        return digits_only(raw)
