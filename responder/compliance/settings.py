"""Compliance settings: opt-out words and replies, loop breaker, quiet hours; read from the env."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from responder.compliance.words import (
    DEFAULT_OPT_OUT_PHRASES,
    HELP_WORDS,
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    normalise_words,
)

SCOPES = ("number", "account")

DEFAULT_OPT_OUT_REPLY = (
    "You are unsubscribed and will get no more messages from this number. Reply START to "
    "subscribe again."
)
DEFAULT_OPT_IN_REPLY = "You are subscribed again. Reply HELP for help, STOP to unsubscribe."
DEFAULT_HELP_REPLY = (
    "This number sends automatic replies. Reply STOP to unsubscribe, START to subscribe again."
)


@dataclass(frozen=True)
class BreakerSettings:
    """When a thread's automatic replies stop because it looks like a loop, and for how long."""

    enabled: bool = True
    max_replies: int = 5  # more automatic replies than this within window_s opens the breaker
    window_s: float = 600.0
    pingpong_s: float = 5.0  # their message arriving this soon after our reply is a ping-pong
    pingpong_count: int = 3  # ... this many times in a row
    repeats: int = 3  # the same inbound text this many times in a row within window_s
    cooldown_s: float = 1800.0


@dataclass(frozen=True)
class QuietHours:
    """The window, in the recipient's local time, when nothing but immediate answers is sent."""

    start: time = time(21, 0)
    end: time = time(8, 0)
    enabled: bool = True
    # Number prefix (digits) -> zone, longest prefix first; "" is the default for every number.
    zones: tuple[tuple[str, str], ...] = ()
    # An answer counts as immediate when the message it answers arrived this recently.
    grace_s: float = 300.0

    def zone_override(self, number: str) -> str | None:
        for prefix, zone in self.zones:
            if number.startswith(prefix):
                return zone
        return None

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class ComplianceSettings:
    """Everything the compliance layer can be told by a deployment."""

    opt_out_extra: tuple[str, ...] = DEFAULT_OPT_OUT_PHRASES
    opt_in_extra: tuple[str, ...] = ()
    help_extra: tuple[str, ...] = ()
    scope: str = "number"  # number | account
    opt_out_reply: str = DEFAULT_OPT_OUT_REPLY
    opt_in_reply: str = DEFAULT_OPT_IN_REPLY
    help_reply: str = DEFAULT_HELP_REPLY
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    quiet: QuietHours = field(default_factory=QuietHours)

    # Cached: the gate looks at these for every inbound message, and the settings never change.
    @cached_property
    def opt_out_texts(self) -> frozenset[str]:
        """Every normalised whole-message text that opts out."""
        return frozenset(normalise_words(w) for w in OPT_OUT_WORDS + self.opt_out_extra) - {""}

    @cached_property
    def opt_in_texts(self) -> frozenset[str]:
        return frozenset(normalise_words(w) for w in OPT_IN_WORDS + self.opt_in_extra) - {""}

    @cached_property
    def help_texts(self) -> frozenset[str]:
        return frozenset(normalise_words(w) for w in HELP_WORDS + self.help_extra) - {""}


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _words(raw: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in raw.split(",") if w.strip())


def read_compliance(
    get: Callable[[str], str | None],
    number: Callable[[str, float], float],
    problems: list[str],
) -> ComplianceSettings:
    """Read the RESPONDER_OPT_*, RESPONDER_HELP_*, RESPONDER_BREAKER* and RESPONDER_QUIET_* vars."""
    base = ComplianceSettings()
    env: dict[str, str | None] = {
        name: get(name)
        for name in (
            "RESPONDER_OPT_OUT_WORDS",
            "RESPONDER_OPT_IN_WORDS",
            "RESPONDER_HELP_WORDS",
            "RESPONDER_OPT_OUT_SCOPE",
            "RESPONDER_OPT_OUT_REPLY",
            "RESPONDER_OPT_IN_REPLY",
            "RESPONDER_HELP_REPLY",
            "RESPONDER_BREAKER",
            "RESPONDER_QUIET_HOURS",
            "RESPONDER_QUIET_TIMEZONES",
        )
    }
    opt_out_extra = base.opt_out_extra
    if env["RESPONDER_OPT_OUT_WORDS"] is not None:
        opt_out_extra = _checked_words("RESPONDER_OPT_OUT_WORDS", env, problems)
    opt_in_extra = base.opt_in_extra
    if env["RESPONDER_OPT_IN_WORDS"] is not None:
        opt_in_extra = _checked_words("RESPONDER_OPT_IN_WORDS", env, problems)
    help_extra = base.help_extra
    if env["RESPONDER_HELP_WORDS"] is not None:
        help_extra = _checked_words("RESPONDER_HELP_WORDS", env, problems)
    opting_out = {normalise_words(w) for w in OPT_OUT_WORDS + opt_out_extra}
    opting_in = {normalise_words(w) for w in OPT_IN_WORDS + opt_in_extra}
    for name, words, taken in (
        ("RESPONDER_OPT_IN_WORDS", opt_in_extra, opting_out),
        ("RESPONDER_HELP_WORDS", help_extra, opting_out | opting_in),
    ):
        clash = {normalise_words(w) for w in words} & taken
        if clash:
            problems.append(
                f"{name}: {', '.join(sorted(clash))} already opts out or in; a word does one job"
            )
    scope = (env["RESPONDER_OPT_OUT_SCOPE"] or "number").strip().lower()
    if scope not in SCOPES:
        problems.append(f"RESPONDER_OPT_OUT_SCOPE: must be one of number, account (got {scope!r})")
        scope = "number"
    replies = {
        name: (env[name] or default).strip()
        for name, default in (
            ("RESPONDER_OPT_OUT_REPLY", base.opt_out_reply),
            ("RESPONDER_OPT_IN_REPLY", base.opt_in_reply),
            ("RESPONDER_HELP_REPLY", base.help_reply),
        )
    }
    for name, text in replies.items():
        if len(text) > 765:
            problems.append(f"{name}: must be at most 765 characters (got {len(text)})")
    return ComplianceSettings(
        opt_out_extra=opt_out_extra,
        opt_in_extra=opt_in_extra,
        help_extra=help_extra,
        scope=scope,
        opt_out_reply=replies["RESPONDER_OPT_OUT_REPLY"],
        opt_in_reply=replies["RESPONDER_OPT_IN_REPLY"],
        help_reply=replies["RESPONDER_HELP_REPLY"],
        breaker=_read_breaker(env["RESPONDER_BREAKER"], number, problems),
        quiet=_read_quiet(env, number, problems),
    )


