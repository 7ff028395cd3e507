"""One rule file's YAML -> its settings, rules and fallbacks, with every problem located."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from responder.errors import InvalidNumberError
from responder.numbers import normalise_number
from responder.ruleset import fields
from responder.ruleset.keys import FALLBACK_KEYS, FILE_KEYS, RULE_KEYS, unknown_keys
from responder.ruleset.model import FALLBACK, MATCH_KINDS, Rule, RuleFile
from responder.ruleset.prefilter import required_literal
from responder.ruleset.problems import ERROR, WARNING, Problem
from responder.ruleset.schedule import parse_dates
from responder.ruleset.templates import TemplateCompiler
from responder.ruleset.yamlsource import FieldError, Loc, LocDict, LocList, loc_of, parse_yaml

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class ParsedFile:
    """What one file contributed; rules that had errors are left out."""

    file: RuleFile
    rules: list[Rule] = field(default_factory=list)
    fallbacks: list[Rule] = field(default_factory=list)
    rejected: list[Rule] = field(default_factory=list)  # rules with errors, still checked by lint
    examples: list[Any] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, loc: Loc | None, message: str, level: str = ERROR) -> None:
        line, column = loc if loc is not None else (None, None)
        self.problems.append(Problem(self.file.path, line, column, level, message))


def parse_file(path: str, index: int, text: str, compiler: TemplateCompiler) -> ParsedFile:
    """Read one rule file; never raises for what is in the file."""
    parsed = ParsedFile(RuleFile(path=path, name=path.rsplit("/", 1)[-1], index=index))
    source = parse_yaml(text)
    if source.error is not None:
        parsed.add(*source.error)
        return parsed
    for loc, message in source.duplicates:
        parsed.add(loc, message)
    data = source.data
    if data is None:
        # An error, not a warning: an editor part-way through saving leaves an empty file.
        parsed.add((1, 1), "the file is empty; expected a mapping with 'rules:'")
        return parsed
    if not isinstance(data, LocDict):
        parsed.add(getattr(data, "loc", (1, 1)), "a rule file must be a mapping with 'rules:'")
        return parsed
    for loc, message in unknown_keys(data, FILE_KEYS, "the file"):
        parsed.add(loc, message)
    _read_settings(parsed, data)
    rules = data.get("rules", [])
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        parsed.add(loc_of(data, "rules"), "'rules' must be a list of rules")
        rules = []
    for position, item in enumerate(rules):
        rule = _read_rule(
            parsed, item, loc_of(rules, position), position, compiler, is_fallback=False
        )
        if rule is not None:
            parsed.rules.append(rule)
    fallbacks = data.get("fallback")
    items = fallbacks if isinstance(fallbacks, list) else [] if fallbacks is None else [fallbacks]
    for position, item in enumerate(items):
        loc = loc_of(items, position) if isinstance(items, LocList) else loc_of(data, "fallback")
        rule = _read_rule(parsed, item, loc, 10_000 + position, compiler, is_fallback=True)
        if rule is not None:
            parsed.fallbacks.append(rule)
    examples = data.get("examples", [])
    if not isinstance(examples, list):
        parsed.add(loc_of(data, "examples"), "'examples' must be a list")
    else:
        parsed.examples = examples
    return parsed


def _read_settings(parsed: ParsedFile, data: LocDict) -> None:
    file = parsed.file
    numbers = data.get("numbers")
    if numbers is not None:
        found = set()
        for i, raw in enumerate(numbers if isinstance(numbers, list) else [numbers]):
            loc = loc_of(numbers, i) if isinstance(numbers, LocList) else loc_of(data, "numbers")
            try:
                found.add(normalise_number(str(raw)))
            except InvalidNumberError as exc:
                parsed.add(loc, f"'numbers': {exc}")
        file.numbers = frozenset(found)
    if "timezone" in data:
        name = data["timezone"]
        try:
            file.timezone = fields.read_timezone(name)
            file.timezone_declared = True
        except ValueError as exc:
            parsed.add(loc_of(data, "timezone"), str(exc))
    with _reporting(parsed):
        file.holidays = parse_dates(data.get("holidays"), loc_of(data, "holidays"))
    if "exclusive_states" in data:
        with _reporting(parsed):
            file.exclusive_states = fields.read_bool(data, "exclusive_states")
    if "smart_encoding" in data:
        with _reporting(parsed):
            file.smart_encoding = fields.read_bool(data, "smart_encoding")
    if "budget" in data:
        with _reporting(parsed):
            file.budget = fields.read_budget(data)


@contextmanager
def _reporting(parsed: ParsedFile) -> Iterator[None]:
    """Turn a FieldError into a problem of *parsed*, so reading goes on with the next field."""
    try:
        yield
    except FieldError as exc:
        parsed.add(exc.loc, exc.message)


def _read_rule(
    parsed: ParsedFile,
    item: Any,
    loc: Loc,
    position: int,
    compiler: TemplateCompiler,
    *,
    is_fallback: bool,
) -> Rule | None:
    allowed = FALLBACK_KEYS if is_fallback else RULE_KEYS
    what = "the fallback" if is_fallback else "a rule"
    if not isinstance(item, LocDict):
        parsed.add(loc, f"{what} must be a mapping of {', '.join(allowed[:4])}, ...")
        return None
    before = len(parsed.problems)
    for key_loc, message in unknown_keys(item, allowed, what):
        parsed.add(key_loc, message)
    rule_id = item.get("id", FALLBACK if is_fallback else None)
    if rule_id is None:
        parsed.add(item.loc, "a rule needs an 'id'")
    elif not isinstance(rule_id, str) or not _ID.match(rule_id):
        parsed.add(
            loc_of(item, "id"), f"'id' must be letters, digits, '.', '_' or '-' (got {rule_id!r})"
        )
    rule = Rule(
        id=str(rule_id),
        kind=FALLBACK,
        file=parsed.file,
        line=item.loc[0],
        column=item.loc[1],
        index=position,
    )
    if not is_fallback:
        with _reporting(parsed):
            _read_matching(rule, item)
    for key, reader in fields.READERS.items():
        if key in item and key in allowed:
            with _reporting(parsed):
                reader(rule, item, compiler)
    if "reply" not in item and not (rule.forwards or rule.tags or rule.handoff or rule.then):
        parsed.add(
            item.loc, f"rule {rule.id!r} has no 'reply' and no action; it answers nothing", WARNING
        )
    if any(p.is_error for p in parsed.problems[before:]):
        parsed.rejected.append(rule)
        return None
    return rule


def _read_matching(rule: Rule, item: LocDict) -> None:
    kind = item.get("match", "regex" if "pattern" in item else None)
    if kind is None:
        raise FieldError(
            item.loc, f"rule {rule.id!r} needs 'match': one of {', '.join(MATCH_KINDS)}"
        )
    if kind not in MATCH_KINDS:
        raise FieldError(
            loc_of(item, "match"), f"'match' must be one of {', '.join(MATCH_KINDS)} (got {kind!r})"
        )
    rule.kind = kind
    if kind == "regex":
        for key in ("keywords", "aliases"):
            if key in item:
                raise FieldError(item.key_loc(key), f"a regex rule uses 'pattern', not {key!r}")
        if "pattern" not in item:
            raise FieldError(item.loc, f"rule {rule.id!r} has match: regex but no 'pattern'")
        rule.pattern = fields.read_pattern(item)
        rule.literal = required_literal(rule.pattern)
        return
    if "pattern" in item:
        raise FieldError(
            item.key_loc("pattern"), f"'pattern' needs match: regex (got match: {kind})"
        )
    if "keywords" not in item:
        raise FieldError(item.loc, f"rule {rule.id!r} needs 'keywords' for match: {kind}")
    rule.keywords = fields.read_keywords(item, "keywords", kind) + (
        fields.read_keywords(item, "aliases", kind) if "aliases" in item else ()
    )
