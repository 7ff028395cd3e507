"""Problems in rule files: each reported at its file:line:column, refused when it is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from responder.errors import ResponderError
from responder.ruleset import Problem, RuleSetError, check_ruleset, load_ruleset
from tests.test_rules_helpers import write_rules


def problems_of(tmp_path: Path, **files: str) -> list[str]:
    rules_dir = write_rules(tmp_path / "rules", **files)
    prefix = f"{rules_dir}/"
    return [str(p).removeprefix(prefix) for p in check_ruleset(rules_dir)]


def test_problem_formats_as_path_line_column() -> None:
    problem = Problem("rules/a.yaml", 14, 7, "error", "'match' must be ...")
    assert str(problem) == "rules/a.yaml:14:7: error: 'match' must be ..."
    assert str(Problem("rules", None, None, "warning", "x")) == "rules: warning: x"


def test_bad_match_kind_is_located(tmp_path: Path) -> None:
    assert problems_of(
        tmp_path,
        a="""
        rules:
          - id: hours
            keywords: [hours]
            match: startswith
            reply: "x"
        """,
    ) == [
        "a.yaml:4:12: error: 'match' must be one of only, first, word, phrase, regex "
        "(got 'startswith')"
    ]


def test_load_refuses_with_every_problem(tmp_path: Path) -> None:
    rules_dir = write_rules(
        tmp_path / "rules",
        a="""
        rules:
          - {id: a, keywords: [x], match: nope, reply: "x"}
          - {id: b, match: regex, pattern: "(", reply: "x"}
        """,
    )
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(rules_dir)
    assert isinstance(caught.value, ResponderError)
    assert [(p.line, p.level) for p in caught.value.problems] == [(2, "error"), (3, "error")]
    assert f"{rules_dir}/a.yaml:2:" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "rules:\n  - id: a\n    keywords: [x\n    reply: y\n",
            "a.yaml:4:10: error: YAML: while parsing a flow sequence "
            "did not find expected ',' or ']'",
            id="yaml-syntax",
        ),
        pytest.param(
            "rules:\n  - id: a\n    keywords: [x]\n    match: only\n    reply: y\n    replly: z\n",
            "a.yaml:6:5: error: unknown key 'replly' in a rule; did you mean 'reply'?",
            id="unknown-key",
        ),
        pytest.param(
            "rulez: []\n",
            "a.yaml:1:1: error: unknown key 'rulez' in the file; did you mean 'rules'?",
            id="unknown-file-key",
        ),
        pytest.param(
            "rules:\n  - {id: a, match: regex, pattern: '(?P<n>\\d+', reply: y}\n",
            "a.yaml:2:36: error: invalid regex '(?P<n>\\\\d+': missing ), unterminated subpattern "
            "at position 0",
            id="bad-regex",
        ),
        pytest.param(
            "rules:\n  - id: a\n    keywords: [x]\n    match: only\n    reply: 'Hi {{ name'\n",
            "a.yaml:5:12: error: template error in 'reply': unexpected end of template, "
            "expected 'end of print statement'.",
            id="template-syntax",
        ),
        pytest.param(
            "rules:\n  - id: a\n    keywords: [x]\n    match: only\n    reply: 'Hi {{ name }}'\n",
            "a.yaml:2:5: error: reply of 'a' uses unknown variable 'name'; known: now, "
            "our_number, text, their_number",
            id="unknown-variable",
        ),
        pytest.param(
            "rules:\n  - {id: a, keywords: [x], match: only, reply: y}\n"
            "  - {id: a, keywords: [z], match: only, reply: y}\n",
            "a.yaml:3:5: error: rule id 'a' is already used at {dir}/a.yaml:2:5",
            id="duplicate-id",
        ),
        pytest.param(
            "rules:\n  - {id: a, keywords: [x], match: only, reply: y, reply: z}\n",
            "a.yaml:2:51: error: duplicate key 'reply'",
            id="duplicate-key",
        ),
        pytest.param(
            "timezone: Europe/Lodnon\nrules: []\n",
            "a.yaml:1:11: error: 'timezone' must be an IANA time zone name (got 'Europe/Lodnon'); "
            "did you mean 'Europe/London'?",
            id="timezone",
        ),
        pytest.param(
            "numbers: ['12']\nrules: []\n",
            "a.yaml:1:11: error: 'numbers': '12' is not a phone number: "
            "(1) The string supplied did not seem to be a phone number.",
            id="bad-number",
        ),
        pytest.param(
            "rules:\n  - id: a\n    keywords: [x]\n    match: only\n    reply: y\n"
            "    when: {days: [mon-fry]}\n",
            "a.yaml:6:19: error: unknown day 'mon-fry'; use mon..sun, e.g. mon-fri",
            id="bad-day",
        ),
        pytest.param(
            "rules:\n  - id: a\n    keywords: [x]\n    match: only\n    reply: y\n"
            "    when: {time: '9-5'}\n",
            "a.yaml:6:18: error: expected a time range like \"09:00-17:00\" (got '9-5')",
            id="bad-time",
        ),
        pytest.param(
            "rules:\n  - {id: a, keywords: [x], match: only, reply: y, cooldown: soon}\n",
            "a.yaml:2:61: error: 'cooldown': expected a duration such as 30m, 1h or 2d "
            "(got 'soon')",
            id="bad-duration",
        ),
        pytest.param(
            "rules:\n  - {id: a, keywords: ['good day'], match: word, reply: y}\n",
            "a.yaml:2:24: error: keyword 'good day' is several words; use match: phrase",
            id="word-with-two-words",
        ),
        pytest.param(
            "rules:\n  - {id: a, keywords: [x], match: only}\n",
            "a.yaml:2:5: warning: rule 'a' has no 'reply' and no action; it answers nothing",
            id="no-reply",
        ),
        pytest.param(
            "rules:\n  - {id: a, keywords: [x], match: only, reply: y, forward: {url: 'ftp://x'}}\n",
            "a.yaml:2:66: error: 'forward' url must start with https:// (got 'ftp://x')",
            id="bad-forward-url",
        ),
    ],
)
def test_each_problem_is_located(tmp_path: Path, text: str, expected: str) -> None:
    rules_dir = write_rules(tmp_path / "rules", a=text)
    problems = problems_of(tmp_path, a=text)
    assert expected.replace("{dir}", str(rules_dir)) in problems


def test_shadowed_rule_names_both_places(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        a="""
        rules:
          - {id: hours, keywords: [hours, open], match: first, reply: x}
          - {id: hours-exact, keywords: [hours], match: only, reply: y}
          - {id: open-late, keywords: [open late], match: phrase, reply: z}
          - {id: mixed, keywords: [hours, times], match: only, reply: z}
          - {id: later-hours, keywords: [hours], match: only, reply: z, when: {days: sat}}
        """,
    )
    assert problems == [
        "a.yaml:3:5: warning: rule 'hours-exact' can never answer: 'hours' is answered first by "
        f"rule 'hours' at {tmp_path}/rules/a.yaml:2:5",
        "a.yaml:5:5: warning: part of rule 'mixed' never answers: 'hours' is answered first by "
        f"rule 'hours' at {tmp_path}/rules/a.yaml:2:5",
        "a.yaml:6:5: warning: rule 'later-hours' can never answer: 'hours' is answered first by "
        f"rule 'hours' at {tmp_path}/rules/a.yaml:2:5",
    ]


def test_a_schedule_or_state_on_the_earlier_rule_leaves_room(tmp_path: Path) -> None:
    assert (
        problems_of(
            tmp_path,
            a="""
        rules:
          - {id: weekday, keywords: [hours], match: only, reply: x, when: {days: mon-fri}}
          - {id: any-day, keywords: [hours], match: only, reply: y}
          - {id: cool, keywords: [deal], match: word, reply: z, cooldown: 1h, on_cooldown: continue}
          - {id: deal, keywords: [deal], match: word, reply: z}
        """,
        )
        == []
    )


def test_catch_all_regex_shadows_what_follows(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        a="""
        rules:
          - {id: anything, match: regex, pattern: '.*', reply: x}
          - {id: hours, keywords: [hours], match: word, reply: y}
        """,
    )
    assert problems == [
        "a.yaml:3:5: warning: rule 'hours' can never answer: 'hours' is answered first by rule "
        f"'anything' at {tmp_path}/rules/a.yaml:2:5"
    ]


def test_same_keyword_in_two_files_for_one_number_is_an_error(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        a="""
        rules:
          - {id: a-hours, keywords: [hours], match: only, reply: x}
        """,
        b="""
        rules:
          - {id: b-hours, keywords: [hours, times], match: only, reply: y}
        """,
    )
    assert problems == [
        "b.yaml:2:5: error: 'hours' of rule 'b-hours' is already claimed by rule 'a-hours' at "
        f"{tmp_path}/rules/a.yaml:2:5 for every number; remove one, or give one a higher "
        "'priority'"
    ]


def test_same_keyword_on_different_numbers_or_priorities_is_fine(tmp_path: Path) -> None:
    assert problems_of(
        tmp_path,
        a="""
        numbers: ["447443332211"]
        rules:
          - {id: a-hours, keywords: [hours], match: only, reply: x}
        """,
        b="""
        numbers: ["447443332233"]
        rules:
          - {id: b-hours, keywords: [hours], match: only, reply: y}
        """,
        c="""
        rules:
          - {id: c-hours, keywords: [hours], match: only, reply: y}
          - {id: c-prices, keywords: [prices], match: only, reply: y, priority: 1}
        """,
        d="""
        rules:
          - {id: d-prices, keywords: [prices], match: only, reply: y}
        """,
    ) == [
        "d.yaml:2:5: warning: rule 'd-prices' can never answer: 'prices' is answered first by "
        f"rule 'c-prices' at {tmp_path}/rules/c.yaml:3:5"
    ]


def test_overlapping_numbers_are_reported_per_number(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        a="""
        numbers: ["447443332211", "447443332233"]
        rules:
          - {id: a-hours, keywords: [hours], match: only, reply: x}
        """,
        b="""
        numbers: ["447443332233"]
        rules:
          - {id: b-hours, keywords: [hours], match: only, reply: y}
        """,
    )
    where = f"{tmp_path}/rules/a.yaml:3:5"
    assert problems == [
        f"b.yaml:3:5: error: 'hours' of rule 'b-hours' is already claimed by rule 'a-hours' at "
        f"{where} for +447443332233; remove one, or give one a higher 'priority'",
        f"b.yaml:3:5: warning: rule 'b-hours' can never answer: 'hours' is answered first by "
        f"rule 'a-hours' at {where}",
    ]


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("{id: quit, keywords: [stop, quit], match: only, reply: x}", "'quit', 'stop'"),
        ("{id: opt, keywords: [opt], match: first, reply: x}", "'opt out'"),
        ("{id: regex, match: regex, pattern: '^(help|info)$', reply: x}", "'help', 'info'"),
    ],
)
def test_compliance_words_cannot_be_claimed(tmp_path: Path, rule: str, words: str) -> None:
    problems = problems_of(tmp_path, a=f"rules:\n  - {rule}\n")
    assert len(problems) == 1
    assert problems[0].startswith("a.yaml:2:5: error: rule ")
    assert f"claims compliance words: {words}" in problems[0]


def test_a_catch_all_regex_does_not_claim_compliance_words(tmp_path: Path) -> None:
    assert (
        problems_of(tmp_path, a="rules:\n  - {id: any, match: regex, pattern: '\\w+', reply: x}\n")
        == []
    )


def test_states_nobody_enters_or_waits_for(tmp_path: Path) -> None:
    assert problems_of(
        tmp_path,
        a="""
        rules:
          - {id: ask, keywords: [book], match: only, reply: x, then: {state: ask-dya}}
          - {id: day, in_state: ask-day, keywords: [monday], match: only, reply: y}
        """,
    ) == [
        "a.yaml:2:5: warning: rule 'ask' enters state 'ask-dya', which no rule waits for",
        "a.yaml:3:5: warning: rule 'day' waits for state 'ask-day', which no rule's 'then' enters",
    ]


def test_warnings_alone_do_not_stop_loading(tmp_path: Path) -> None:
    rules_dir = write_rules(
        tmp_path / "rules",
        a="""
        rules:
          - {id: a, keywords: [x], match: first, reply: x}
          - {id: b, keywords: [x], match: only, reply: y}
        """,
    )
    ruleset = load_ruleset(rules_dir)
    assert [p.level for p in ruleset.problems] == ["warning"]


def test_missing_and_empty_directories(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="rules directory does not exist"):
        load_ruleset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "old.yml").write_text("rules: []\n")
    assert [str(p) for p in check_ruleset(tmp_path / "empty")] == [
        f"{tmp_path}/empty: warning: no *.yaml rule files: no message will get a rule reply",
        f"{tmp_path}/empty/old.yml: warning: ignored: rule files must end in .yaml",
    ]


def test_a_rule_with_an_error_still_has_its_template_checked(tmp_path: Path) -> None:
    assert problems_of(
        tmp_path,
        a="""
        rules:
          - {id: a, keywords: [x], match: nope, reply: "{{ who }}"}
        """,
    ) == [
        "a.yaml:2:5: error: reply of 'a' uses unknown variable 'who'; known: now, our_number, "
        "text, their_number",
        "a.yaml:2:35: error: 'match' must be one of only, first, word, phrase, regex (got 'nope')",
    ]
