"""Segment counting: the spec's reference vectors, the GSM tables and the counting edge cases."""

from __future__ import annotations

import pytest

from responder.sms import SegmentCount, count_segments, first_non_gsm
from responder.sms.gsm import GSM_DEFAULT, GSM_EXTENSION, is_gsm_char, septets

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 11 UTF-16 units


def vector(number: int, text: str, smart: bool, encoding: str, units: tuple[int, ...]) -> object:
    return pytest.param(text, smart, encoding, units, id=f"vector-{number}")


# docs/spec sms-encoding.md §7 (recipe, smart, encoding, units per part); the segment count
# is the number of parts. 21 and 32 come from the prose of §3 and §4.
SPEC_VECTORS = [
    vector(1, "", False, "GSM-7", (0,)),
    vector(2, "a" * 160, False, "GSM-7", (160,)),
    vector(3, "a" * 161, False, "GSM-7", (153, 8)),
    vector(4, "a" * 306, False, "GSM-7", (153, 153)),
    vector(7, "\u20ac" * 80, False, "GSM-7", (160,)),
    vector(8, "\u20ac" * 80 + "a", False, "GSM-7", (152, 9)),
    vector(10, "]" * 153, False, "GSM-7", (152, 152, 2)),
    vector(14, "\u0456" * 70, False, "UCS-2", (70,)),
    vector(15, "\u0456" * 71, False, "UCS-2", (67, 4)),
    vector(18, "\U0001f600" * 35, False, "UCS-2", (70,)),
    vector(19, "\U0001f600" * 36, False, "UCS-2", (66, 6)),
    vector(21, "a" * 60 + FAMILY + "a" * 60, False, "UCS-2", (60, 67, 4)),
    vector(25, "\u00e9" * 70, False, "GSM-7", (70,)),
    vector(26, "\u00e7", False, "UCS-2", (1,)),
    vector(29, "\u201cHello\u201d \u2014 it\u2019s\u2026", True, "GSM-7", (17,)),
    vector(32, "a" * 159 + "\u00a0", True, "GSM-7", (153, 8)),
    vector(33, "a\tb", False, "UCS-2", (3,)),
]


@pytest.mark.parametrize(("text", "smart", "encoding", "units"), SPEC_VECTORS)
def test_spec_vector_counts_as_the_reference_does(
    text: str, smart: bool, encoding: str, units: tuple[int, ...]
) -> None:
    count = count_segments(text, smart=smart)
    assert (count.encoding, count.segments, count.units_per_part) == (encoding, len(units), units)


def test_gsm_alphabet_has_the_137_characters_of_ts_23_038() -> None:
    assert len(GSM_DEFAULT) == 127
    assert len(GSM_EXTENSION) == 10
    assert not set(GSM_DEFAULT) & set(GSM_EXTENSION)
    assert sorted(GSM_DEFAULT.values()) == [code for code in range(128) if code != 0x1B]


@pytest.mark.parametrize(
    ("char", "code"),
    [("@", 0x00), ("$", 0x02), ("\n", 0x0A), ("\r", 0x0D), ("_", 0x11), ("\u039e", 0x1A),
     ("\u00c9", 0x1F), ("\u00a4", 0x24), ("\u00a1", 0x40), ("\u00a7", 0x5F), ("\u00bf", 0x60),
     ("\u00e0", 0x7F)],
)  # fmt: skip
def test_default_table_puts_characters_at_their_gsm_codes(char: str, code: int) -> None:
    assert GSM_DEFAULT[char] == code


@pytest.mark.parametrize("char", ["`", "\u00e7", "\u0391", "\x1b", "\u2126", "\u00a0", "\t"])
def test_characters_outside_the_alphabet_are_not_gsm(char: str) -> None:
    assert not is_gsm_char(char)
    with pytest.raises(ValueError, match=r"not in the GSM 03\.38 alphabet"):
        septets(char)


def test_extension_characters_cost_two_septets_and_stay_one_character() -> None:
    assert [septets(char) for char in "a[\u20ac\x0c"] == [1, 2, 2, 2]


def test_raw_escape_forces_ucs2() -> None:
    assert count_segments("hello\x1b").encoding == "UCS-2"


def test_decomposed_accent_forces_ucs2_but_precomposed_does_not() -> None:
    assert count_segments("caf\u00e9").encoding == "GSM-7"
    assert count_segments("cafe\u0301").encoding == "UCS-2"


def test_crlf_costs_two_septets_and_may_straddle_parts() -> None:
    count = count_segments("a" * 152 + "\r\n" + "b" * 10)
    assert count.units_per_part == (153, 11)


def test_crlf_counts_as_two_units_in_ucs2() -> None:
    assert count_segments("\u0456\r\n").units_per_part == (3,)


def test_flag_moves_whole_to_the_next_part() -> None:
    count = count_segments("\u0456" * 65 + "\U0001f1fa\U0001f1e6" + "\u0456" * 2)
    assert count.units_per_part == (65, 6)


def test_cluster_longer_than_a_part_is_cut_into_code_points() -> None:
    # The reference answers (0, 101) here: an empty part, then one no phone can receive.
    count = count_segments("a" + "\u0301" * 100)
    assert count.units_per_part == (67, 34)


def test_smart_count_keeps_the_text_as_sent() -> None:
    count = count_segments("it\u2019s\u00a0ok", smart=True)
    assert count.text == "it's  ok"
    assert count_segments("it\u2019s", smart=False).text == "it\u2019s"


def test_to_dict_is_the_json_shape() -> None:
    count = SegmentCount(encoding="UCS-2", segments=2, units_per_part=(67, 4), text="x")
    assert count.to_dict() == {"encoding": "UCS-2", "segments": 2, "units_per_part": [67, 4]}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        pytest.param("", None, id="empty"),
        pytest.param("Hello [world] \u20ac5", None, id="gsm-with-extension"),
        pytest.param("Hi \u201cthere\u201d", (3, "\u201c"), id="curly-quote"),
        pytest.param("cafe\u0301", (4, "\u0301"), id="combining-accent"),
        pytest.param("ok\u200b", (2, "\u200b"), id="zero-width-space"),
        pytest.param("\U0001f600 a", (0, "\U0001f600"), id="emoji-first"),
    ],
)
def test_first_non_gsm_names_the_character_that_forces_ucs2(
    text: str, found: tuple[int, str] | None
) -> None:
    assert first_non_gsm(text) == found
