"""A rules directory -> a checked Ruleset, or every problem that stops it being used."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from responder.ruleset import examples
from responder.ruleset.lint import lint_ruleset
from responder.ruleset.parse import ParsedFile, parse_file
from responder.ruleset.problems import (
    ERROR,
    WARNING,
    Problem,
    RuleSetError,
    show_path,
    sort_problems,
)
from responder.ruleset.ruleset import Ruleset
from responder.ruleset.templates import TemplateCompiler
from responder.ruleset.yamlsource import Loc, loc_of

# A check of the deployment's own on a built rule set (configured compliance words, say).
RulesetCheck = Callable[[Ruleset], list[Problem]]


@dataclass
class Build:
    """A rule set as built from one directory, with every problem and the raw examples."""

    ruleset: Ruleset | None
    problems: list[Problem]
    examples: list[tuple[ParsedFile, Any, Loc]] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)


class ParseCache:
    """Parsed files by path, position and content, so a reload re-reads only what changed."""

    def __init__(self) -> None:
        self.compiler = TemplateCompiler()
        self._files: dict[tuple[str, int, bytes], ParsedFile] = {}
        self._used: set[tuple[str, int, bytes]] = set()

    def parse(self, display: str, index: int, raw: bytes, text: str) -> ParsedFile:
        key = (display, index, hashlib.sha256(raw).digest())
        self._used.add(key)
        found = self._files.get(key)
        if found is None:
            found = self._files[key] = parse_file(display, index, text, self.compiler)
        return found

    def forget_unused(self) -> None:
        """Drop files that the last build did not use."""
        self._files = {k: v for k, v in self._files.items() if k in self._used}
        self._used = set()


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Building 10,000 rules allocates about a million small acyclic objects; the collector's
    # repeated full passes over them took a third of the load time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def list_rule_files(rules_dir: Path) -> list[Path]:
    """The rule files of *rules_dir* in name order (hidden files and editor backups left out)."""
    return sorted(p for p in rules_dir.glob("*.yaml") if p.is_file() and not p.name.startswith("."))


def _directory_problems(rules_dir: Path, paths: list[Path], base: Path | None) -> list[Problem]:
    problems = [
        Problem(
            show_path(stray, base), None, None, WARNING, "ignored: rule files must end in .yaml"
        )
        for stray in sorted(rules_dir.glob("*.yml"))
    ]
    if not paths:
        message = "no *.yaml rule files: no message will get a rule reply"
        problems.append(Problem(show_path(rules_dir, base), None, None, WARNING, message))
    return problems


def build_ruleset(
    rules_dir: Path, *, cache: ParseCache | None = None, base: Path | None = None
) -> Build:
    """Read, parse and lint every rule file; the Ruleset is None only when nothing could be read.

    Every location (problems, rules, traces) names its file relative to *base* (default: the
    current directory) when the file lies under it.
    """
    if not rules_dir.is_dir():
        message = "rules directory does not exist"
        return Build(None, [Problem(show_path(rules_dir, base), None, None, ERROR, message)])
    cache = cache or ParseCache()
    paths = list_rule_files(rules_dir)
    problems = _directory_problems(rules_dir, paths, base)
    digest = hashlib.sha256()
    parsed_files = []
    with _gc_paused():
        for index, path in enumerate(paths):
            display = show_path(rules_dir / path.name, base)
            raw = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + raw + b"\0")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem(display, None, None, ERROR, f"not UTF-8 text: {exc}"))
                continue
            parsed = cache.parse(display, index, raw, text)
            problems.extend(parsed.problems)
            parsed_files.append(parsed)
        cache.forget_unused()
        ruleset = Ruleset(
            files=[p.file for p in parsed_files],
            rules=[r for p in parsed_files for r in p.rules],
            fallbacks=[r for p in parsed_files for r in p.fallbacks],
            version=digest.hexdigest()[:12],
            problems=[],
        )
        rejected = [r for p in parsed_files for r in p.rejected]
        problems.extend(lint_ruleset(ruleset, rejected=rejected))
    build = Build(
        ruleset,
        sort_problems(problems),
        [
            (p, example, loc_of(p.examples, i))
            for p in parsed_files
            for i, example in enumerate(p.examples)
        ],
    )
    ruleset.problems = [p for p in build.problems if not p.is_error]
    return build


def check_ruleset(rules_dir: Path) -> list[Problem]:
    """Every problem in *rules_dir*, warnings and failing examples included, sorted by place."""
    build = build_ruleset(rules_dir)
    problems = list(build.problems)
    if build.ruleset is not None and not build.has_errors:
        problems.extend(r.problem for r in examples.run_examples(build) if r.problem is not None)
    return sort_problems(problems)


def load_ruleset(
    rules_dir: Path,
    *,
    run_examples: bool = True,
    cache: ParseCache | None = None,
    checks: Sequence[RulesetCheck] = (),
    base: Path | None = None,
) -> Ruleset:
    """Load *rules_dir*; raise RuleSetError listing every problem when there is any error.

    *checks* add problems of their own to the lint's, and refuse the set the same way; *base*
    is what locations are relative to (see build_ruleset).
    """
    build = build_ruleset(rules_dir, cache=cache, base=base)
    problems = list(build.problems)
    if build.ruleset is not None:
        for check in checks:
            problems.extend(check(build.ruleset))
    if not any(p.is_error for p in problems) and run_examples:
        problems.extend(r.problem for r in examples.run_examples(build) if r.problem is not None)
    problems = sort_problems(problems)
    if build.ruleset is None or any(p.is_error for p in problems):
        raise RuleSetError(problems)
    build.ruleset.problems = [p for p in problems if not p.is_error]
    return build.ruleset
