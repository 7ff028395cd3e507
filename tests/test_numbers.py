"""Phone numbers from people and from the network, normalised to digits-only E.164."""

from __future__ import annotations

import pytest

from responder.errors import InvalidNumberError
from responder.numbers import callback_number, normalise_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 7443 332212", "447443332212"),
        ("447443332212", "447443332212"),
        ("00 44 7443 332212", "447443332212"),
        ("+44 (0) 7443 332212", "447443332212"),
        ("+1 (212) 555-0100", "12125550100"),
        ("1-212-555-0100", "12125550100"),
        (" +7 916 123-45-67 ", "79161234567"),
    ],
)
def test_numbers_are_normalised(raw, expected):
    assert normalise_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty phone number"),
        ("abc", "'abc' is not a phone number: it has no digits"),
        (
            "07443 332212",
            "'07443 332212' is a national number: give it with its country code, "
            "e.g. +44 7443 332212 or 447443332212",
        ),
        ("2125550100", "'2125550100' is not a valid international phone number"),
        ("4412345", "'4412345' is not a valid international phone number"),
    ],
)
def test_bad_numbers_get_a_clear_error(raw, message):
    with pytest.raises(InvalidNumberError) as caught:
        normalise_number(raw)
    assert str(caught.value) == message


def test_numbers_from_callbacks_are_never_refused():
    assert callback_number("447443332212") == "447443332212"
    assert callback_number("+44 7443 332212") == "447443332212"
    assert callback_number("12345") == "12345"  # a short code
