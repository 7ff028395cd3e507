"""Quiet hours: is it night where the recipient is, and when does their morning come (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_zones

from responder.compliance.settings import QuietHours

# Messages that leave whatever the hour: compliance answers, and forwards to our own staff.
EXEMPT_KINDS = frozenset({"compliance", "forward"})
FALLBACK_ZONE = "UTC"


@lru_cache(maxsize=4096)
def _zones_from_number(number: str) -> tuple[str, ...]:
    try:
        parsed = phonenumbers.parse("+" + number.lstrip("+"), None)
    except phonenumbers.NumberParseException:
        return ()
    zones = number_zones.time_zones_for_number(parsed)
    return tuple(z for z in zones if z != number_zones.UNKNOWN_TIMEZONE)


def zones_for(number: str, quiet: QuietHours) -> tuple[str, ...]:
    """The recipient's possible time zones: the deployment's override, else the number's own."""
    override = quiet.zone_override(number)
    if override is not None:
        return (override,)
    return _zones_from_number(number) or (FALLBACK_ZONE,)


def _is_quiet(at: datetime, zone: ZoneInfo, quiet: QuietHours) -> bool:
    local = at.astimezone(zone).time().replace(tzinfo=None)
    if quiet.start > quiet.end:  # overnight, e.g. 21:00-08:00
        return local >= quiet.start or local < quiet.end
    return quiet.start <= local < quiet.end


def _window_end(at: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    local = at.astimezone(zone)
    end = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=zone)
    return end.astimezone(UTC)


def quiet_until(number: str, now: datetime, quiet: QuietHours) -> datetime | None:
    """When the quiet window ends for *number* if it is quiet there now, else None.

    A number that may be in several zones is quiet while it is quiet in any of them, so a
    message waits until it is daytime in all of them.
    """
    if not quiet.enabled:
        return None
    zones = [ZoneInfo(z) for z in zones_for(number, quiet)]
    at = now
    for _ in range(len(zones) * 2 + 2):
        quiet_zones = [z for z in zones if _is_quiet(at, z, quiet)]
        if not quiet_zones:
            return None if at == now else at
        at = max(_window_end(at, z, quiet) for z in quiet_zones)
    # The zones never share a daytime: go by the first (the deployment can override it).
    return _window_end(now, zones[0], quiet) if _is_quiet(now, zones[0], quiet) else None


def hold_until(
    number: str,
    kind: str,
    now: datetime,
    quiet: QuietHours,
    *,
    answers_at: datetime | None = None,
) -> datetime | None:
    """Until when a message of *kind* to *number* must wait; None when it may go now.

    An immediate answer (to a message that arrived within the grace time) is never held.
    """
    if kind in EXEMPT_KINDS:
        return None
    if answers_at is not None and (now - answers_at).total_seconds() <= quiet.grace_s:
        return None
    return quiet_until(number, now, quiet)


def describe_hold(number: str, until: datetime, quiet: QuietHours) -> str:
    """Why and until when a message waits, in the recipient's time and in UTC."""
    # The zone whose morning it waits for; of several alike (Europe/Guernsey, Europe/London),
    # the last in name order is usually the best known.
    ending = [
        z for z in zones_for(number, quiet) if until.astimezone(ZoneInfo(z)).time() == quiet.end
    ]
    zone = max(ending) if ending else None
    utc = f"{until.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    where = f"{until.astimezone(ZoneInfo(zone)):%H:%M} {zone}, {utc}" if zone else utc
    return f"held until {where} (quiet hours {quiet.describe()} at the recipient)"
