"""Properties of counting, smart encoding and splitting that hold for any text."""

from __future__ import annotations

from itertools import accumulate

from hypothesis import assume, given
from hypothesis import strategies as st

from responder.sms.gsm import GSM_DEFAULT, GSM_EXTENSION, septets
from responder.sms.segments import (
    MULTI_PART_UNITS,
    SINGLE_PART_UNITS,
    SegmentCount,
    count_segments,
    graphemes,
    utf16_units,
)
from responder.sms.smart import SMART_MAP, smart_encode

GSM_CHARS = sorted(set(GSM_DEFAULT) | set(GSM_EXTENSION))
FRAGMENTS = [
    "\r\n", "\u20ac", "]", "{", "\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f1fa\U0001f1e6",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", "e\u0301", "\u0456",
    "\u201c", "\u2019", "\u00a0", "\t", "\u200b", "\u2026", "\uff21", " ", "  ", "\n",
]  # fmt: skip

gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=400)
mixed_text = st.lists(
    st.one_of(
        st.sampled_from(GSM_CHARS),
        st.sampled_from(FRAGMENTS),
        st.sampled_from(sorted(SMART_MAP)),
        st.text(max_size=3),
    ),
    max_size=250,
).map("".join)
any_text = st.one_of(gsm_text, mixed_text, st.text(max_size=300))


def atom_costs(count: SegmentCount) -> list[int]:
    """What each atom of the sent text costs: characters in GSM-7, clusters in UCS-2."""
    if count.encoding == "GSM-7":
        return [septets(char) for char in count.text]
    costs: list[int] = []
    for cluster in graphemes(count.text):
        costs.extend([1, 1] if cluster == "\r\n" else [utf16_units(cluster)])
    return costs


def has_no_oversized_cluster(text: str) -> bool:
    return all(utf16_units(cluster) <= MULTI_PART_UNITS["UCS-2"] for cluster in graphemes(text))


@given(any_text, st.booleans())
def test_parts_add_up_to_the_whole_text(text: str, smart: bool) -> None:
    count = count_segments(text, smart=smart)
    assert sum(count.units_per_part) == sum(atom_costs(count))
    assert count.segments == len(count.units_per_part)


@given(any_text, st.booleans())
def test_parts_fit_and_cut_only_between_atoms(text: str, smart: bool) -> None:
    # Every cut lands where an atom ends, so no escape pair, surrogate pair or cluster is
    # split; and each part is as full as the next atom allows (greedy packing).
    assume(has_no_oversized_cluster(text))
    count = count_segments(text, smart=smart)
    costs = atom_costs(count)
    atom_ends = list(accumulate(costs))
    cuts = list(accumulate(count.units_per_part))[:-1]
    assert set(cuts) <= set(atom_ends)
    if count.segments == 1:
        assert count.units_per_part[0] <= SINGLE_PART_UNITS[count.encoding]
        return
    per_part = MULTI_PART_UNITS[count.encoding]
    assert max(count.units_per_part) <= per_part
    for filled, cut in zip(count.units_per_part, cuts, strict=False):
        next_atom = costs[atom_ends.index(cut) + 1]
        assert filled + next_atom > per_part


@given(gsm_text, st.booleans())
def test_text_of_gsm_characters_is_never_ucs2(text: str, smart: bool) -> None:
    assert count_segments(text, smart=smart).encoding == "GSM-7"


@given(any_text)
def test_smart_encoding_is_idempotent(text: str) -> None:
    once = smart_encode(text)
    assert smart_encode(once) == once


@given(gsm_text)
def test_smart_encoding_leaves_gsm_characters_alone(text: str) -> None:
    assert smart_encode(text) == text
