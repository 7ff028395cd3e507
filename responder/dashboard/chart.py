"""Bar charts drawn on the server: counts per day become SVG rectangles, no script needed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    count: int


@dataclass(frozen=True)
class Chart:
    """One series of daily counts laid out in a width x height box (y grows downwards)."""

    width: int
    height: int
    bars: list[Bar]
    peak: int
    total: int
    first_day: date
    last_day: date


def last_days(today: date, count: int) -> list[date]:
    """The *count* days ending with *today*, oldest first."""
    return [today - timedelta(days=count - 1 - i) for i in range(count)]


def daily_chart(
    counts: Mapping[date, int], days: list[date], *, width: int = 320, height: int = 48
) -> Chart:
    """Bars for *days* (oldest first), scaled so the busiest day fills the height."""
    peak = max((counts.get(day, 0) for day in days), default=0)
    slot = width / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        count = counts.get(day, 0)
        # A day with hits is never drawn thinner than a pixel, so a lone hit stays visible.
        tall = 0.0 if not count else max(1.0, height * count / peak)
        bars.append(Bar(index * slot + 0.5, height - tall, max(slot - 1.0, 1.0), tall, day, count))
    return Chart(width, height, bars, peak, sum(b.count for b in bars), days[0], days[-1])
