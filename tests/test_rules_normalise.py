"""How message text is folded before matching, and how regex rules see it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from responder.ruleset.normalise import normalise_keyword, parse_text
from responder.ruleset.prefilter import first_words
from tests.test_rules_helpers import ask, load


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("  Hello,   WORLD!! ", ("hello", "world")),
        ("CAFÉ crème brûlée", ("cafe", "creme", "brulee")),
        ("Ørsted Łódź Straße", ("orsted", "lodz", "strasse")),
        ("ЦІНА?", ("ціна",)),
        ("Йогурт", ("йогурт",)),  # the breve stays: й is not и
        ("ΚΑΦΈ", ("καφέ",)),  # Greek keeps its accents too
        ("ＨＯＵＲＳ", ("hours",)),  # full-width letters
        ("don’t", ("don't",)),
        ("thanks👍👍", ("thanks", "👍", "👍")),
        ("❤️ it", ("❤", "it")),
        ("👍🏽 ok", ("👍🏽", "ok")),
        ("🇬🇧🇺🇦", ("🇬🇧", "🇺🇦")),
        ("order #123.", ("order", "123")),
        ("-- ... --", ()),
        ("", ()),
    ],
)
def test_words_are_folded(text: str, words: tuple[str, ...]) -> None:
    assert parse_text(text).words == words


def test_regex_sees_case_and_inner_punctuation() -> None:
    assert parse_text("  Order   #A-12,  please!").clean == "Order A-12 please"


def test_keywords_fold_the_same_way() -> None:
    assert normalise_keyword("Café Crème") == ("cafe", "creme")
    assert normalise_keyword("?!") == ()


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"^order\s+(?P<n>\d+)$", {"order"}),
        (r"^(?:order|repair)\s+\d+", {"order", "repair"}),
        (r"^(?P<cmd>ORDER|Repair) (\d+)", {"order", "repair"}),
        (r"^order$", {"order"}),
        (r"^order\b", None),  # "order-12" would match, and its first word is "order-12"
        (r"^orders?\s", None),
        (r"order\s+\d+", None),
        (r"(?m)^order\s", None),
        (r"^\w+\s", None),
    ],
)
def test_regex_first_word_analysis(pattern: str, words: set[str] | None) -> None:
    found = first_words(re.compile(pattern, re.IGNORECASE))
    assert (set(found) if found is not None else None) == words


@pytest.mark.parametrize(
    "text",
    ["order 12", "ORDER 12", "  Order    12  ", "#order 12", "(order) 12", "ORDER 12.", "ıtem 12"],
)
def test_regex_rules_found_by_first_word_still_see_every_spelling(
    tmp_path: Path, text: str
) -> None:
    ruleset = load(
        tmp_path,
        main=r"""
        rules:
          - {id: order, match: regex, pattern: '^order\s+(?P<n>\d+)$', reply: "{{ n }}"}
          - {id: item, match: regex, pattern: '^item\s+(?P<n>\d+)$', reply: "item {{ n }}"}
        """,
    )
    fast, slow = ask(ruleset, text), ask(ruleset, text, verbose=True)
    assert (fast.rule_id, fast.reply) == (slow.rule_id, slow.reply)
    assert fast.reply in ("12", "item 12")
