"""Differential test: our counts against the pinned reference calculator (tests/oracle)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from responder.sms import count_segments

ORACLE_DIR = Path(__file__).resolve().parent / "oracle"
REFERENCE_PACKAGE = ORACLE_DIR / "node_modules" / "sms-segments-calculator"

Request = tuple[str, bool]
Answer = dict[str, Any]
Reference = Callable[[list[Request]], list[Answer]]

GSM_PLAIN = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?:;'\"-()")
GSM_SPECIAL = ["@", "$", "\u00a3", "\u00a5", "\u00e9", "\u00c4", "\u00f1", "\u0394", "\u00a4",
               "_", "\u00df", "\n", "\r\n", "\r", "\u00bf"]  # fmt: skip
EXTENSION = ["[", "]", "{", "}", "~", "^", "\\", "|", "\u20ac", "\x0c"]
# Only sequences whose clusters are the same under Unicode 10 (the reference's
# grapheme-splitter) and today's rules (regex's \X); see the deliberate differences below.
EMOJI = [
    "\U0001f600",  # grinning face
    "\U0001f44d\U0001f3fd",  # thumbs up, medium skin tone
    "\u2764\ufe0f",  # red heart with variation selector
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family, four ZWJ-joined
    "\U0001f469\u200d\U0001f4bb",  # woman technologist
    "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
    "\U0001f1fa\U0001f1e6",  # flag of Ukraine
    "\U0001f1ef\U0001f1f5",  # flag of Japan
    "1\ufe0f\u20e3",  # keycap one
    "\U0001f44b",  # waving hand
]
CYRILLIC = ["\u043f\u0440\u0438\u0432\u0456\u0442", "\u0457", "\u0401", "\u0436"]
LOOK_ALIKES = ["\u201c", "\u201d", "\u2018", "\u2019", "\u2014", "\u2013", "\u2026", "\u00ab",
               "\u00bb", "\u00a0", "\t", "\u200b", "\ufeff", "\u200c", "\u2009", "\u3000",
               "\uff21", "\uff41", "\uff5b", "\u1d00", "\u203c", "\u00bd", "\u00f7", "\u2044",
               "\u2022", "`", "\u2039", "\u203a", "\u2731", "\u0302", "\u2001"]  # fmt: skip
OTHER_NON_GSM = ["\u00e7", "\u0391", "\x1b", "e\u0301", "\u00e1", "\u4e2d", "\u05e9"]

# Each flavour weights the pools differently, so that some texts stay GSM-7 (with or
# without smart encoding) and others tip into UCS-2 by one character or by many.
FLAVOURS: list[list[tuple[list[str], int]]] = [
    [(GSM_PLAIN, 90), (GSM_SPECIAL, 6), (EXTENSION, 4)],
    [(GSM_PLAIN, 60), (EXTENSION, 40)],
    [(GSM_PLAIN, 85), (LOOK_ALIKES, 15)],
    [(GSM_PLAIN, 80), (EMOJI, 20)],
    [(CYRILLIC, 70), (GSM_PLAIN, 25), (EMOJI, 5)],
    [(GSM_PLAIN, 70), (GSM_SPECIAL, 5), (EXTENSION, 5), (EMOJI, 5), (CYRILLIC, 5),
     (LOOK_ALIKES, 5), (OTHER_NON_GSM, 5)],
    [(EMOJI, 100)],
]  # fmt: skip
# Lengths cluster around the part boundaries, where off-by-one mistakes live.
LENGTHS = [*range(60, 75), *range(150, 165), *range(300, 312), 1, 5, 20, 140, 200, 450]


def generate_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [_generate_text(rng) for _ in range(count)]


def _generate_text(rng: random.Random) -> str:
    flavour = rng.choice(FLAVOURS)
    pools = [pool for pool, _ in flavour]
    weights = [weight for _, weight in flavour]
    target = rng.choice(LENGTHS)
    pieces: list[str] = []
    length = 0
    while length < target:
        piece = rng.choice(rng.choices(pools, weights)[0])
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


@pytest.fixture(scope="module")
def reference() -> Reference:
    """Count texts with the pinned reference, all in one node process per call."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed, so the reference calculator cannot run (CI has it)")
    if not REFERENCE_PACKAGE.is_dir():
        _install_oracle()

    def ask(requests: list[Request]) -> list[Answer]:
        lines = "".join(
            json.dumps({"text": text, "smart": smart}) + "\n" for text, smart in requests
        )
        done = subprocess.run(
            [node, "count.js"],
            cwd=ORACLE_DIR,
            input=lines,
            capture_output=True,
            text=True,
            check=True,
        )
        answers = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(answers) == len(requests), done.stderr
        return answers

    return ask


