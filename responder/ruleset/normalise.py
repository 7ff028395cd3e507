"""Message text -> the forms rules match against: folded words, a key, and a cleaned text."""

from __future__ import annotations

import string
import unicodedata
from functools import lru_cache

_ASCII_PUNCT = string.punctuation
_VARIATION_SELECTORS = frozenset("\ufe0e\ufe0f")
_ZWJ = "\u200d"
# Latin letters that carry their "accent" in the letter itself, so NFD cannot remove it.
# re's IGNORECASE lets this non-ASCII letter match an ASCII one that folding does not produce.
LOOSE = str.maketrans({"ı": "i"})
_LATIN_EXTRA = {"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "\u2019": "'", "\u2018": "'"}


class Text:
    """One message in the forms matching needs; computed once per message."""

    __slots__ = ("_clean", "_loose", "key", "raw", "words")

    def __init__(self, raw: str, words: tuple[str, ...]) -> None:
        self.raw = raw
        self.words = words  # folded words (casefold, Latin accents removed, emoji split out)
        self.key = " ".join(words)
        self._clean: str | None = None
        self._loose: str | None = None

    @property
    def clean(self) -> str:
        """NFKC, punctuation trimmed at word edges, single spaces, case kept: what regex sees."""
        if self._clean is None:
            if self.raw.isascii():
                tokens = (t.strip(_ASCII_PUNCT) for t in self.raw.split())
            else:
                tokens = (_strip_edges(t) for t in unicodedata.normalize("NFKC", self.raw).split())
            self._clean = " ".join(t for t in tokens if t)
        return self._clean

    @property
    def loose_key(self) -> str:
        """The key with the one letter IGNORECASE matches that folding leaves alone (ı) mapped."""
        if self._loose is None:
            self._loose = self.key if self.key.isascii() else self.key.translate(LOOSE)
        return self._loose

    def __repr__(self) -> str:
        return f"Text({self.raw!r}, words={self.words!r})"


def parse_text(raw: str) -> Text:
    """Return *raw* in every form the matcher uses."""
    if raw.isascii():
        return Text(
            raw, tuple(w for w in (t.strip(_ASCII_PUNCT) for t in raw.lower().split()) if w)
        )
    return Text(raw, tuple(fold_words(raw)))


def fold_words(text: str) -> list[str]:
    """Split *text* into folded words; emoji become words of their own."""
    folded = _fold_latin(unicodedata.normalize("NFKC", text).casefold())
    words: list[str] = []
    for token in folded.split():
        for piece in _split_emoji(token):
            piece = _strip_edges(piece)
            if piece:
                words.append(piece)
    return words


def normalise_keyword(keyword: str) -> tuple[str, ...]:
    """A rule keyword as the words it stands for; empty when it has no letters, digits or emoji."""
    return tuple(fold_words(keyword))


def _strip_edges(token: str) -> str:
    start, end = 0, len(token)
    while start < end and _is_edge_punct(token[start]):
        start += 1
    while end > start and _is_edge_punct(token[end - 1]):
        end -= 1
    return token[start:end]


@lru_cache(maxsize=4096)
def _is_edge_punct(char: str) -> bool:
    return char in _ASCII_PUNCT or unicodedata.category(char).startswith("P")


@lru_cache(maxsize=4096)
def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def _fold_latin(text: str) -> str:
    """Drop combining marks on Latin letters; on other scripts a mark is part of the letter."""
    if text.isascii():
        return text
    out: list[str] = []
    base_is_latin = False
    for char in unicodedata.normalize("NFD", text):
        if char in _VARIATION_SELECTORS:
            continue
        if unicodedata.combining(char):
            if not base_is_latin:
                out.append(char)
            continue
        base_is_latin = _is_latin(char)
        out.append(_LATIN_EXTRA.get(char, char))
    return unicodedata.normalize("NFC", "".join(out))


def _is_emoji(char: str) -> bool:
    return not char.isascii() and unicodedata.category(char) == "So"


def _split_emoji(token: str) -> list[str]:
    """Cut emoji out of a token; a joined sequence, skin tone or flag pair stays one emoji."""
    if token.isascii():
        return [token]
    pieces: list[str] = []
    current = ""
    i = 0
    while i < len(token):
        char = token[i]
        if not _is_emoji(char):
            current += char
            i += 1
            continue
        if current:
            pieces.append(current)
            current = ""
        emoji = char
        i += 1
        while i < len(token):
            nxt = token[i]
            if unicodedata.category(nxt) == "Sk" and not nxt.isascii():
                emoji += nxt
            elif nxt == _ZWJ and i + 1 < len(token):
                emoji += nxt + token[i + 1]
                i += 1
            elif _is_regional(char) and _is_regional(nxt) and len(emoji) == 1:
                emoji += nxt
            else:
                break
            i += 1
        pieces.append(emoji)
    if current:
        pieces.append(current)
    return pieces


def _is_regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"