def _checked_words(
    name: str, env: Mapping[str, str | None], problems: list[str]
) -> tuple[str, ...]:
    words = _words(env[name] or "")
    for word in words:
        if not normalise_words(word):
            problems.append(f"{name}: {word!r} has no letters or digits to match")
    if not words:
        problems.append(f"{name}: give words separated by commas")
    return words


def _read_breaker(
    switch: str | None, number: Callable[[str, float], float], problems: list[str]
) -> BreakerSettings:
    base = BreakerSettings()
    enabled = True
    if switch is not None:
        value = switch.strip().lower()
        if value not in ("on", "off"):
            problems.append(f"RESPONDER_BREAKER: must be on or off (got {switch!r})")
        enabled = value != "off"
    counts = {
        "max_replies": ("RESPONDER_BREAKER_MAX_REPLIES", base.max_replies),
        "pingpong_count": ("RESPONDER_BREAKER_PINGPONG_COUNT", base.pingpong_count),
        "repeats": ("RESPONDER_BREAKER_REPEATS", base.repeats),
    }
    seconds = {
        "window_s": ("RESPONDER_BREAKER_WINDOW", base.window_s),
        "pingpong_s": ("RESPONDER_BREAKER_PINGPONG", base.pingpong_s),
        "cooldown_s": ("RESPONDER_BREAKER_COOLDOWN", base.cooldown_s),
    }
    values: dict[str, float] = {}
    for key, (name, default) in {**counts, **seconds}.items():
        values[key] = number(name, default)
    for key, (name, _default) in counts.items():
        if values[key] < 1 or values[key] != int(values[key]):
            problems.append(f"{name}: must be a whole number of at least 1 (got {values[key]:g})")
    return BreakerSettings(
        enabled=enabled,
        max_replies=int(values["max_replies"]),
        window_s=values["window_s"],
        pingpong_s=values["pingpong_s"],
        pingpong_count=int(values["pingpong_count"]),
        repeats=int(values["repeats"]),
        cooldown_s=values["cooldown_s"],
    )


def _read_quiet(
    env: Mapping[str, str | None], number: Callable[[str, float], float], problems: list[str]
) -> QuietHours:
    base = QuietHours()
    start, end, enabled = base.start, base.end, True
    raw = env["RESPONDER_QUIET_HOURS"]
    if raw is not None and raw.strip().lower() == "off":
        enabled = False
    elif raw is not None:
        parts = [p.strip() for p in raw.split("-")]
        parsed = [_clock(p) for p in parts] if len(parts) == 2 else []
        if len(parsed) != 2 or None in parsed or parsed[0] == parsed[1]:
            problems.append(
                "RESPONDER_QUIET_HOURS: expected HH:MM-HH:MM, e.g. 21:00-08:00, or off "
                f"(got {raw!r})"
            )
        else:
            start, end = parsed[0], parsed[1]  # type: ignore[assignment]
    zones: list[tuple[str, str]] = []
    for entry in _words(env["RESPONDER_QUIET_TIMEZONES"] or ""):
        prefix, sep, zone = entry.partition("=")
        prefix, zone = prefix.strip().lstrip("+"), zone.strip()
        if prefix == "*":
            prefix = ""
        if not sep or not (prefix == "" or prefix.isdigit()):
            problems.append(
                "RESPONDER_QUIET_TIMEZONES: expected PREFIX=Zone/Name entries such as "
                f"1=America/New_York or *=Europe/London (got {entry!r})"
            )
            continue
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"RESPONDER_QUIET_TIMEZONES: unknown time zone {zone!r}")
            continue
        zones.append((prefix, zone))
    zones.sort(key=lambda z: -len(z[0]))
    grace = number("RESPONDER_QUIET_GRACE", base.grace_s)
    return QuietHours(start=start, end=end, enabled=enabled, zones=tuple(zones), grace_s=grace)


def _clock(text: str) -> time | None:
    found = _CLOCK.match(text)
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
