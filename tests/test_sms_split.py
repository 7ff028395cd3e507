"""Splitting long replies for the provider's length limit, and rejecting empty ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from responder.sms.segments import graphemes, utf16_units
from responder.sms.split import split_for_limit, validate_reply

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 11 UTF-16 units
WORDS = ["a", "order", "12345", "\u043f\u0440\u0438\u0432\u0456\u0442", "caf\u00e9", "e\u0301",
         FAMILY, "\U0001f1fa\U0001f1e6", "x" * 40, "no\u00a0break"]  # fmt: skip
SPACES = [" ", "  ", "\n", "\r\n", "\t", " \n "]


def locate(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Find each piece in *text* in order, allowing only whitespace between them."""
    spans = []
    position = 0
    for piece in pieces:
        start = text.index(piece, position)
        assert text[position:start].isspace() or start == position, (position, start)
        spans.append((start, start + len(piece)))
        position = start + len(piece)
    assert not text[position:].strip()
    return spans


def cluster_bounds(text: str) -> set[int]:
    bounds = {0}
    for cluster in graphemes(text):
        bounds.add(max(bounds) + len(cluster))
    return bounds


def test_text_that_fits_comes_back_unchanged() -> None:
    assert split_for_limit("  hello world  ", 765) == ["  hello world  "]


def test_long_reply_is_cut_at_word_boundaries() -> None:
    assert split_for_limit("one two three four five", 9) == ["one two", "three", "four five"]


def test_overlong_word_is_cut_at_grapheme_boundaries() -> None:
    assert split_for_limit("ab" + FAMILY + "cd", 12) == ["ab", FAMILY + "c", "d"]


def test_cluster_longer_than_the_limit_is_cut_into_code_points() -> None:
    assert split_for_limit(FAMILY, 4) == [
        "\U0001f468\u200d",
        "\U0001f469\u200d",
        "\U0001f467\u200d",
        "\U0001f466",
    ]


def test_no_break_space_keeps_words_together() -> None:
    assert split_for_limit("ab cd\u00a0ef gh", 6) == ["ab", "cd\u00a0ef", "gh"]


def test_provider_limits_give_the_expected_number_of_messages() -> None:
    reply = " ".join(["word"] * 400)  # 1999 characters
    assert [len(piece) for piece in split_for_limit(reply, 765)] == [764, 764, 469]
    assert len(split_for_limit(reply, 1600)) == 2


def test_limit_below_one_code_point_is_refused() -> None:
    with pytest.raises(ValueError, match="max_chars must be at least 2"):
        split_for_limit("abc", 1)


@pytest.mark.parametrize("text", ["", " ", "\n\t ", "\u200b", " \ufeff\u200d "])
def test_empty_reply_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="empty reply"):
        validate_reply(text)


@pytest.mark.parametrize("text", ["ok", " .", "\U0001f44d"])
def test_visible_reply_is_accepted(text: str) -> None:
    validate_reply(text)


reply_text = st.lists(st.one_of(st.sampled_from(WORDS + SPACES), st.text(max_size=4))).map("".join)


@given(reply_text, st.integers(min_value=2, max_value=120))
def test_pieces_fit_and_rejoin_to_the_reply(text: str, limit: int) -> None:
    pieces = split_for_limit(text, limit)
    assert all(utf16_units(piece) <= limit for piece in pieces)
    if utf16_units(text) <= limit:
        assert pieces == [text]
        return
    assert all(pieces)
    locate(text, pieces)


@given(reply_text, st.integers(min_value=12, max_value=120))
def test_pieces_never_split_a_grapheme_that_fits(text: str, limit: int) -> None:
    # Every sample cluster is at most 11 units, so with a limit of 12 none may be cut.
    if any(utf16_units(cluster) > limit for cluster in graphemes(text)):
        return
    bounds = cluster_bounds(text)
    for start, end in locate(text, split_for_limit(text, limit)):
        assert start in bounds
        assert end in bounds
