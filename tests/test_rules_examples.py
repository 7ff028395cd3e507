"""Rule files test themselves: `examples:` must pass before a rule set is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from responder.ruleset import RuleSetError, check_ruleset, load_ruleset
from responder.ruleset.examples import run_examples
from responder.ruleset.loader import build_ruleset
from responder.ruleset.problems import show_path
from tests.test_rules_helpers import write_rules

ROOT = Path(__file__).resolve().parent.parent

SHOP = """
timezone: Europe/London
rules:
  - {id: hours, keywords: [hours], match: first, reply: "Open 9-5 ({{ now.strftime('%a %H:%M') }})"}
  - id: ask
    keywords: [book]
    match: only
    reply: "Which day?"
    then: {state: ask-day, expires_after: 10m}
  - id: day
    in_state: ask-day
    match: regex
    pattern: '(?P<day>mon|tue)'
    save_as: day
    reply: "{{ day }} for {{ their_number }} on {{ our_number }}"
    then: {state: null}
  - {id: thanks, keywords: [thanks], match: word, reply: "Welcome", cooldown: 1h}
  - {id: remind, keywords: [again], match: only, reply: "Your day is {{ day }}"}
fallback:
  - {id: closed, when: {outside: {days: mon-fri}}, reply: "Closed"}
  - {reply: "Sorry?"}
examples:
  - {text: "hours?", expect: hours, reply: "Open 9-5 (Wed 12:00)"}
  - {text: "hours", at: "sat 09:30", expect: hours, reply_contains: "Sat 09:30"}
  - {text: "hours", at: "2025-03-30 10:15", expect: hours, reply_contains: "Sun 10:15"}
  - {text: "hours", at: "2025-07-01T09:00:00+00:00", expect: hours, reply_contains: "10:00"}
  - {text: "book", expect: ask, expect_state: ask-day}
  - {text: "tue", state: ask-day, expect: day, expect_state: none,
     from: "+447700900555", to: "447443332299", reply: "tue for 447700900555 on 447443332299"}
  - {text: "again", saved: {day: Monday}, expect: remind, reply: "Your day is Monday"}
  - {text: "thanks", last_fired: {thanks: 5m}, expect: thanks, reply: null}
  - {text: "huh", expect: fallback}
  - {text: "huh", at: "sun 12:00", expect: closed}
"""


def test_examples_pass_and_cover_every_option(tmp_path: Path) -> None:
    build = build_ruleset(write_rules(tmp_path / "rules", shop=SHOP))
    results = run_examples(build)
    assert [r.detail for r in results if not r.passed] == []
    assert len(results) == 10


def test_a_failing_example_is_reported_where_it_is_written(tmp_path: Path) -> None:
    broken = SHOP.replace('{text: "huh", expect: fallback}', '{text: "huh", expect: hours}')
    rules_dir = write_rules(tmp_path / "rules", shop=broken)
    problems = [str(p) for p in check_ruleset(rules_dir)]
    assert problems == [
        f"{rules_dir}/shop.yaml:31:5: error: example 'huh' failed: expected rule 'hours', "
        "got 'fallback'"
    ]
    with pytest.raises(RuleSetError, match="example 'huh' failed"):
        load_ruleset(rules_dir)
    assert load_ruleset(rules_dir, run_examples=False).version


@pytest.mark.parametrize(
    ("example", "message"),
    [
        (
            '{text: "hours", expect: hours, reply: "nope"}',
            "expected reply 'nope', got 'Open 9-5 (Wed 12:00)'",
        ),
        (
            '{text: "hours", expect: hours, reply_contains: "Sat"}',
            "expected the reply to contain 'Sat', got 'Open 9-5 (Wed 12:00)'",
        ),
        (
            '{text: "book", expect: ask, expect_state: confirm}',
            "expected state 'confirm' afterwards, got 'ask-day'",
        ),
        ('{text: "hours", at: "someday", expect: hours}', "'at': expected a time like"),
        ('{text: "hours"}', "an example needs 'expect': a rule id, or none"),
        ('{text: "hours", expect: hours, wait: 1}', "unknown key 'wait' in an example"),
    ],
)
def test_example_failures_say_what_differs(tmp_path: Path, example: str, message: str) -> None:
    text = SHOP.split("examples:")[0] + f"examples:\n  - {example}\n"
    problems = check_ruleset(write_rules(tmp_path / "rules", shop=text))
    assert len(problems) == 1
    assert problems[0].level == "error"
    assert message in problems[0].message


def test_examples_run_against_the_whole_set(tmp_path: Path) -> None:
    rules_dir = write_rules(
        tmp_path / "rules",
        a="""
        rules:
          - {id: coffee, keywords: [coffee], match: only, reply: "Coffee"}
        examples:
          - {text: "tea", expect: tea}
        """,
        b="""
        rules:
          - {id: tea, keywords: [tea], match: only, reply: "Tea"}
        """,
    )
    assert check_ruleset(rules_dir) == []


def test_shipped_sample_rules_pass_their_examples() -> None:
    rules_dir = ROOT / "rules"
    assert sorted(p.name for p in rules_dir.glob("*.yaml"))
    assert check_ruleset(rules_dir) == []
    build = build_ruleset(rules_dir)
    results = run_examples(build)
    assert all(r.passed for r in results)
    for path in rules_dir.glob("*.yaml"):
        # Named relative to the working directory when under it: rules/00-shop.yaml:80:5.
        assert any(r.where.startswith(show_path(rules_dir / path.name)) for r in results), path.name


def test_every_complete_file_in_the_reference_checks_clean(tmp_path: Path) -> None:
    import re

    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    blocks = [
        b
        for b in re.findall(r"```yaml\n(.*?)```", doc, re.S)
        if re.search(r"^(rules|fallback):", b, re.M)
    ]
    assert len(blocks) >= 5
    for i, block in enumerate(blocks):
        rules_dir = tmp_path / f"doc{i}"
        rules_dir.mkdir()
        (rules_dir / "a.yaml").write_text(block, encoding="utf-8")
        assert [str(p) for p in check_ruleset(rules_dir)] == [], block
