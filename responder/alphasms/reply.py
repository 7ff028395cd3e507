"""Parse AlphaSMS http.php reply bodies (key:value pairs, one per line or several per line)."""

from __future__ import annotations

import itertools
import re

# Keys the gateway is known to send; on a line with several pairs we split only where one of
# these begins, because values such as "status:Out of touch" contain spaces.
KNOWN_KEYS = (
    "id",
    "sms_count",
    "status",
    "code",
    "status_time",
    "balance",
    "price",
    "currency",
    "errors",
)

_ALTERNATIVES = "|".join(sorted(KNOWN_KEYS, key=len, reverse=True))
_KEY_START = re.compile(rf"(?:^|(?<=\s))({_ALTERNATIVES})[ \t]*:", re.IGNORECASE)


def parse_pairs(body: str) -> list[tuple[str, str]]:
    """Every key:value pair of *body* in order; keys lower-cased, values stripped."""
    pairs: list[tuple[str, str]] = []
    for line in body.lstrip("\ufeff").splitlines():
        pairs.extend(_parse_line(line.strip()))
    return pairs


def _parse_line(line: str) -> list[tuple[str, str]]:
    if not line:
        return []
    starts = _key_starts(line)
    if not starts or starts[0] > 0:
        # A key we do not know opens the line: it runs up to the first known key.
        starts.insert(0, 0)
    bounds = [*starts, len(line)]
    segments = [line[begin:end] for begin, end in itertools.pairwise(bounds)]
    return [_split_pair(segment) for segment in segments if ":" in segment]


def _key_starts(line: str) -> list[int]:
    """Where known keys begin; inside an error text only another "errors" key starts a pair."""
    starts: list[int] = []
    in_error = False
    for match in _KEY_START.finditer(line):
        key = match.group(1).lower()
        if in_error and key != "errors":
            continue
        starts.append(match.start())
        in_error = key == "errors"
    return starts


def _split_pair(segment: str) -> tuple[str, str]:
    key, _, value = segment.partition(":")
    return key.strip().lower(), value.strip()
