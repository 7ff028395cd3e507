"""Text -> the rules whose keywords or pattern match it, in rule order, found by word lookups."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from responder.ruleset.model import FALLBACK, Rule
from responder.ruleset.normalise import LOOSE, Text
from responder.ruleset.prefilter import first_words


@dataclass(frozen=True, slots=True)
class Hit:
    """Why a rule's text test passed: the keyword it matched, or the regex groups."""

    keyword: str | None = None
    groups: dict[str, str] = field(default_factory=dict)

    def describe(self, rule: Rule) -> str:
        if rule.kind == "regex":
            return f"pattern `{rule.pattern.pattern if rule.pattern else ''}` matched"
        if rule.kind == FALLBACK:
            return "fallback"
        return f"{rule.kind} keyword {self.keyword!r}"


def match_rule(rule: Rule, text: Text) -> Hit | None:
    """Test one rule against *text*; the slow, obvious form the index must agree with."""
    words = text.words
    kind = rule.kind
    if kind == FALLBACK:
        return Hit()
    if kind == "regex":
        return match_pattern(rule, text)
    for keyword in rule.keywords:
        kw = keyword.words
        if (
            (kind == "only" and words == kw)
            or (kind == "first" and words[: len(kw)] == kw)
            or (kind == "word" and kw[0] in words)
            or (kind == "phrase" and _contains(words, kw))
        ):
            return Hit(keyword.text)
    return None


def match_pattern(rule: Rule, text: Text) -> Hit | None:
    """Search the cleaned text first, then the text as received (trimmed)."""
    pattern = rule.pattern
    if pattern is None or (rule.literal is not None and rule.literal not in text.loose_key):
        return None
    found = pattern.search(text.clean) or pattern.search(text.raw.strip())
    if found is None:
        return None
    return Hit(None, {k: v for k, v in found.groupdict().items() if v is not None})


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


class RuleIndex:
    """Rules in their order, with dictionaries from folded words to the rules that use them."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.positions = {id(rule): pos for pos, rule in enumerate(rules)}
        self._only: dict[str, list[tuple[int, int]]] = {}
        self._first: dict[str, list[tuple[tuple[str, ...], int, int]]] = {}
        self._word: dict[str, list[tuple[int, int]]] = {}
        self._phrase: dict[str, list[tuple[tuple[str, ...], int, int]]] = {}
        # Tried on every message that gets this far and contains the literal (if any).
        self._regex: list[tuple[int, str | None]] = []
        self._regex_by_word: dict[str, list[int]] = {}  # tried only after this first word
        for pos, rule in enumerate(rules):
            if rule.kind == "regex" and rule.pattern is not None:
                words = first_words(rule.pattern)
                for word in words or ():
                    self._regex_by_word.setdefault(word, []).append(pos)
                if words is None:
                    self._regex.append((pos, rule.literal))
            for k, keyword in enumerate(rule.keywords):
                kw = keyword.words
                if rule.kind == "only":
                    self._only.setdefault(" ".join(kw), []).append((pos, k))
                elif rule.kind == "first":
                    self._first.setdefault(kw[0], []).append((kw, pos, k))
                elif rule.kind == "word":
                    self._word.setdefault(kw[0], []).append((pos, k))
                elif rule.kind == "phrase":
                    self._phrase.setdefault(kw[0], []).append((kw, pos, k))

    def _keyword_hits(self, text: Text) -> dict[int, int]:
        """Rule position -> index of the first of its keywords that matches."""
        hits: dict[int, int] = {}

        def note(pos: int, k: int) -> None:
            if k < hits.get(pos, k + 1):
                hits[pos] = k

        words = text.words
        if not words:
            return hits
        for pos, k in self._only.get(text.key, ()):
            note(pos, k)
        for kw, pos, k in self._first.get(words[0], ()):
            if words[: len(kw)] == kw:
                note(pos, k)
        for i, word in enumerate(words):
            for pos, k in self._word.get(word, ()):
                note(pos, k)
            for kw, pos, k in self._phrase.get(word, ()):
                if words[i : i + len(kw)] == kw:
                    note(pos, k)
        return hits

    def matches(self, text: Text) -> Iterator[tuple[Rule, Hit]]:
        """Matching rules in order; a regex runs only when reached, so a winner skips the rest."""
        hits = self._keyword_hits(text)
        cheap = sorted(hits)
        loose = text.loose_key
        regex = [pos for pos, literal in self._regex if literal is None or literal in loose]
        if self._regex_by_word and text.words:
            first = text.words[0]
            more = self._regex_by_word.get(first if first.isascii() else first.translate(LOOSE))
            if more:
                regex = sorted(regex + more)
        i = j = 0
        while i < len(cheap) or j < len(regex):
            if j < len(regex) and (i >= len(cheap) or regex[j] < cheap[i]):
                rule = self.rules[regex[j]]
                j += 1
                hit = match_pattern(rule, text)
                if hit is not None:
                    yield rule, hit
            else:
                rule = self.rules[cheap[i]]
                yield rule, Hit(rule.keywords[hits[cheap[i]]].text)
                i += 1
