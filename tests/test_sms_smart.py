"""Smart encoding: which look-alikes become which GSM characters, and what stays."""

from __future__ import annotations

import pytest

from responder.sms.gsm import is_gsm_char
from responder.sms.smart import SMART_MAP, smart_encode


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        pytest.param(
            "\u00abOui\u00bb \u201cyes\u201d \u201ehe\u201f", '"Oui" "yes" "he"', id="double-quotes"
        ),
        pytest.param(
            "it\u2019s \u2018a\u2019 `b` \u00b4c\u02bc", "it's 'a' 'b' 'c'", id="single-quotes"
        ),
        pytest.param(
            "a\u2013b\u2014c\u2015d \u2022 e\u2043", "a-b-c-d - e-", id="dashes-and-bullets"
        ),
        pytest.param("wait\u2026 now\u203c", "wait... now!!", id="ellipsis-and-double-bang"),
        pytest.param("\u00bc \u00bd \u00be", "1/4 1/2 3/4", id="fractions"),
        pytest.param("6\u00f72 1\u20442 a\u2215b", "6/2 1/2 a/b", id="slashes"),
        pytest.param("\uff21\uff22\uff23 \uff11\uff12\uff13\uff01", "ABC 123!", id="full-width"),
        pytest.param("\uff5b\uff3b\uff5e\uff3c", "{[~\\", id="full-width-brackets-to-extension"),
        pytest.param("\ufe50\ufe52\ufe5f\ufe6b", ",.#@", id="small-forms"),
        pytest.param("\u1d00\u0299\u1d04 \u1d05\u1d07", "ABC DE", id="small-capitals"),
        pytest.param("\u2039a\u203a", "<a>", id="single-guillemets-not-swapped"),
        pytest.param("a\u00a0b\u2009c\u3000d", "a  b  c  d", id="wide-spaces-become-two"),
        pytest.param("a\u2001b\u2028c\u2029d", "a b c d", id="some-spaces-become-one"),
        pytest.param("a\tb", "a       b", id="tab-becomes-seven-spaces"),
        pytest.param("a\u200bb\u200cc\u2060d\ufeffe\x00f", "abcdef", id="invisible-removed"),
    ],
)
def test_look_alikes_become_gsm(text: str, sent: str) -> None:
    assert smart_encode(text) == sent


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\u00e1\u00e7", id="accented-letters"),
        pytest.param("\u043f\u0440\u0438\u0432\u0456\u0442", id="cyrillic"),
        pytest.param("\U0001f468\u200d\U0001f469\u200d\U0001f467", id="zwj-kept-for-emoji"),
        pytest.param("\uff41\uff42\uff40", id="full-width-lower-case-as-the-reference"),
        pytest.param("\u2011\u2032\u2033", id="non-breaking-hyphen-and-primes-as-the-reference"),
    ],
)
def test_other_characters_pass_through(text: str) -> None:
    assert smart_encode(text) == text


def test_map_has_the_reference_size_and_yields_only_gsm() -> None:
    assert len(SMART_MAP) == 271
    assert all(is_gsm_char(char) for replacement in SMART_MAP.values() for char in replacement)
    assert not any(is_gsm_char(char) for char in SMART_MAP)
