"""Which rule answers a message: match kinds, normalisation, order, numbers, fallback, templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responder.ruleset import Ruleset
from tests.test_rules_helpers import NOW, OTHER, OUR, THEIRS, ask, load

CORE = """
rules:
  - id: hours
    keywords: [hours, open]
    match: first
    reply: "We are open 9:00-17:00, Monday to Friday."
  - id: order-status
    match: regex
    pattern: '^order\\s+(?P<order_id>\\d+)$'
    reply: "Order {{ order_id }} is on its way."
fallback:
  reply: "Sorry, we did not understand. Text HOURS for our opening hours."
"""

KINDS = """
rules:
  - id: only
    keywords: [price]
    match: only
    reply: only
  - id: first
    keywords: [menu, "opening times"]
    match: first
    reply: first
  - id: word
    keywords: [coffee]
    aliases: [espresso]
    match: word
    reply: word
  - id: phrase
    keywords: ["gift card"]
    match: phrase
    reply: phrase
  - id: emoji
    keywords: ["👍", "❤️"]
    match: only
    reply: emoji
  - id: cafe
    keywords: [café]
    match: only
    reply: cafe
  - id: ukrainian
    keywords: [ціна, "йогурт"]
    match: word
    reply: ukrainian
"""


@pytest.fixture
def kinds(tmp_path: Path) -> Ruleset:
    return load(tmp_path, kinds=KINDS)


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        pytest.param("Hours?", "hours", id="first-word-with-punctuation"),
        pytest.param("  OPEN   on sunday ", "hours", id="first-word-extra-space"),
        pytest.param("are you open", "fallback", id="first-word-elsewhere"),
        pytest.param("order 123", "order-status", id="regex"),
        pytest.param("ORDER 123.", "order-status", id="regex-ignores-case-and-trailing-dot"),
        pytest.param("order abc", "fallback", id="regex-no-match"),
    ],
)
def test_minimum_contract(tmp_path: Path, text: str, rule_id: str) -> None:
    ruleset = load(tmp_path, main=CORE)
    assert ask(ruleset, text).rule_id == rule_id


def test_regex_groups_and_numbers_reach_the_reply(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        main=CORE.replace(
            "is on its way.",
            "is on its way, {{ their_number }} (to {{ our_number }}, said {{ text }}).",
        ),
    )
    evaluation = ask(ruleset, "Order 42")
    assert evaluation.reply == f"Order 42 is on its way, {THEIRS} (to {OUR}, said Order 42)."


def test_fallback_answers_when_nothing_matches(tmp_path: Path) -> None:
    evaluation = ask(load(tmp_path, main=CORE), "what?")
    assert (evaluation.rule_id, evaluation.reply) == (
        "fallback",
        "Sorry, we did not understand. Text HOURS for our opening hours.",
    )


def test_no_fallback_means_no_reply(tmp_path: Path) -> None:
    ruleset = load(tmp_path, main=CORE.split("fallback:")[0])
    evaluation = ask(ruleset, "what?")
    assert (evaluation.rule_id, evaluation.reply, evaluation.actions) == (None, None, ())


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("PRICE!", "only"),
        ("price please", None),
        ("Menu for today", "first"),
        ("opening times?", "first"),
        ("what are the opening times", None),
        ("Is the coffee hot?", "word"),
        ("two espresso, please", "word"),
        ("coffees", None),
        ("can I buy a GIFT   card?", "phrase"),
        ("gift for a card", None),
        ("👍", "emoji"),
        ("❤", "emoji"),
        ("❤️", "emoji"),
        ("CAFÉ", "cafe"),
        ("cafe", "cafe"),
        ("ЦІНА?", "ukrainian"),
        ("який йогурт є", "ukrainian"),
        ("иогурт", None),  # й is a letter of its own, not и with an accent
    ],
)
def test_match_kinds(kinds: Ruleset, text: str, rule_id: str | None) -> None:
    assert ask(kinds, text).rule_id == rule_id


def test_first_rule_in_file_order_wins(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        b="""
        rules:
          - {id: b-coffee, keywords: [coffee], match: word, reply: b}
        """,
        a="""
        rules:
          - {id: a-coffee, keywords: [coffee], match: first, reply: a}
          - {id: a-regex, match: regex, pattern: 'coffee', reply: a2}
        """,
    )
    assert ask(ruleset, "coffee").rule_id == "a-coffee"
    assert ask(ruleset, "hot coffee").rule_id == "a-regex"
    assert ask(ruleset, "hot coffees").rule_id == "a-regex"


def test_higher_priority_is_tried_first(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        a="""
        rules:
          - {id: general, keywords: [coffee], match: word, reply: general}
        """,
        b="""
        rules:
          - {id: urgent, keywords: [coffee], match: first, reply: urgent, priority: 10}
        """,
    )
    assert ask(ruleset, "coffee now").rule_id == "urgent"
    assert ask(ruleset, "more coffee").rule_id == "general"


def test_number_specific_rules_come_before_general_ones(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        a_general="""
        rules:
          - {id: hours, keywords: [hours], match: only, reply: shop hours, priority: 5}
        fallback: {reply: shop fallback}
        """,
        b_stall=f"""
        numbers: ["+{OTHER[:2]} {OTHER[2:]}"]
        rules:
          - {{id: stall.hours, keywords: [hours], match: only, reply: stall hours}}
        fallback: {{id: stall.fallback, reply: stall fallback}}
        """,
    )
    assert ask(ruleset, "hours", our=OTHER).reply == "stall hours"
    assert ask(ruleset, "hours", our=OUR).reply == "shop hours"
    assert ask(ruleset, "?", our=OTHER).rule_id == "stall.fallback"
    assert ask(ruleset, "?", our=OUR).reply == "shop fallback"


def test_template_failure_gives_no_reply_and_a_note(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        main="""
        rules:
          - {id: maths, keywords: [sum], match: only, reply: "{{ 1 // 0 }}"}
        """,
    )
    evaluation = ask(ruleset, "sum")
    assert (evaluation.rule_id, evaluation.reply) == ("maths", None)
    assert any("ZeroDivisionError" in note for note in evaluation.trace.notes)


def test_sandbox_blocks_unsafe_attributes(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        main="""
        rules:
          - id: sneaky
            keywords: [x]
            match: only
            reply: "{{ text.__class__.__mro__ }}"
        """,
    )
    evaluation = ask(ruleset, "x")
    assert evaluation.reply is None
    assert any("unsafe" in note for note in evaluation.trace.notes)


def test_now_is_in_the_file_time_zone(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        main="""
        timezone: America/New_York
        rules:
          - {id: clock, keywords: [time], match: only, reply: "{{ now.strftime('%H:%M') }}"}
        """,
    )
    assert ask(ruleset, "time").reply == "07:00"


def test_version_is_a_stable_content_hash(tmp_path: Path) -> None:
    first = load(tmp_path, main=CORE)
    again = load(tmp_path, main=CORE)
    changed = load(tmp_path, main=CORE.replace("9:00", "8:00"))
    assert first.version == again.version
    assert len(first.version) == 12
    assert changed.version != first.version


def test_trace_is_json_ready_and_readable(tmp_path: Path) -> None:
    import json

    evaluation = ask(load(tmp_path, main=CORE), "order 7", verbose=True)
    data = json.loads(json.dumps(evaluation.trace.to_dict()))
    assert data["winner"] == "order-status"
    assert [s["outcome"] for s in data["steps"]] == ["no match", "winner"]
    lines = evaluation.trace.lines()
    assert any(line.startswith("=> order-status") for line in lines)
    assert "winner    order-status" in lines


MIXED = """
rules:
  - {id: r-only, keywords: [tea, "green tea"], match: only, reply: a}
  - {id: r-first, keywords: [book, "gift card"], match: first, reply: b}
  - {id: r-regex, match: regex, pattern: '^order\\s+(?P<n>\\d+)', reply: c}
  - {id: r-word, keywords: [cake, tea], match: word, reply: d}
  - {id: r-any, match: regex, pattern: 'card\\b', reply: e}
  - {id: r-phrase, keywords: ["gift card", "green tea"], match: phrase, reply: f}
  - {id: r-late, match: regex, pattern: '^(?:book|order)\\s+now$', reply: g}
"""
WORDS = ["tea", "green", "book", "gift", "card", "order", "12", "cake", "now", "Tea!", "ORDER"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=0, max_size=5))
def test_index_agrees_with_checking_every_rule(
    tmp_path_factory: pytest.TempPathFactory, words: list[str]
) -> None:
    ruleset = _mixed(tmp_path_factory)
    text = " ".join(words)
    assert ask(ruleset, text).rule_id == ask(ruleset, text, verbose=True).rule_id


_CACHE: dict[str, Ruleset] = {}


def _mixed(factory: pytest.TempPathFactory) -> Ruleset:
    if "mixed" not in _CACHE:
        _CACHE["mixed"] = load(factory.mktemp("mixed"), main=MIXED)
    return _CACHE["mixed"]


def test_evaluation_time_is_the_callers_clock(tmp_path: Path) -> None:
    evaluation = ask(load(tmp_path, main=CORE), "hours")
    assert evaluation.trace.to_dict()["at"] == NOW.isoformat()
