"""Smart encoding: replace look-alike Unicode characters with GSM ones, so a text can stay GSM-7."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# Each entry maps a run of code points to one replacement. Code points are written as
# escapes because many of them cannot be told apart from their replacement on screen.
# The table follows the reference (sms-segments-calculator 1.3.0) entry for entry, so our
# counts agree with it; tests/test_sms_differential.py checks every code point.
_LOOK_ALIKES: tuple[tuple[str, str], ...] = (
    # Double quotes: guillemets, curly and low quotes, modifier double prime and
    # apostrophe, heavy ornaments, CJK double primes.
    ("\u00ab\u00bb\u201c\u201d\u201e\u201f\u02ba\u02ee\u275d\u275e\u301d\u301e", '"'),
    # Single quotes and apostrophes: backtick and acute accent, modifier primes, turned
    # and reversed commas, vertical line, modifier acute and grave, combining commas
    # above, curly quotes, heavy ornaments, vertical presentation commas.
    (
        "`\u00b4\u02b9\u02bb\u02bc\u02bd\u02c8\u02ca\u02cb\u0313\u0314"
        "\u2018\u2019\u201b\u275b\u275c\ufe10\ufe11",
        "'",
    ),
    # Dashes and bullets: hyphen, en, em, bar, bullet, hyphen bullet, low scan lines.
    ("\u2010\u2013\u2014\u2015\u2022\u2043\u23bc\u23bd", "-"),
    # Commas and full stops: combining comma below, low single quote, CJK and half-width.
    ("\u0326\u201a\u3001\uff64", ","),
    ("\u3002\uff61", "."),
    ("\u02d0\u02f8\u2982\ua789\ufe13", ":"),
    ("\u204f\ufe14", ";"),
    ("\u01c3\ufe15", "!"),
    ("\ufe16", "?"),
    ("\u0347\ua78a", "="),
    ("\u02d6", "+"),
    ("\u0332\u2017", "_"),
    # Asterisk ornaments and operators.
    (
        "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733"
        "\u273a\u273b\u273c\u273d\u2743\u2749\u274a\u274b\u29c6",
        "*",
    ),
    # Bracket ornaments; the braces become extension characters (two septets each).
    ("\u2768\u276a\u27ee\u2985", "("),
    ("\u2769\u276b\u27ef\u2986", ")"),
    ("\u2774", "{"),
    ("\u2775", "}"),
    ("\u2039", "<"),
    ("\u203a", ">"),
    # Vertical lines, slashes, tildes and circumflexes, including combining overlays.
    ("\u20d2\u20d3\u2223\u239c\u239f\u23b8\u23b9\u23d0", "|"),
    ("\u00f7\u0337\u0338\u2044\u2215\u29f8", "/"),
    ("\u20e5\u29f5\u29f9", "\\"),
    ("\u02dc\u02f7\u0303\u0330\u0334\u223c", "~"),
    ("\u02c6\u0302\u1dcd", "^"),
    # Characters that stand for several.
    ("\u2026", "..."),
    ("\u203c", "!!"),
    ("\u00bc", "1/4"),
    ("\u00bd", "1/2"),
    ("\u00be", "3/4"),
)

_SMALL_CAPITALS = {
    "\u1d00": "A", "\u0299": "B", "\u1d04": "C", "\u1d05": "D", "\u1d07": "E",
    "\ua730": "F", "\u0262": "G", "\u029c": "H", "\u026a": "I", "\u1d0a": "J",
    "\u1d0b": "K", "\u029f": "L", "\u1d0d": "M", "\u0274": "N", "\u1d0f": "O",
    "\u1d18": "P", "\u0280": "R", "\ua731": "S", "\u1d1b": "T", "\u1d1c": "U",
    "\u1d20": "V", "\u1d21": "W", "\u028f": "Y", "\u1d22": "Z",
}  # fmt: skip

# Small form variants (U+FE50-FE6B) that the reference replaces. It leaves the small
# colon, em dash and tortoise-shell brackets (FE55, FE58, FE5D, FE5E) alone.
_SMALL_FORMS = {
    "\ufe50": ",", "\ufe51": ",", "\ufe52": ".", "\ufe54": ";", "\ufe56": "?",
    "\ufe57": "!", "\ufe59": "(", "\ufe5a": ")", "\ufe5b": "{", "\ufe5c": "}",
    "\ufe5f": "#", "\ufe60": "&", "\ufe61": "*", "\ufe62": "+", "\ufe63": "-",
    "\ufe64": "<", "\ufe65": ">", "\ufe66": "=", "\ufe68": "\\", "\ufe69": "$",
    "\ufe6a": "%", "\ufe6b": "@",
}  # fmt: skip

# The reference turns most wide and fixed-width spaces into two spaces, not one; we copy
# that so our counts agree with it (spec vector 32: 159 "a" + NBSP is two segments).
_TWO_SPACES = (
    "\u00a0\u2000\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
    "\u0080\u008d\u0090\u009b\u009f"  # C1 controls
)
_ONE_SPACE = "\u2001\u2028\u2029"  # em quad, line separator, paragraph separator
_TAB_SPACES = " " * 7

# Invisible characters that are dropped. ZWJ (U+200D) is not among them: emoji need it.
_REMOVED = (
    "\u200b\u200c\u2060\ufeff"  # zero-width space, ZWNJ, word joiner, BOM
    "\x00\x03\x04\x10\x11\x12\x13\x14\x17\x19"  # C0 controls
)


def _full_width_ascii() -> dict[str, str]:
    """Map full-width ASCII (U+FF01-FF5E) to the character each one widens."""
    # The reference leaves U+FF40-FF5A (the grave accent and the lower-case letters) alone.
    codes = [*range(0xFF01, 0xFF40), *range(0xFF5B, 0xFF5F)]
    return {chr(code): chr(code - 0xFEE0) for code in codes}


def _build_map() -> dict[str, str]:
    table: dict[str, str] = {}
    table.update(_full_width_ascii())
    table.update(_SMALL_FORMS)
    table.update(_SMALL_CAPITALS)
    for chars, replacement in _LOOK_ALIKES:
        table.update(dict.fromkeys(chars, replacement))
    table.update(dict.fromkeys(_TWO_SPACES, "  "))
    table.update(dict.fromkeys(_ONE_SPACE, " "))
    table["\t"] = _TAB_SPACES
    table.update(dict.fromkeys(_REMOVED, ""))
    return table


SMART_MAP: Final[Mapping[str, str]] = MappingProxyType(_build_map())
_TRANSLATION: Final = {ord(char): replacement for char, replacement in SMART_MAP.items()}


def smart_encode(text: str) -> str:
    """Replace each look-alike character in *text* with its GSM stand-in; leave the rest."""
    return text.translate(_TRANSLATION)
