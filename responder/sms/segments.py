"""Count the SMS segments a text costs: choose the encoding, then pack whole atoms into parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import regex

from responder.sms.gsm import GSM_SEPTETS, is_gsm_char
from responder.sms.smart import smart_encode

Encoding = Literal["GSM-7", "UCS-2"]
GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

# Units in a lone message, and in each part of a concatenated one: a 6-octet header leaves
# 153 septets (after one fill bit) or 67 UTF-16 units of the 140-octet payload.
SINGLE_PART_UNITS: Final[dict[Encoding, int]] = {GSM7: 160, UCS2: 70}
MULTI_PART_UNITS: Final[dict[Encoding, int]] = {GSM7: 153, UCS2: 67}

_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class SegmentCount:
    """How a text goes out: its encoding, how many parts, and the payload units in each part."""

    encoding: Encoding
    segments: int
    units_per_part: tuple[int, ...]
    text: str

    def to_dict(self) -> dict[str, object]:
        """Return the count as JSON-ready data (the text itself left out)."""
        return {
            "encoding": self.encoding,
            "segments": self.segments,
            "units_per_part": list(self.units_per_part),
        }


def utf16_units(text: str) -> int:
    """Return the length of *text* in UTF-16 code units (a lone surrogate counts as one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def graphemes(text: str) -> list[str]:
    """Split *text* into extended grapheme clusters."""
    clusters: list[str] = _GRAPHEME.findall(text)
    return clusters


def first_non_gsm(text: str) -> tuple[int, str] | None:
    """Find the first code point that forces UCS-2, as (index, char); None if all is GSM-7."""
    for index, char in enumerate(text):
        if not is_gsm_char(char):
            return index, char
    return None


def choose_encoding(text: str) -> Encoding:
    """Return GSM-7 when every character is in the GSM alphabet, otherwise UCS-2."""
    return GSM7 if set(text) <= GSM_SEPTETS.keys() else UCS2


def count_segments(text: str, *, smart: bool = False) -> SegmentCount:
    """Count the parts *text* is sent in, after smart encoding when *smart* is set."""
    if smart:
        text = smart_encode(text)
    encoding = choose_encoding(text)
    if encoding == GSM7:
        # No character of the GSM alphabet joins another in a grapheme cluster (CR LF is split
        # anyway), so each character is an atom.
        costs = [GSM_SEPTETS[char] for char in text]
    else:
        costs = [utf16_units(atom) for atom in _ucs2_atoms(text)]
    parts = _pack(costs, SINGLE_PART_UNITS[encoding], MULTI_PART_UNITS[encoding])
    return SegmentCount(encoding=encoding, segments=len(parts), units_per_part=parts, text=text)


def _ucs2_atoms(text: str) -> list[str]:
    """Split *text* into the pieces that never straddle two parts: grapheme clusters, mostly."""
    atoms: list[str] = []
    for cluster in graphemes(text):
        if cluster == "\r\n" or utf16_units(cluster) > MULTI_PART_UNITS[UCS2]:
            # CR and LF are separate characters, and the reference splits the pair.
            # A cluster longer than a whole part (a letter under dozens of combining marks)
            # cannot travel whole, so it is cut into code points; the reference would
            # leave an empty first part and an overfull one instead.
            atoms.extend(cluster)
        else:
            atoms.append(cluster)
    return atoms


def _pack(costs: list[int], single: int, per_part: int) -> tuple[int, ...]:
    """Fill parts greedily; an atom that does not fit in what is left starts the next part."""
    total = sum(costs)
    if total <= single:
        return (total,)
    parts: list[int] = []
    filled = 0
    for cost in costs:
        if cost > per_part - filled:
            parts.append(filled)
            filled = 0
        filled += cost
    parts.append(filled)
    return tuple(parts)
