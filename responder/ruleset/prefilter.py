"""Which word a regex needs as the message's first word, so the index can skip it when absent."""

from __future__ import annotations

import re
from typing import Any

try:  # the parser moved in Python 3.11; it is the same one re.compile uses
    from re import _constants as _c
    from re import _parser
except ImportError:  # pragma: no cover - Python 3.10 and older
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

_STARTS = {_c.AT_BEGINNING, _c.AT_BEGINNING_STRING}
_ENDS = {_c.AT_END, _c.AT_END_STRING}
# re's IGNORECASE lets this non-ASCII letter match an ASCII one that folding does not produce.
LOOSE = str.maketrans({"ı": "i"})


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
        return av in _ENDS
    if op == _c.LITERAL:
        return av == ord(" ")
    if op == _c.IN:
        return list(av) == [(_c.CATEGORY, _c.CATEGORY_SPACE)]
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        low, _high, inner = av
        return low >= 1 and len(inner) == 1 and _is_delimiter(inner[0])
    return False
