"""When a matching rule may answer (schedules, holidays, states, cooldowns) and its actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.ruleset import ForwardSms, ForwardUrl, Handoff, StateChange, Tag
from tests.test_rules_helpers import NOW, THEIRS, ask, load

SHOP = """
timezone: Europe/London
holidays: [12-25, 2025-08-25]
rules:
  - id: open-now
    keywords: [open]
    match: only
    when: &hours
      - {days: mon-fri, time: "09:00-17:00"}
      - {days: sat, time: "10:00-13:00"}
    reply: "Yes, we are open."
  - id: late-bar
    keywords: [bar]
    match: only
    when: {days: fri-sat, time: "22:00-02:00"}
    reply: "The bar is open."
  - id: xmas-eve
    keywords: [special]
    match: only
    when: {dates: ["2025-12-24"]}
    reply: "Mulled wine today."
  - id: not-mondays
    keywords: [cake]
    match: only
    when: {not_dates: ["2025-01-06..2025-01-07"]}
    reply: "Cake!"
fallback:
  - id: closed
    when: {outside: *hours}
    reply: "We are closed."
  - id: fallback
    reply: "Sorry?"
"""


def london(text: str) -> datetime:
    """A London wall-clock time as UTC."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "at", "rule_id"),
    [
        ("open", "2025-01-08 10:00", "open-now"),  # Wednesday
        ("open", "2025-01-08 17:00", "closed"),  # the end of a range is outside it
        ("open", "2025-01-11 12:59", "open-now"),  # Saturday
        ("open", "2025-01-12 12:00", "closed"),  # Sunday
        ("open", "2025-12-25 10:00", "closed"),  # a Thursday, but a yearly holiday
        ("open", "2025-08-25 10:00", "closed"),  # a dated holiday
        ("open", "2025-07-01 09:30", "open-now"),  # summer time: 08:30 UTC
        ("bar", "2025-01-10 23:30", "late-bar"),  # Friday night
        ("bar", "2025-01-11 01:30", "late-bar"),  # after midnight belongs to Friday's range
        ("bar", "2025-01-12 01:30", "late-bar"),  # Saturday's range, early Sunday
        ("bar", "2025-01-13 01:30", "closed"),  # Sunday's early hours: no Sunday range
        ("special", "2025-12-24 15:00", "xmas-eve"),
        ("special", "2025-12-23 15:00", "fallback"),
        ("cake", "2025-01-07 12:00", "fallback"),
        ("cake", "2025-01-08 12:00", "not-mondays"),
    ],
)
def test_schedules_in_the_file_time_zone(tmp_path: Path, text: str, at: str, rule_id: str) -> None:
    assert ask(load(tmp_path, shop=SHOP), text, now=london(at)).rule_id == rule_id


def test_a_schedule_miss_is_explained(tmp_path: Path) -> None:
    evaluation = ask(
        load(tmp_path, shop=SHOP), "open", now=london("2025-01-12 12:00"), verbose=True
    )
    step = next(s for s in evaluation.trace.steps if s.rule_id == "open-now")
    assert step.outcome == "skipped"
    assert "not in its schedule" in step.detail
    assert "Sun 2025-01-12 12:00" in step.detail


def test_on_holidays_keeps_a_window_open(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        main="""
        holidays: [12-25]
        rules:
          - id: hotline
            keywords: [urgent]
            match: only
            when: {days: mon-sun, time: "00:00-24:00", on_holidays: true}
            reply: "Call us."
        """,
    )
    assert ask(ruleset, "urgent", now=datetime(2025, 12, 25, 9, tzinfo=UTC)).rule_id == "hotline"


BOOKING = """
rules:
  - id: book
    keywords: [book]
    match: first
    reply: "Which day?"
    then: {state: ask-day, expires_after: 30m}
  - id: day
    in_state: ask-day
    match: regex
    pattern: '(?P<day>monday|tuesday)'
    save_as: day
    reply: "{{ day }}? Reply YES."
    then: {state: confirm}
  - id: yes
    in_state: confirm
    keywords: [yes]
    match: only
    save_as: answer
    reply: "Booked for {{ day }} ({{ answer }})."
    then: {state: null}
  - id: hours
    keywords: [hours, monday]
    match: word
    reply: "9 to 5"
"""


