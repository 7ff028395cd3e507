"""`responder rules check|test|explain` as an operator runs them: output and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from responder import create_app
from responder.cli.rules import rules
from responder.config import Config
from tests.test_rules_helpers import write_rules

GOOD = """
timezone: Europe/London
rules:
  - {id: hours, keywords: [hours, open], match: first, reply: "Open 9-5"}
  - id: day
    in_state: ask-day
    match: regex
    pattern: '(?P<day>mon|tue)'
    reply: "{{ day }} it is"
  - {id: book, keywords: [book], match: only, reply: "Which day?", then: {state: ask-day}}
  - {id: open-now, keywords: [now], match: only, reply: "Open", when: {days: mon-fri}}
fallback: {reply: "Sorry?"}
examples:
  - {text: "hours?", expect: hours}
  - {text: "tue", state: ask-day, expect: day, reply: "tue it is"}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return write_rules(tmp_path / "rules", shop=GOOD)


def test_check_clean_set_exits_0(runner: CliRunner, rules_dir: Path) -> None:
    result = runner.invoke(rules, ["check", str(rules_dir)])
    assert result.exit_code == 0, result.output
    assert "ok, 4 rules, version" in result.output
    assert "0 errors, 0 warnings" in result.output


def test_check_with_warnings_only_exits_1(runner: CliRunner, rules_dir: Path) -> None:
    write_rules(
        rules_dir,
        shop=GOOD.replace('match: only, reply: "Which', 'match: first, reply: "Which')
        + "  - {text: 'book', expect: book}\n",
    )
    write_rules(
        rules_dir,
        zz="rules:\n  - {id: book2, keywords: [book], match: only, reply: x, priority: -1}\n",
    )
    result = runner.invoke(rules, ["check", str(rules_dir)])
    assert result.exit_code == 1, result.output
    assert f"{rules_dir}/zz.yaml:2:5: warning: rule 'book2' can never answer" in result.output
    assert "0 errors, 1 warning" in result.output


def test_check_with_errors_exits_2_and_locates_them(runner: CliRunner, rules_dir: Path) -> None:
    write_rules(rules_dir, shop=GOOD.replace("match: first", "match: startswith"))
    result = runner.invoke(rules, ["check", str(rules_dir)])
    assert result.exit_code == 2
    assert (
        f"{rules_dir}/shop.yaml:3:49: error: 'match' must be one of only, first, word, phrase, "
        "regex (got 'startswith')"
    ) in result.output
    assert "1 error, 0 warnings; the service would refuse it" in result.output
    assert "Traceback" not in result.output


def test_test_runs_examples(runner: CliRunner, rules_dir: Path) -> None:
    result = runner.invoke(rules, ["test", "-v", str(rules_dir)])
    assert result.exit_code == 0, result.output
    assert f"pass {rules_dir}/shop.yaml:13:5 'hours?' -> hours: 'Open 9-5'" in result.output
    assert result.output.strip().endswith("2 passed, 0 failed")


def test_test_reports_failures_and_exits_1(runner: CliRunner, rules_dir: Path) -> None:
    write_rules(rules_dir, shop=GOOD.replace('reply: "tue it is"', 'reply: "Tuesday"'))
    result = runner.invoke(rules, ["test", str(rules_dir)])
    assert result.exit_code == 1
    assert (
        f"FAIL {rules_dir}/shop.yaml:14:5 'tue': expected reply 'Tuesday', got 'tue it is'"
    ) in result.output
    assert "1 passed, 1 failed" in result.output


