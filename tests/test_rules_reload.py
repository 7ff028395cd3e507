"""Hot reload: an edited rules directory goes live within the interval; a broken edit never does."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from responder.ruleset import Ruleset, RuleSetError, RulesetHolder
from tests.support import wait_until
from tests.test_rules_helpers import ask, write_rules

GOOD = """
rules:
  - {id: hours, keywords: [hours], match: only, reply: "Open 9-5"}
examples:
  - {text: "hours", expect: hours}
"""
BETTER = GOOD.replace("Open 9-5", "Open 8-6, every day")


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return write_rules(tmp_path / "rules", main=GOOD)


def test_an_edit_goes_live_within_the_interval(rules_dir: Path) -> None:
    holder = RulesetHolder(rules_dir, interval_s=0.1)
    first = holder.current()
    write_rules(rules_dir, main=BETTER)
    current = wait_until(lambda: _newer(holder, first), timeout=2.0)
    assert ask(current, "hours").reply == "Open 8-6, every day"
    assert holder.loaded_at.tzinfo is not None


def test_a_new_file_goes_live_too(rules_dir: Path) -> None:
    holder = RulesetHolder(rules_dir, interval_s=0.1)
    first = holder.current()
    write_rules(
        rules_dir, zz_more='rules:\n  - {id: tea, keywords: [tea], match: only, reply: "Tea"}\n'
    )
    current = wait_until(lambda: _newer(holder, first), timeout=2.0)
    assert ask(current, "tea").reply == "Tea"


def test_a_broken_edit_keeps_the_last_good_set(
    rules_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("test.rules.reload")
    holder = RulesetHolder(rules_dir, interval_s=0.1, logger=logger)
    good = holder.current()
    with caplog.at_level(logging.ERROR, logger=logger.name):
        write_rules(rules_dir, main=GOOD.replace("match: only", "match: startswith"))
        wait_until(lambda: holder.current() and holder.last_problems, timeout=2.0)
    assert holder.current() is good
    assert ask(holder.current(), "hours").reply == "Open 9-5"
    assert [p.line for p in holder.last_problems] == [2]
    assert "refused, keeping version " + good.version in caplog.text
    assert "'match' must be one of" in caplog.text


def test_failing_examples_are_refused_as_well(rules_dir: Path) -> None:
    holder = RulesetHolder(rules_dir, interval_s=0.1, logger=logging.getLogger("test.rules"))
    good = holder.current()
    write_rules(rules_dir, main=BETTER.replace("expect: hours", "expect: nothing-like-it"))
    wait_until(lambda: holder.current() and holder.last_problems, timeout=2.0)
    assert holder.current() is good
    assert "example 'hours' failed" in holder.last_problems[0].message


def test_without_a_good_set_current_raises_until_one_appears(tmp_path: Path) -> None:
    rules_dir = write_rules(tmp_path / "rules", main="rules: [oops\n")
    holder = RulesetHolder(rules_dir, interval_s=0.1, logger=logging.getLogger("test.rules"))
    with pytest.raises(RuleSetError, match="YAML"):
        holder.current()
    write_rules(rules_dir, main=GOOD)
    ruleset = wait_until(lambda: _try_current(holder), timeout=2.0)
    assert ask(ruleset, "hours").rule_id == "hours"


def test_the_directory_is_not_looked_at_before_the_interval(rules_dir: Path) -> None:
    holder = RulesetHolder(rules_dir, interval_s=3600)
    first = holder.current()
    write_rules(rules_dir, main=BETTER)
    assert holder.current() is first


def test_many_threads_read_while_files_change(rules_dir: Path) -> None:
    holder = RulesetHolder(rules_dir, interval_s=0.0)
    seen: list[str] = []
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(300):
                seen.append(ask(holder.current(), "hours").reply or "")
        except BaseException as exc:  # collected and re-raised in the test thread
            failures.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(5):
        write_rules(rules_dir, main=GOOD.replace("9-5", f"9-{5 + i}" + "!" * i))
    for thread in threads:
        thread.join()
    assert failures == []
    assert set(seen) <= {f"Open 9-{5 + i}" + "!" * i for i in range(5)}


def _newer(holder: RulesetHolder, old: Ruleset) -> Ruleset | None:
    current = holder.current()
    return current if current.version != old.version else None


def _try_current(holder: RulesetHolder) -> Ruleset | None:
    try:
        return holder.current()
    except RuleSetError:
        return None
