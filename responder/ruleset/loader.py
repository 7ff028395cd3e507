"""A rules directory -> a checked Ruleset, or every problem that stops it being used."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from responder.ruleset.parse import ParsedFile, parse_file
from responder.ruleset.problems import ERROR, WARNING, Problem, RuleSetError, sort_problems
from responder.ruleset.ruleset import Ruleset
from responder.ruleset.templates import TemplateCompiler


@dataclass
class Build:
    """A rule set as built from one directory, with every problem and the raw examples."""

    ruleset: Ruleset | None
    problems: list[Problem]
    examples: list[tuple[ParsedFile, Any]] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)


def list_rule_files(rules_dir: Path) -> list[Path]:
    """The rule files of *rules_dir* in name order (hidden files and editor backups left out)."""
    return sorted(p for p in rules_dir.glob("*.yaml") if p.is_file() and not p.name.startswith("."))


def build_ruleset(rules_dir: Path) -> Build:
    """Read, parse and lint every rule file; the Ruleset is None only when nothing could be read."""
    from responder.ruleset.lint import lint_ruleset

    if not rules_dir.is_dir():
        return Build(
            None, [Problem(str(rules_dir), None, None, ERROR, "rules directory does not exist")]
        )
    problems: list[Problem] = []
    for stray in sorted(rules_dir.glob("*.yml")):
        problems.append(
            Problem(str(stray), None, None, WARNING, "ignored: rule files must end in .yaml")
        )
    paths = list_rule_files(rules_dir)
    if not paths:
        problems.append(
            Problem(
                str(rules_dir),
                None,
                None,
                WARNING,
                "no *.yaml rule files: no message will get a rule reply",
            )
        )
    digest = hashlib.sha256()
    compiler = TemplateCompiler()
    parsed_files = []
    for index, path in enumerate(paths):
        display = str(rules_dir / path.name)
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(display, None, None, ERROR, f"not UTF-8 text: {exc}"))
            continue
        parsed = parse_file(display, index, text, compiler)
        problems.extend(parsed.problems)
        parsed_files.append(parsed)
    ruleset = Ruleset(
        files=[p.file for p in parsed_files],
        rules=[r for p in parsed_files for r in p.rules],
        fallbacks=[r for p in parsed_files for r in p.fallbacks],
        version=digest.hexdigest()[:12],
        problems=[],
    )
    problems.extend(lint_ruleset(ruleset))
    build = Build(
        ruleset,
        sort_problems(problems),
        [(p, example) for p in parsed_files for example in p.examples],
    )
    ruleset.problems = [p for p in build.problems if not p.is_error]
    return build


def check_ruleset(rules_dir: Path) -> list[Problem]:
    """Every problem in *rules_dir*, warnings and failing examples included, sorted by place."""
    from responder.ruleset.examples import run_examples

    build = build_ruleset(rules_dir)
    problems = list(build.problems)
    if build.ruleset is not None and not build.has_errors:
        problems.extend(r.problem for r in run_examples(build) if r.problem is not None)
    return sort_problems(problems)


def load_ruleset(rules_dir: Path, *, run_examples: bool = True) -> Ruleset:
    """Load *rules_dir*; raise RuleSetError listing every problem when there is any error."""
    from responder.ruleset import examples

    build = build_ruleset(rules_dir)
    problems = list(build.problems)
    if not build.has_errors and run_examples:
        problems.extend(r.problem for r in examples.run_examples(build) if r.problem is not None)
    problems = sort_problems(problems)
    if build.ruleset is None or any(p.is_error for p in problems):
        raise RuleSetError(problems)
    return build.ruleset
