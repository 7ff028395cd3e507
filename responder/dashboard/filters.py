"""Template filters for the dashboard: times, numbers and durations as people read them."""

from __future__ import annotations

from datetime import datetime

from responder.dashboard.blueprint import bp


@bp.app_template_filter("when")
def format_time(value: datetime | None) -> str:
    """A UTC time to the second, or a dash."""
    if value is None:
        return "–"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("number")
def format_number(value: str | None) -> str:
    """Stored numbers are digits only; people read them with a plus ('*' means every number)."""
    if not value:
        return "–"
    if not value.isdigit():
        return value
    return f"+{value}"


@bp.app_template_filter("duration")
def format_duration(seconds: float) -> str:
    """A duration in the largest whole unit that fits: 90 s, 15 min, 4 h, 2 d."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size} {unit}"
    return f"{whole} s"
