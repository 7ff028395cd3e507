"""The keys each part of a rule file may use, and "did you mean" for the ones it may not."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from responder.ruleset.yamlsource import FieldError, Loc, LocDict

FILE_KEYS = (
    "rules",
    "fallback",
    "numbers",
    "timezone",
    "holidays",
    "exclusive_states",
    "smart_encoding",
    "budget",
    "examples",
    "description",
)
RULE_KEYS = (
    "id",
    "keywords",
    "aliases",
    "match",
    "pattern",
    "reply",
    "priority",
    "in_state",
    "when",
    "then",
    "save_as",
    "forward",
    "tag",
    "handoff",
    "cooldown",
    "on_cooldown",
    "smart_encoding",
    "description",
)
FALLBACK_KEYS = (
    "id",
    "reply",
    "when",
    "in_state",
    "then",
    "save_as",
    "forward",
    "tag",
    "handoff",
    "smart_encoding",
    "description",
)
THEN_KEYS = ("state", "expires_after")
BUDGET_KEYS = ("replies", "per")
FORWARD_KEYS = ("sms", "url", "text", "timeout")
EXAMPLE_KEYS = (
    "text",
    "from",
    "to",
    "at",
    "state",
    "saved",
    "last_fired",
    "recent_replies",
    "expect",
    "reply",
    "reply_contains",
    "expect_state",
    "description",
)


def unknown_keys(
    mapping: dict[Any, Any], allowed: Iterable[str], where: str
) -> list[tuple[Loc, str]]:
    """Every key of *mapping* not in *allowed*, with a suggestion when one is close."""
    allowed = tuple(allowed)
    found = []
    for key in mapping:
        if key in allowed:
            continue
        loc = mapping.key_loc(key) if isinstance(mapping, LocDict) else (1, 1)
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = (
            f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
        )
        found.append((loc, f"unknown key {key!r} in {where}{hint}"))
    return found


def check_keys(mapping: dict[Any, Any], allowed: Iterable[str], where: str) -> None:
    """Raise FieldError for the first key of *mapping* not in *allowed*."""
    problems = unknown_keys(mapping, allowed, where)
    if problems:
        raise FieldError(*problems[0])
