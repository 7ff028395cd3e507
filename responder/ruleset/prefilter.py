"""What a regex needs in a message (a first word, a literal), so matching can skip it cheaply."""

from __future__ import annotations

import re

# re's own parser (private, but the one re.compile uses), so the analysis sees what re sees.
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

_STARTS = {_c.AT_BEGINNING, _c.AT_BEGINNING_STRING}
_ENDS = {_c.AT_END, _c.AT_END_STRING}


def first_words(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """The words, one of which a match must begin the message with; None when it cannot tell.

    Only patterns of the form ^word\\s..., ^word$ or ^(?:a|b)\\s... qualify: the word is then a
    whole first token of the text the pattern searches, which folds to the message's first word.
    """
    if pattern.flags & re.MULTILINE:
        return None
    try:
        items = list(_parser.parse(pattern.pattern, pattern.flags))
    except (re.error, RecursionError, TypeError):
        return None
    if len(items) < 3 or items[0][0] != _c.AT or items[0][1] not in _STARTS:
        return None
    words, rest = _leading_literals(items[1:])
    if not words or not rest or not _is_delimiter(rest[0]):
        return None
    return frozenset(words)


def _leading_literals(items: list[Any]) -> tuple[list[str], list[Any]]:
    """Words spelled by the first item(s): a run of literals, or a group/branch of such runs."""
    op, av = items[0]
    if op == _c.LITERAL:
        count = 0
        while count < len(items) and items[count][0] == _c.LITERAL:
            count += 1
        word = _spell(items[:count])
        return ([word] if word else []), items[count:]
    if op == _c.SUBPATTERN and len(av[-1]) == 1:
        return _leading_literals([av[-1][0], *items[1:]])
    if op == _c.SUBPATTERN:
        word = _spell(list(av[-1]))
        return ([word] if word else []), items[1:]
    if op == _c.BRANCH:
        words = [_spell(list(branch)) for branch in av[1]]
        return ([] if not all(words) else [w for w in words if w]), items[1:]
    return [], items


def _spell(items: list[Any]) -> str | None:
    if not items or any(op != _c.LITERAL for op, _ in items):
        return None
    word = "".join(chr(code) for _, code in items)
    return word.lower() if word.isascii() and word.isalnum() else None


def _is_delimiter(item: Any) -> bool:
    op, av = item
    if op == _c.AT:
        return bool(av in _ENDS)
    if op == _c.LITERAL:
        return bool(av == ord(" "))
    if op == _c.IN:
        return bool(list(av) == [(_c.CATEGORY, _c.CATEGORY_SPACE)])
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        low, _high, inner = av
        return low >= 1 and len(inner) == 1 and _is_delimiter(inner[0])
    return False


def required_literal(pattern: re.Pattern[str]) -> str | None:
    """The longest run of ASCII letters and digits every match must contain, folded to lower case.

    A message whose folded words do not contain it cannot match, whichever text the pattern
    searches: the only other characters IGNORECASE lets match ASCII ones (ı İ ſ K) fold to them.
    """
    try:
        items = list(_parser.parse(pattern.pattern, pattern.flags))
    except (re.error, RecursionError, TypeError):
        return None
    runs = _literal_runs(items)
    best = max(runs, key=len, default="")
    return best.lower() if len(best) >= 2 else None


def _literal_runs(items: list[Any]) -> list[str]:
    """Runs of ASCII alphanumeric literals among items that every match passes through."""
    runs: list[str] = []
    current = ""
    for op, av in items:
        if op == _c.LITERAL and chr(av).isascii() and chr(av).isalnum():
            current += chr(av)
            continue
        runs.append(current)
        current = ""
        if op == _c.SUBPATTERN:
            runs.extend(_literal_runs(list(av[-1])))
    runs.append(current)
    return [run for run in runs if run]
