"""The per-conversation reply budget and URL forward timeouts: reading, checking, examples, CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from responder.cli.rules import rules
from responder.ruleset import ForwardUrl, MessageContext
from tests.test_rules_helpers import NOW, OTHER, OUR, THEIRS, load, write_rules
from tests.test_rules_lint import problems_of

SHOP = """
budget: {replies: 2, per: 1h}
rules:
  - id: hours
    keywords: [hours]
    match: only
    reply: "Open 9-5."
    tag: asked-hours
fallback:
  reply: "Sorry?"
"""

STALL = """
numbers: ["+447443332233"]
budget: {replies: 1, per: 1d}
rules:
  - id: stall.hours
    keywords: [hours]
    match: only
    reply: "Saturdays."
"""


def ask(ruleset, text: str, replied_ago: list[int], our: str = OUR):
    ctx = MessageContext(
        text=text,
        our_number=our,
        their_number=THEIRS,
        now=NOW,
        recent_replies=[NOW - timedelta(minutes=m) for m in replied_ago],
    )
    return ruleset.evaluate(ctx)


def test_budget_withholds_the_reply_but_not_the_rule_or_its_actions(tmp_path: Path) -> None:
    ruleset = load(tmp_path, shop=SHOP)
    assert ask(ruleset, "hours", [5]).reply == "Open 9-5."
    assert ask(ruleset, "hours", [5, 90]).reply == "Open 9-5."  # one is older than the window
    over = ask(ruleset, "hours", [5, 30])
    assert over.rule_id == "hours"
    assert over.reply is None
    assert [type(a).__name__ for a in over.actions] == ["Tag"]
    assert any("budget used up: 2 automatic replies in the last 1h" in n for n in over.trace.notes)
    assert ask(ruleset, "what?", [5, 30]).reply is None  # fallbacks count against it too
    assert ruleset.budget_window == timedelta(hours=1)


def test_a_number_s_own_budget_wins_over_the_general_one(tmp_path: Path) -> None:
    ruleset = load(tmp_path, a_shop=SHOP, b_stall=STALL)
    assert ask(ruleset, "hours", [600], our=OTHER).reply is None  # 1 per day on the stall
    assert ask(ruleset, "hours", [600], our=OUR).reply == "Open 9-5."
    assert ruleset.budget_window == timedelta(days=1)


def test_two_budgets_for_one_number_are_an_error(tmp_path: Path) -> None:
    assert problems_of(tmp_path, a=SHOP, b=SHOP.replace("hours", "open")) == [
        "b.yaml:1:9: error: a second budget for every number; the first is at "
        f"{tmp_path}/rules/a.yaml:1:9"
    ]


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ("{replies: 0, per: 1h}", "1:19: error: 'replies' must be a whole number from 1 (got 0)"),
        ("{replies: 2, per: 60}", "1:27: error: 'per': a duration needs a unit"),
        ("{replies: 2, pre: 1h}", "1:9: error: 'budget' must be a mapping like {replies: 5,"),
        ("{replies: 2, per: 1h, max: 3}", "1:31: error: unknown key 'max' in 'budget'"),
        ("5", "1:9: error: 'budget' must be a mapping like {replies: 5, per: 1h}"),
    ],
)
def test_bad_budgets_are_located(tmp_path: Path, budget: str, message: str) -> None:
    found = problems_of(tmp_path, a=SHOP.replace("{replies: 2, per: 1h}", budget))
    assert len(found) == 1
    assert found[0].startswith(f"a.yaml:{message}"), found


HOOK = """
rules:
  - id: hook
    keywords: [order]
    match: first
    forward: {url: "https://example.com/hook", timeout: 3s}
"""


def test_url_forward_carries_its_timeout(tmp_path: Path) -> None:
    ruleset = load(tmp_path, a=HOOK)
    ctx = MessageContext(text="order 5", our_number=OUR, their_number=THEIRS, now=NOW)
    (action,) = ruleset.evaluate(ctx).actions
    assert isinstance(action, ForwardUrl)
    assert action.timeout_s == 3.0
    assert action.payload["text"] == "order 5"
    default = load(tmp_path / "b", a=HOOK.replace(", timeout: 3s", ""))
    assert default.evaluate(ctx).actions[0].timeout_s == 10.0


@pytest.mark.parametrize(
    ("forward", "message"),
    [
        ('{url: "https://example.com/hook", timeout: 2m}', "'timeout' must be at most 60s"),
        ('{url: "https://example.com/hook", timeout: 5}', "'timeout': a duration needs a unit"),
        ('{sms: "+447443332200", timeout: 5s}', "'timeout' is for url forwards only"),
    ],
)
def test_bad_forward_timeouts_are_errors(tmp_path: Path, forward: str, message: str) -> None:
    text = HOOK.replace('{url: "https://example.com/hook", timeout: 3s}', forward)
    errors = [p for p in problems_of(tmp_path, a=text) if ": error: " in p]
    assert len(errors) == 1
    assert message in errors[0]


def test_examples_can_say_how_many_replies_went_before(tmp_path: Path) -> None:
    examples = (
        "examples:\n"
        '  - {text: "hours", recent_replies: 1, expect: hours, reply: "Open 9-5."}\n'
        '  - {text: "hours", recent_replies: 2, expect: hours, reply: null}\n'
        '  - {text: "hours", recent_replies: [10m, 2h], expect: hours, reply: "Open 9-5."}\n'
        '  - {text: "hours", recent_replies: [lots], expect: hours}\n'
    )
    found = problems_of(tmp_path, a=SHOP + examples)
    assert len(found) == 1
    assert "example: 'recent_replies': expected a duration" in found[0]


def test_explain_counts_replies_given_on_the_command_line(tmp_path: Path) -> None:
    rules_dir = write_rules(tmp_path / "rules", a=SHOP)
    runner = CliRunner()
    result = runner.invoke(
        rules, ["explain", "--replied", "5m", "--replied", "20m", str(rules_dir), "hours"]
    )
    assert result.exit_code == 0, result.output
    assert "winner    hours" in result.output
    assert "reply     (no reply)" in result.output
    assert "budget used up" in result.output
    assert "budget    2 per 1h automatic replies; 2 used" in result.output
    result = runner.invoke(rules, ["explain", "--replied", "5m", str(rules_dir), "hours"])
    assert "reply     'Open 9-5.'" in result.output
