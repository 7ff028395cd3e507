"""Checks across rules: ids, variables, states, compliance words, shadowed and doubled keywords."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from responder.compliance.words import HELP_WORDS, OPT_IN_WORDS, RESERVED_KEYWORDS
from responder.ruleset.matcher import RuleIndex, match_rule
from responder.ruleset.model import FALLBACK, Rule
from responder.ruleset.normalise import parse_text
from responder.ruleset.problems import ERROR, WARNING, Problem
from responder.ruleset.ruleset import Ruleset
from responder.ruleset.templates import BASE_VARIABLES

# Which earlier match kinds cover every message a later rule's keyword matches (see _first_cover).
_COVERING_KINDS = {
    "only": {"only", "first", "word", "phrase", "regex"},
    "first": {"first", "word", "phrase"},
    "word": {"word", "phrase"},
    "phrase": {"word", "phrase"},
}
# A pattern that also matches this is a catch-all, not a claim on a compliance word.
_NONSENSE = parse_text("qxzvjk wpfhg")
_RESERVED_TEXTS = [(word, parse_text(word)) for word in sorted(RESERVED_KEYWORDS)]


def _problem(rule: Rule, level: str, message: str) -> Problem:
    return Problem(rule.file.path, rule.line, rule.column, level, message)


def lint_ruleset(ruleset: Ruleset, *, rejected: Sequence[Rule] = ()) -> list[Problem]:
    """Every cross-rule problem; *rejected* rules (which had errors) get their templates checked."""
    return [
        *check_ids(ruleset),
        *check_variables(ruleset, rejected),
        *check_states(ruleset),
        *check_reserved(ruleset),
        *check_overlaps(ruleset),
        *check_budgets(ruleset),
    ]


def check_budgets(ruleset: Ruleset) -> list[Problem]:
    """One budget per number: two files at the same level would leave which one counts unclear."""
    problems = []
    numbers = sorted({n for f in ruleset.files for n in f.numbers})
    for number in [None, *numbers]:
        found = [
            (f.path, f.budget)
            for f in ruleset.files
            if f.budget is not None and (number in f.numbers if number else not f.numbers)
        ]
        scope = f"+{number}" if number else "every number"
        for path, budget in found[1:]:
            first_path, first = found[0]
            problems.append(
                Problem(
                    path,
                    budget.line,
                    budget.column,
                    ERROR,
                    f"a second budget for {scope}; the first is at "
                    f"{first_path}:{first.line}:{first.column}",
                )
            )
    return problems


def check_ids(ruleset: Ruleset) -> list[Problem]:
    """Rule ids are stored with every reply, so each names one rule (fallbacks may share theirs)."""
    seen: dict[str, Rule] = {}
    problems = []
    for rule in [*ruleset.rules, *ruleset.fallbacks]:
        first = seen.setdefault(rule.id, rule)
        if first is not rule and not (rule.kind == FALLBACK and first.kind == FALLBACK):
            message = f"rule id {rule.id!r} is already used at {first.where}"
            problems.append(_problem(rule, ERROR, message))
    return problems


def check_variables(ruleset: Ruleset, rejected: Sequence[Rule] = ()) -> list[Problem]:
    """A template may read only the message variables, its regex groups and saved values."""
    everything = [*ruleset.rules, *ruleset.fallbacks, *rejected]
    saved = {name for rule in everything for name in rule.save_as}
    problems = []
    for rule in everything:
        known = BASE_VARIABLES | saved | set(rule.pattern.groupindex if rule.pattern else ())
        templates = [("reply", rule.reply)] + [("forward text", f.text) for f in rule.forwards]
        for what, template in templates:
            for name in sorted(template.variables - known) if template else ():
                problems.append(
                    _problem(
                        rule,
                        ERROR,
                        (
                            f"{what} of {rule.id!r} uses unknown variable {name!r}; "
                            f"known: {', '.join(sorted(known))}"
                        ),
                    )
                )
    return problems


def check_states(ruleset: Ruleset) -> list[Problem]:
    """A state nobody enters, or one nobody waits for, is almost always a typo."""
    everything = [*ruleset.rules, *ruleset.fallbacks]
    entered = {r.then.name for r in everything if r.then and r.then.name}
    waited = {s for r in everything for s in r.in_state}
    problems = []
    for rule in everything:
        for state in sorted(rule.in_state - entered):
            problems.append(
                _problem(
                    rule,
                    WARNING,
                    (f"rule {rule.id!r} waits for state {state!r}, which no rule's 'then' enters"),
                )
            )
        if rule.then and rule.then.name and rule.then.name not in waited:
            problems.append(
                _problem(
                    rule,
                    WARNING,
                    (f"rule {rule.id!r} enters state {rule.then.name!r}, which no rule waits for"),
                )
            )
    return problems


def check_reserved(ruleset: Ruleset) -> list[Problem]:
    """Compliance words are answered before any rule, so a rule that claims one never sees it."""
    claimed: dict[int, tuple[Rule, set[str]]] = {}
    for _number, _state, index in ruleset.all_groups():
        for word, text in _RESERVED_TEXTS:
            for rule, _hit in index.matches(text):
                if rule.kind == "regex" and match_rule(rule, _NONSENSE) is not None:
                    continue
                claimed.setdefault(id(rule), (rule, set()))[1].add(word)
    problems = []
    for rule, words in claimed.values():
        kinds = {
            "help" if w in HELP_WORDS else "opt-in" if w in OPT_IN_WORDS else "opt-out"
            for w in words
        }
        listed = ", ".join(repr(w) for w in sorted(words))
        message = (
            f"rule {rule.id!r} claims compliance words: {listed} ({'/'.join(sorted(kinds))}); "
            "they are answered before any rule, so choose other keywords"
        )
        problems.append(_problem(rule, ERROR, message))
    return problems


def _conditions_cover(a: Rule, b: Rule) -> bool:
    """Whenever *b* could answer, *a* (earlier, matching the same text) answers or stays silent."""
    if a.when is not None and a.when != b.when:
        return False
    if a.cooldown is not None and a.on_cooldown == "continue":
        return False
    return not (a.file.exclusive_states and not b.file.exclusive_states)


def _catch_all(rule: Rule) -> bool:
    """A pattern that matches the empty string is found in every message."""
    return rule.pattern is not None and rule.pattern.search("") is not None


def _first_cover(
    index: RuleIndex, pos: int, b: Rule, k: int, patterned: list[tuple[int, Rule]]
) -> Rule | None:
    """The first rule before *b* that answers every message *b*'s keyword *k* would answer.

    *patterned* is the (position, rule) of the index's rules that have a pattern, in order:
    only those can cover a regex rule.
    """
    if b.kind == "regex":
        pattern = b.pattern.pattern if b.pattern else None
        for a_pos, a in patterned:
            if a_pos >= pos:
                break
            same = a.pattern is not None and a.pattern.pattern == pattern
            if (same or _catch_all(a)) and _conditions_cover(a, b):
                return a
        return None
    keyword = b.keywords[k]
    text = parse_text(keyword.text)
    folded = parse_text(" ".join(keyword.words))
    for a, _hit in index.matches(text):
        if index.positions[id(a)] >= pos:
            return None
        if (a.kind not in _COVERING_KINDS[b.kind] and not _catch_all(a)) or not _conditions_cover(
            a, b
        ):
            continue
        if a.kind == "regex" and match_rule(a, folded) is None:
            continue
        return a
    return None


def check_overlaps(ruleset: Ruleset) -> list[Problem]:
    """Shadowed rules (warnings) and one keyword claimed by two files for one number (errors)."""
    covers: dict[tuple[int, int], list[Rule | None]] = defaultdict(list)
    claims: dict[tuple[int, int, int], set[str]] = defaultdict(set)
    rules: dict[int, Rule] = {}
    for number, _state, index in ruleset.all_groups():
        patterned = [(pos, r) for pos, r in enumerate(index.rules) if r.pattern is not None]
        for pos, b in enumerate(index.rules):
            rules[id(b)] = b
            for k in range(max(1, len(b.keywords))):
                a = _first_cover(index, pos, b, k, patterned)
                covers[(id(b), k)].append(a)
                if (
                    a is not None
                    and a.file is not b.file
                    and a.priority == b.priority
                    and not _catch_all(a)
                ):
                    claims[(id(b), k, id(a))].add(f"+{number}" if number else "every number")
                    rules[id(a)] = a
    problems = []
    for (b_id, k, a_id), numbers in claims.items():
        b, a = rules[b_id], rules[a_id]
        pattern = b.pattern.pattern if b.pattern else ""
        what = repr(b.keywords[k].text) if b.keywords else f"pattern `{pattern}`"
        problems.append(
            _problem(
                b,
                ERROR,
                (
                    f"{what} of rule {b.id!r} is already claimed by rule {a.id!r} at {a.where} "
                    f"for {', '.join(sorted(numbers))}; remove one, or give one a higher 'priority'"
                ),
            )
        )
    for b_id, b in rules.items():
        shadowed = []
        for k in range(max(1, len(b.keywords))):
            found = covers.get((b_id, k), [])
            if found and all(a is not None for a in found):
                shadowed.append((k, found[0]))
        if not shadowed:
            continue
        whats = [
            (repr(b.keywords[k].text) if b.keywords else "its pattern", a)
            for k, a in shadowed
            if a is not None
        ]
        detail = "; ".join(
            f"{what} is answered first by rule {a.id!r} at {a.where}" for what, a in whats
        )
        if len(shadowed) == max(1, len(b.keywords)):
            problems.append(_problem(b, WARNING, f"rule {b.id!r} can never answer: {detail}"))
            continue
        # Keywords already reported as claimed twice are not repeated as warnings.
        left = [
            (what, a)
            for (k, _), (what, a) in zip(shadowed, whats, strict=True)
            if not any(key[:2] == (b_id, k) for key in claims)
        ]
        if left:
            detail = "; ".join(
                f"{what} is answered first by rule {a.id!r} at {a.where}" for what, a in left
            )
            problems.append(_problem(b, WARNING, f"part of rule {b.id!r} never answers: {detail}"))
    return problems
