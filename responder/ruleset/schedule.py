"""`when:` schedules: days, time ranges, dates and holidays, read in the rule file's time zone."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from responder.ruleset.keys import check_keys
from responder.ruleset.yamlsource import FieldError, LocDict, LocList, loc_of

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_KEYS = ("days", "time", "dates", "not_dates", "on_holidays")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DATE = re.compile(r"^(\d{4}-)?\d{2}-\d{2}$")


@dataclass(frozen=True)
class DateSpec:
    """A date (2025-12-25), a yearly date (12-25) or a range (2025-12-24..2025-12-31)."""

    start: str
    end: str

    def contains(self, day: date) -> bool:
        key = day.isoformat() if len(self.start) == 10 else day.isoformat()[5:]
        return self.start <= key <= self.end

    def __str__(self) -> str:
        return self.start if self.start == self.end else f"{self.start}..{self.end}"


@dataclass(frozen=True)
class TimeRange:
    """Minutes since midnight; end <= start means the range wraps past midnight."""

    start: int
    end: int

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )


@dataclass(frozen=True)
class Window:
    """One `when:` entry; every field it sets must hold."""

    days: frozenset[int] | None = None
    times: tuple[TimeRange, ...] = ()
    dates: tuple[DateSpec, ...] = ()
    not_dates: tuple[DateSpec, ...] = ()
    on_holidays: bool = False

    def day_ok(self, day: date, holidays: Iterable[DateSpec]) -> bool:
        if self.days is not None and day.weekday() not in self.days:
            return False
        if self.dates and not any(d.contains(day) for d in self.dates):
            return False
        if any(d.contains(day) for d in self.not_dates):
            return False
        closes_on_holidays = not self.on_holidays and (self.days is not None or bool(self.times))
        return not (closes_on_holidays and any(h.contains(day) for h in holidays))

    def contains(self, local: datetime, holidays: tuple[DateSpec, ...]) -> bool:
        today = local.date()
        if not self.times:
            return self.day_ok(today, holidays)
        minute = local.hour * 60 + local.minute
        for span in self.times:
            if span.start < span.end:
                if span.start <= minute < span.end and self.day_ok(today, holidays):
                    return True
            # The early-morning part of a range that wraps belongs to the day the range began.
            elif (minute >= span.start and self.day_ok(today, holidays)) or (
                minute < span.end and self.day_ok(today - timedelta(days=1), holidays)
            ):
                return True
        return False

    def __str__(self) -> str:
        parts = []
        if self.days is not None:
            parts.append(",".join(DAYS[d] for d in sorted(self.days)))
        parts.extend(str(t) for t in self.times)
        if self.dates:
            parts.append("on " + ",".join(str(d) for d in self.dates))
        if self.not_dates:
            parts.append("not on " + ",".join(str(d) for d in self.not_dates))
        if self.on_holidays:
            parts.append("holidays too")
        return " ".join(parts) or "always"


@dataclass(frozen=True)
class Schedule:
    """Any of *windows* (or, with *outside*, none of them)."""

    windows: tuple[Window, ...]
    outside: bool = False

    def is_active(self, now: datetime, tz: ZoneInfo, holidays: tuple[DateSpec, ...]) -> bool:
        local = now.astimezone(tz)
        inside = any(w.contains(local, holidays) for w in self.windows)
        return inside != self.outside

    def __str__(self) -> str:
        text = " or ".join(str(w) for w in self.windows)
        return f"outside ({text})" if self.outside else text


def parse_schedule(value: Any, loc: tuple[int, int]) -> Schedule:
    """Read a `when:` value: a window, a list of windows, or {outside: window(s)}."""
    if isinstance(value, dict) and "outside" in value:
        extra = [k for k in value if k != "outside"]
        if extra:
            raise FieldError(
                value.key_loc(extra[0]) if isinstance(value, LocDict) else loc,
                f"'outside' cannot be combined with {extra[0]!r}; put it inside",
            )
        inner = parse_schedule(value["outside"], loc_of(value, "outside"))
        if inner.outside:
            raise FieldError(loc, "'outside' cannot be nested")
        return Schedule(inner.windows, outside=True)
    items = value if isinstance(value, list) else [value]
    if not items:
        raise FieldError(loc, "'when' needs at least one window")
    return Schedule(
        tuple(
            _parse_window(item, loc_of(items, i) if isinstance(items, LocList) else loc)
            for i, item in enumerate(items)
        )
    )


def _parse_window(value: Any, loc: tuple[int, int]) -> Window:
    if not isinstance(value, dict):
        raise FieldError(loc, f"a 'when' window must be a mapping of {', '.join(WINDOW_KEYS)}")
    check_keys(value, (*WINDOW_KEYS, "outside"), "'when'")
    days = _parse_days(value["days"], loc_of(value, "days")) if "days" in value else None
    times = tuple(_parse_time(t, at) for t, at in _items(value.get("time"), loc_of(value, "time")))
    on_holidays = value.get("on_holidays", False)
    if not isinstance(on_holidays, bool):
        raise FieldError(loc_of(value, "on_holidays"), "'on_holidays' must be true or false")
    return Window(
        days=days,
        times=times,
        dates=parse_dates(value.get("dates"), loc_of(value, "dates")),
        not_dates=parse_dates(value.get("not_dates"), loc_of(value, "not_dates")),
        on_holidays=on_holidays,
    )


def _items(value: Any, loc: tuple[int, int]) -> list[tuple[Any, tuple[int, int]]]:
    """Each item of a list (or the one value) with where it is written."""
    if isinstance(value, LocList):
        return [(item, value.item_loc(i)) for i, item in enumerate(value)]
    return [(item, loc) for item in _as_list(value)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _parse_days(value: Any, loc: tuple[int, int]) -> frozenset[int]:
    days: set[int] = set()
    for item, at in _items(value, loc):
        for part in str(item).lower().replace(" ", "").split(","):
            first, _, last = part.partition("-")
            if first not in DAYS or (last and last not in DAYS):
                raise FieldError(at, f"unknown day {part!r}; use mon..sun, e.g. mon-fri")
            a, b = DAYS.index(first), DAYS.index(last or first)
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    if not days:
        raise FieldError(loc, "'days' is empty")
    return frozenset(days)


def _parse_time(value: Any, loc: tuple[int, int]) -> TimeRange:
    found = _TIME.match(str(value))
    if not found:
        raise FieldError(loc, f'expected a time range like "09:00-17:00" (got {value!r})')
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise FieldError(loc, f"{value!r} is not a valid time range")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise FieldError(loc, f"{value!r} is empty; use 00:00-24:00 for the whole day")
    return TimeRange(start, end)


def parse_dates(value: Any, where: tuple[int, int]) -> tuple[DateSpec, ...]:
    """Read a list of dates: 2025-12-25, 12-25 (every year), 2025-12-24..2025-12-31."""
    specs = []
    for item, loc in _items(value, where):
        text = item.isoformat() if isinstance(item, date) else str(item).strip()
        first, _, last = text.partition("..")
        last = last or first
        if not (_DATE.match(first) and _DATE.match(last)) or len(first) != len(last):
            raise FieldError(
                loc, f"expected a date like 2025-12-25, 12-25 or a range a..b (got {text!r})"
            )
        for part in (first, last):
            try:
                date.fromisoformat(part if len(part) == 10 else f"2000-{part}")
            except ValueError:
                raise FieldError(loc, f"{part!r} is not a real date") from None
        if last < first:
            raise FieldError(loc, f"date range {text!r} ends before it starts")
        specs.append(DateSpec(first, last))
    return tuple(specs)
