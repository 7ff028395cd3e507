"""Checks that need the whole rule set: ids, template variables, shadowed rules, reserved words."""

from __future__ import annotations

from responder.ruleset.model import FALLBACK, Rule
from responder.ruleset.problems import ERROR, Problem
from responder.ruleset.ruleset import Ruleset
from responder.ruleset.templates import BASE_VARIABLES


def _problem(rule: Rule, level: str, message: str) -> Problem:
    return Problem(rule.file.path, rule.line, rule.column, level, message)


def lint_ruleset(ruleset: Ruleset) -> list[Problem]:
    """Every cross-rule problem in *ruleset*."""
    problems: list[Problem] = []
    problems.extend(check_ids(ruleset))
    problems.extend(check_variables(ruleset))
    return problems


def check_ids(ruleset: Ruleset) -> list[Problem]:
    seen: dict[str, Rule] = {}
    problems = []
    for rule in [*ruleset.rules, *ruleset.fallbacks]:
        first = seen.setdefault(rule.id, rule)
        if first is not rule and not (rule.kind == FALLBACK and first.kind == FALLBACK):
            problems.append(
                _problem(rule, ERROR, f"rule id {rule.id!r} is already used at {first.where}")
            )
    return problems


def check_variables(ruleset: Ruleset) -> list[Problem]:
    saved = {name for rule in [*ruleset.rules, *ruleset.fallbacks] for name in rule.save_as}
    problems = []
    for rule in [*ruleset.rules, *ruleset.fallbacks]:
        known = BASE_VARIABLES | saved | set(rule.pattern.groupindex if rule.pattern else ())
        templates = [("reply", rule.reply)] + [("forward text", f.text) for f in rule.forwards]
        for what, template in templates:
            if template is None:
                continue
            for name in sorted(template.variables - known):
                problems.append(
                    _problem(
                        rule,
                        ERROR,
                        f"{what} of {rule.id!r} uses unknown variable "
                        f"{name!r}; known: {', '.join(sorted(known))}",
                    )
                )
    return problems