def test_explain_prints_the_whole_decision(runner: CliRunner, rules_dir: Path) -> None:
    result = runner.invoke(
        rules,
        [
            "explain",
            "--from",
            "+447443332212",
            "--to",
            "447443332211",
            "--at",
            "sun 10:00",
            "--state",
            "ask-day",
            str(rules_dir),
            "now",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "words     'now'" in lines
    assert "state     ask-day" in lines
    assert any("(Sun 2025-01-12 10:00 Europe/London)" in line for line in lines)
    assert "-- rules waiting for state 'ask-day'" in lines
    assert any(line.startswith("   day ") and "did not match" in line for line in lines)
    assert any(line.startswith(" - open-now") and "not in its schedule" in line for line in lines)
    assert "winner    fallback" in lines
    assert "reply     'Sorry?'" in lines


def test_explain_shows_actions_and_state(runner: CliRunner, rules_dir: Path) -> None:
    result = runner.invoke(rules, ["explain", "--at", "2025-01-08 10:00", str(rules_dir), "book"])
    assert result.exit_code == 0, result.output
    assert "then      state -> ask-day until 2025-01-08T11:00:00+00:00" in result.output


def test_explain_without_dir_uses_rules_in_the_working_directory(
    runner: CliRunner, rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(rules_dir.parent)
    result = runner.invoke(rules, ["explain", "hours", "please"])
    assert result.exit_code == 0, result.output
    assert "rules     rules (version" in result.output
    assert "message   'hours please'" in result.output
    assert "winner    hours" in result.output


def test_bad_input_is_an_error_not_a_traceback(
    runner: CliRunner, tmp_path: Path, rules_dir: Path
) -> None:
    missing = runner.invoke(rules, ["check", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
    bad_time = runner.invoke(rules, ["explain", "--at", "teatime", str(rules_dir), "hours"])
    assert bad_time.exit_code == 2
    assert "expected a time like" in bad_time.output
    bad_saved = runner.invoke(rules, ["explain", "--saved", "day", str(rules_dir), "hours"])
    assert bad_saved.exit_code == 2
    assert "Traceback" not in missing.output + bad_time.output + bad_saved.output


def test_default_dir_comes_from_the_app(runner: CliRunner, tmp_path: Path, rules_dir: Path) -> None:
    config = Config.for_data_dir(tmp_path / "data", rules_dir)
    app = create_app(config, start_sender=False)
    try:
        with app.app_context():
            result = runner.invoke(rules, ["check"])
        assert result.exit_code == 0, result.output
        assert f"{rules_dir}: ok, 4 rules" in result.output
    finally:
        app.extensions["responder"].engine.dispose()


def test_rules_is_part_of_the_responder_command(
    runner: CliRunner, tmp_path: Path, rules_dir: Path
) -> None:
    from responder.cli import cli

    config = Config.for_data_dir(tmp_path / "data", rules_dir)
    apps = []

    def make_app() -> object:
        apps.append(create_app(config, start_sender=False))
        return apps[-1]

    result = runner.invoke(cli, ["rules", "test"], obj=ScriptInfo(create_app=make_app))
    for app in apps:
        app.extensions["responder"].engine.dispose()
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed" in result.output


def test_locations_under_the_working_directory_are_shown_relative(
    runner: CliRunner, tmp_path: Path, rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rules(rules_dir, shop=GOOD.replace("match: first", "match: startswith"))
    write_rules(rules_dir, zz="rules:\n  - {id: tea, keywords: [tea], match: only, reply: Tea}\n")
    monkeypatch.chdir(tmp_path)
    config = Config.for_data_dir(tmp_path / "data", rules_dir)  # an absolute rules directory
    app = create_app(config, start_sender=False)
    try:
        with app.app_context():
            checked = runner.invoke(rules, ["check"])
            explained = runner.invoke(rules, ["explain", str(rules_dir), "tea"])
    finally:
        app.extensions["responder"].engine.dispose()
    assert checked.exit_code == 2
    assert "\nrules/shop.yaml:3:49: error: 'match' must be one of" in "\n" + checked.output
    assert explained.exit_code == 0, explained.output
    assert "rules/shop.yaml:3:49: error: 'match' must be one of" in explained.output
    assert "=> tea" in explained.output
    assert "[rules/zz.yaml:2:5]" in explained.output
    assert f"{tmp_path}/rules/" not in checked.output + explained.output