def test_a_conversation_moves_through_states(tmp_path: Path) -> None:
    ruleset = load(tmp_path, booking=BOOKING)
    start = ask(ruleset, "book please")
    assert start.state == StateChange("ask-day", NOW + timedelta(minutes=30))
    day = ask(ruleset, "Monday works", state="ask-day")
    assert (day.rule_id, day.reply, dict(day.save)) == (
        "day",
        "Monday? Reply YES.",
        {"day": "Monday"},
    )
    assert day.state == StateChange("confirm", NOW + timedelta(hours=1))  # the default lifetime
    done = ask(ruleset, "YES", state="confirm", saved={"day": "Monday"})
    assert done.reply == "Booked for Monday (YES)."
    assert done.state == StateChange(None, None)


def test_state_rules_come_first_and_others_still_answer(tmp_path: Path) -> None:
    ruleset = load(tmp_path, booking=BOOKING)
    assert ask(ruleset, "monday", state="ask-day").rule_id == "day"
    assert ask(ruleset, "monday").rule_id == "hours"
    in_state = ask(ruleset, "hours", state="ask-day")
    assert (in_state.rule_id, in_state.state) == ("hours", None)  # the state is kept


def test_exclusive_states_silences_the_files_other_rules(tmp_path: Path) -> None:
    ruleset = load(tmp_path, booking="exclusive_states: true\n" + BOOKING)
    evaluation = ask(ruleset, "hours", state="ask-day", verbose=True)
    assert evaluation.rule_id is None
    step = next(s for s in evaluation.trace.steps if s.rule_id == "hours")
    assert "exclusive_states" in step.detail
    assert ask(ruleset, "hours").rule_id == "hours"


def test_fallback_can_wait_for_a_state(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        booking=BOOKING
        + """
fallback:
  - {id: which-day, in_state: ask-day, reply: "Which day, Monday or Tuesday?"}
  - {id: fallback, reply: "Sorry?"}
""",
    )
    assert ask(ruleset, "dunno", state="ask-day").rule_id == "which-day"
    assert ask(ruleset, "dunno", state="confirm").rule_id == "fallback"
    assert ask(ruleset, "dunno").rule_id == "fallback"


def test_actions_are_returned_for_the_caller(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        main="""
        smart_encoding: true
        rules:
          - id: staff
            keywords: [human]
            match: word
            reply: "Someone will text you."
            forward:
              - {sms: "+44 7443 332200", text: "{{ their_number }} wants a person: {{ text }}"}
              - {url: "https://example.com/hook"}
            tag: [needs-human, vip]
            handoff: true
          - {id: plain, keywords: [hi], match: only, reply: "Hi", smart_encoding: false}
        """,
    )
    evaluation = ask(ruleset, "a human please")
    assert evaluation.actions[0] == ForwardSms(
        to="447443332200", text=f"{THEIRS} wants a person: a human please"
    )
    forward_url = evaluation.actions[1]
    assert isinstance(forward_url, ForwardUrl)
    assert forward_url.url == "https://example.com/hook"
    assert forward_url.payload["their_number"] == THEIRS
    assert forward_url.payload["text"] == "a human please"
    assert evaluation.actions[2:] == (Tag("needs-human"), Tag("vip"), Handoff())
    assert evaluation.smart_encoding is True
    assert ask(ruleset, "hi").smart_encoding is False


COOLDOWN = """
rules:
  - {id: thanks, keywords: [thanks], match: word, reply: "You're welcome", cooldown: 1h}
  - id: promo
    keywords: [deal]
    match: word
    reply: "10% off today"
    cooldown: 1d
    on_cooldown: continue
  - {id: deals, keywords: [deal, deals], match: word, reply: "See our deals page"}
fallback: {reply: "Sorry?"}
"""


def test_cooldown_stops_matching_by_default(tmp_path: Path) -> None:
    ruleset = load(tmp_path, main=COOLDOWN)
    quiet = ask(ruleset, "thanks", last_fired={"thanks": NOW - timedelta(minutes=10)})
    assert (quiet.rule_id, quiet.reply) == ("thanks", None)
    assert quiet.trace.steps[-1].outcome == "cooling down"
    again = ask(ruleset, "thanks", last_fired={"thanks": NOW - timedelta(minutes=61)})
    assert again.reply == "You're welcome"


def test_cooldown_can_let_matching_continue(tmp_path: Path) -> None:
    ruleset = load(tmp_path, main=COOLDOWN)
    assert ask(ruleset, "deal?").rule_id == "promo"
    later = ask(ruleset, "deal?", last_fired={"promo": NOW - timedelta(hours=2)})
    assert later.rule_id == "deals"
