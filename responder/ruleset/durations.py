"""Durations as rule files write them: 90s, 30m, 1h, 2d, 1h30m."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: object) -> timedelta:
    """Return *value* ("30m", "1h30m", "2d") as a timedelta; raise ValueError when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected a duration such as 30m, 1h or 2d (got {value!r})")
    if isinstance(value, int):
        raise ValueError(f"a duration needs a unit: {value}s, {value}m, {value}h or {value}d")
    text = value.strip().lower()
    if not _WHOLE.match(text):
        raise ValueError(f"expected a duration such as 30m, 1h or 2d (got {value!r})")
    seconds = sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero (got {value!r})")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest rule-file spelling of *delta*, e.g. 1h30m."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
