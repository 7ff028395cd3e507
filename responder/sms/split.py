"""Split a reply that is longer than the provider accepts into several messages."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from responder.sms.segments import graphemes, utf16_units

# Characters that look like nothing: a reply made only of these and whitespace is empty.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")
# Whitespace that joins words rather than separating them; a reply never breaks there.
_NO_BREAK = frozenset("\u00a0\u2007\u202f")
# A piece holds at least one code point, and one outside the BMP is two UTF-16 units.
MIN_LIMIT = 2


def validate_reply(text: str) -> None:
    """Raise ValueError("empty reply") when *text* has nothing visible to send."""
    if all(char.isspace() or char in _INVISIBLE for char in text):
        raise ValueError("empty reply")


def split_for_limit(text: str, max_chars: int) -> list[str]:
    """Cut *text* at word boundaries into pieces of at most *max_chars*, never inside a grapheme.

    Length is measured in UTF-16 code units, which is never less than the number of code
    points, so each piece fits whichever of the two the provider counts. A text that fits
    comes back unchanged; otherwise each piece starts and ends with a word, and the
    whitespace between pieces is dropped.
    """
    if max_chars < MIN_LIMIT:
        raise ValueError(f"max_chars must be at least {MIN_LIMIT} (got {max_chars})")
    if utf16_units(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    gap = ""
    for is_space, run in _runs(text):
        if is_space:
            gap += run
            continue
        if current and utf16_units(current + gap + run) <= max_chars:
            current += gap + run
        else:
            if current:
                pieces.append(current)
            *full, current = _hard_split(run, max_chars)
            pieces.extend(full)
        gap = ""
    if current:
        pieces.append(current)
    return pieces


def _runs(text: str) -> Iterator[tuple[bool, str]]:
    """Yield (is_space, run) for alternating runs of breakable whitespace and words."""
    for is_space, clusters in groupby(graphemes(text), key=_is_break):
        yield is_space, "".join(clusters)


def _is_break(cluster: str) -> bool:
    # A space that carries a combining mark is a visible cluster, so it stays in its word.
    return all(char.isspace() and char not in _NO_BREAK for char in cluster)


def _hard_split(word: str, max_chars: int) -> list[str]:
    """Cut a word into pieces of at most *max_chars* at grapheme boundaries."""
    pieces = [""]
    for atom in _atoms(word, max_chars):
        if utf16_units(pieces[-1] + atom) > max_chars:
            pieces.append("")
        pieces[-1] += atom
    return pieces


def _atoms(word: str, max_chars: int) -> Iterator[str]:
    # A cluster longer than a whole piece cannot stay whole; it is cut into code points.
    for cluster in graphemes(word):
        if utf16_units(cluster) > max_chars:
            yield from cluster
        else:
            yield cluster