def _install_oracle() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not; run `npm ci` in tests/oracle")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=ORACLE_DIR, capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci in tests/oracle failed:\n{done.stderr}")


def mismatches(requests: list[Request], answers: list[Answer]) -> list[str]:
    found = []
    for (text, smart), expected in zip(requests, answers, strict=True):
        ours = count_segments(text, smart=smart).to_dict()
        if ours != expected:
            found.append(
                f"smart={smart} text={text!r}\n  ours:      {ours}\n  reference: {expected}"
            )
    return found


def test_generated_texts_count_as_the_reference_counts(reference: Reference) -> None:
    texts = generate_texts(400, seed=2338)
    requests = [(text, smart) for text in texts for smart in (False, True)]
    found = mismatches(requests, reference(requests))
    assert not found, f"{len(found)} of {len(requests)} differ:\n" + "\n".join(found[:10])


def test_smart_encoding_agrees_on_every_bmp_character(reference: Reference) -> None:
    # One request per code point shows, through the count, whether both maps replace it and
    # with how many septets. Surrogates are left out; nothing outside the BMP is mapped.
    requests = [(chr(code), True) for code in range(0x10000) if not 0xD800 <= code <= 0xDFFF]
    requests += [(chr(code), True) for code in range(0x1F000, 0x1FB00)]
    found = mismatches(requests, reference(requests))
    assert not found, f"{len(found)} characters differ:\n" + "\n".join(found[:10])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("a" * 60 + EMOJI[3] + "a" * 60, id="family-emoji-moves-whole"),
        pytest.param("]" * 153, id="escapes-never-split"),
        pytest.param("\r\n" * 81, id="crlf-is-two-atoms"),
        pytest.param("\u0456" * 66 + "\U0001f600" * 3, id="surrogate-pair-moves-whole"),
    ],
)
def test_known_edge_cases_count_as_the_reference_counts(reference: Reference, text: str) -> None:
    requests = [(text, False), (text, True)]
    assert not mismatches(requests, reference(requests))


def test_oversized_cluster_is_a_deliberate_difference(reference: Reference) -> None:
    # A cluster longer than a part cannot travel whole. The reference leaves an empty first
    # part and an overfull second one; we cut the cluster into code points instead.
    text = "a" + "\u0301" * 100
    (expected,) = reference([(text, False)])
    assert expected["units_per_part"] == [0, 101]
    assert count_segments(text).units_per_part == (67, 34)


def straddling(sequence: str) -> str:
    """Put *sequence* one unit over the end of the first UCS-2 part, ten units before the end."""
    units = len(sequence.encode("utf-16-le")) // 2
    return "\u0456" * (68 - units) + sequence + "\u0456" * 10


@pytest.mark.parametrize(
    ("text", "ours"),
    [
        pytest.param(straddling("\U0001faf1\U0001f3fb\u200d\U0001faf2\U0001f3ff"), (59, 19),
                     id="handshake-with-skin-tones"),
        pytest.param(straddling("\u2764\ufe0f\u200d\U0001f525"), (63, 15), id="heart-on-fire"),
        pytest.param(straddling("\U0001f469\u200d\U0001f9b0"), (63, 15), id="woman-red-hair"),
        pytest.param(straddling("\U0001f43b\u200d\u2744\ufe0f"), (63, 15), id="polar-bear"),
        pytest.param(straddling("\U0001f600\u200d\U0001f600"), (63, 15), id="emoji-zwj-emoji"),
        pytest.param(straddling("\u0915\u094d\u0937"), (65, 13), id="devanagari-conjunct"),
        pytest.param("\u0456" * 65 + "\u0456\u200d\u2764" + "\u0456" * 10, (67, 11),
                     id="letter-zwj-heart"),
    ],
)  # fmt: skip
def test_newer_unicode_clusters_are_a_deliberate_difference(
    reference: Reference, text: str, ours: tuple[int, ...]
) -> None:
    # We cut text into clusters by today's Unicode rules (regex's \X), as phones draw it.
    # The reference's grapheme-splitter knows Unicode 10 only: it cuts newer emoji ZWJ
    # sequences and Indic conjuncts apart, and joins a ZWJ to a few emoji after any letter.
    (expected,) = reference([(text, False)])
    assert count_segments(text).units_per_part == ours
    assert tuple(expected["units_per_part"]) != ours
