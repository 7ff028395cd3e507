"""Compliance checks for `rules check`: configured words no rule may claim, the help text."""

from __future__ import annotations

from responder.compliance.settings import ComplianceSettings
from responder.compliance.words import OPT_OUT_WORDS, RESERVED_KEYWORDS, normalise_words
from responder.ruleset.matcher import match_rule
from responder.ruleset.model import Rule
from responder.ruleset.normalise import parse_text
from responder.ruleset.problems import ERROR, WARNING, Problem
from responder.ruleset.ruleset import Ruleset

# A regex that also matches this is a catch-all, not a claim on a compliance word.
_NONSENSE = parse_text("qxzvjk wpfhg")


def check_configured_words(ruleset: Ruleset, settings: ComplianceSettings) -> list[Problem]:
    """A rule that claims a deployment's own opt-out, opt-in or help word would never see it."""
    extra = {
        **{w: "opt-out" for w in settings.opt_out_extra},
        **{w: "opt-in" for w in settings.opt_in_extra},
        **{w: "help" for w in settings.help_extra},
    }
    reserved = {normalise_words(w) for w in RESERVED_KEYWORDS}
    claimed: dict[int, tuple[Rule, list[str]]] = {}
    for _number, _state, index in ruleset.all_groups():
        for word, kind in extra.items():
            if normalise_words(word) in reserved:
                continue  # the rules lint reports these already
            for rule, _hit in index.matches(parse_text(word)):
                if rule.kind == "regex" and match_rule(rule, _NONSENSE) is not None:
                    continue
                entry = claimed.setdefault(id(rule), (rule, []))
                label = f"{word!r} ({kind})"
                if label not in entry[1]:
                    entry[1].append(label)
    problems = []
    for rule, labels in claimed.values():
        message = (
            f"rule {rule.id!r} claims configured compliance words: "
            f"{', '.join(labels)}; they are answered before any rule, so choose other keywords"
        )
        problems.append(Problem(rule.file.path, rule.line, rule.column, ERROR, message))
    return problems


def check_help_reply(settings: ComplianceSettings) -> list[Problem]:
    """Carriers expect the help answer to say how to opt out."""
    words = f" {normalise_words(settings.help_reply)} "
    if any(f" {normalise_words(w)} " in words for w in OPT_OUT_WORDS):
        return []
    return [
        Problem(
            "RESPONDER_HELP_REPLY",
            None,
            None,
            WARNING,
            "the help answer does not say how to opt out; add e.g. 'Reply STOP to unsubscribe'",
        )
    ]


def compliance_problems(ruleset: Ruleset | None, settings: ComplianceSettings) -> list[Problem]:
    """Everything `rules check` reports about compliance beyond the rules lint."""
    found = check_help_reply(settings)
    if ruleset is not None:
        found += check_configured_words(ruleset, settings)
    return found
