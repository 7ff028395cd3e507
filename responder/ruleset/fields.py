"""Readers for the value of each rule key: check it, convert it, or raise FieldError where it is."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from responder.errors import InvalidNumberError
from responder.numbers import normalise_number
from responder.ruleset.durations import parse_duration
from responder.ruleset.keys import BUDGET_KEYS, FORWARD_KEYS, THEN_KEYS, check_keys
from responder.ruleset.model import Budget, ForwardSpec, Keyword, Rule, StateRequest
from responder.ruleset.normalise import normalise_keyword
from responder.ruleset.schedule import parse_schedule
from responder.ruleset.templates import Template, TemplateCompiler, TemplateSyntaxProblem
from responder.ruleset.yamlsource import FieldError, LocDict, LocList, loc_of

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_STATE_LIFETIME = parse_duration("1h")
DEFAULT_FORWARD_TEXT = "From +{{ their_number }}: {{ text }}"
DEFAULT_URL_TIMEOUT_S = 10.0
MAX_URL_TIMEOUT_S = 60.0


def read_timezone(name: Any) -> ZoneInfo:
    """An IANA time zone; ValueError with a suggestion when the name is unknown."""
    try:
        if not isinstance(name, str) or not name:
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(str(name), sorted(available_timezones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ", e.g. Europe/London"
        raise ValueError(
            f"'timezone' must be an IANA time zone name (got {name!r}){hint}"
        ) from None


def read_bool(item: LocDict, key: str) -> bool:
    value = item[key]
    if not isinstance(value, bool):
        raise FieldError(loc_of(item, key), f"{key!r} must be true or false (got {value!r})")
    return value


def read_budget(data: LocDict) -> Budget:
    """A file's `budget: {replies: N, per: DURATION}`."""
    value = data["budget"]
    if not isinstance(value, LocDict) or "replies" not in value or "per" not in value:
        raise FieldError(
            loc_of(data, "budget"), "'budget' must be a mapping like {replies: 5, per: 1h}"
        )
    check_keys(value, BUDGET_KEYS, "'budget'")
    replies = value["replies"]
    if isinstance(replies, bool) or not isinstance(replies, int) or replies < 1:
        raise FieldError(
            loc_of(value, "replies"), f"'replies' must be a whole number from 1 (got {replies!r})"
        )
    try:
        per = parse_duration(value["per"])
    except ValueError as exc:
        raise FieldError(loc_of(value, "per"), f"'per': {exc}") from None
    line, column = loc_of(data, "budget")
    return Budget(replies, per, line, column)


def _strings(item: LocDict, key: str, what: str) -> list[tuple[str, tuple[int, int]]]:
    value = item[key]
    values = value if isinstance(value, list) else [value]
    out = []
    for i, raw in enumerate(values):
        loc = loc_of(value, i) if isinstance(value, LocList) else loc_of(item, key)
        if isinstance(raw, bool) or raw is None or isinstance(raw, dict | list):
            raise FieldError(loc, f"{key!r} must be {what} (got {raw!r})")
        out.append((str(raw), loc))
    if not out:
        raise FieldError(loc_of(item, key), f"{key!r} is empty")
    return out


def read_keywords(item: LocDict, key: str, kind: str) -> tuple[Keyword, ...]:
    keywords = []
    for text, loc in _strings(item, key, "a word or a list of words"):
        words = normalise_keyword(text)
        if not words:
            raise FieldError(loc, f"keyword {text!r} has no letters, digits or emoji")
        if kind == "word" and len(words) > 1:
            raise FieldError(loc, f"keyword {text!r} is several words; use match: phrase")
        keywords.append(Keyword(text, words, alias=key == "aliases"))
    return tuple(keywords)


def read_pattern(item: LocDict) -> re.Pattern[str]:
    pattern = item["pattern"]
    if not isinstance(pattern, str) or not pattern:
        raise FieldError(loc_of(item, "pattern"), "'pattern' must be a regular expression string")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise FieldError(loc_of(item, "pattern"), f"invalid regex {pattern!r}: {exc}") from None


def compile_template(item: Any, key: str, compiler: TemplateCompiler) -> Template:
    value = item[key]
    loc = loc_of(item, key)
    if not isinstance(value, str):
        raise FieldError(loc, f"{key!r} must be text (got {value!r})")
    try:
        return compiler.compile(value)
    except TemplateSyntaxProblem as exc:
        inside = f" (line {exc.line} of the template)" if exc.line > 1 else ""
        raise FieldError(loc, f"template error in {key!r}{inside}: {exc.message}") from None


def _reply(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    if item["reply"] is not None:
        rule.reply = compile_template(item, "reply", compiler)


def _priority(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    value = item["priority"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(
            loc_of(item, "priority"), f"'priority' must be a whole number (got {value!r})"
        )
    rule.priority = value


def _in_state(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    names = _strings(item, "in_state", "a state name or a list of them")
    for name, loc in names:
        if not _NAME.match(name):
            raise FieldError(loc, f"state name {name!r} must be letters, digits, '_' or '-'")
    rule.in_state = frozenset(name for name, _ in names)


def _when(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    rule.when = parse_schedule(item["when"], loc_of(item, "when"))


def _then(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    value = item["then"]
    if not isinstance(value, LocDict) or "state" not in value:
        raise FieldError(
            loc_of(item, "then"), "'then' must be a mapping with 'state' (null clears it)"
        )
    check_keys(value, THEN_KEYS, "'then'")
    name = value["state"]
    if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
        raise FieldError(
            loc_of(value, "state"), f"state name {name!r} must be letters, digits, '_' or '-'"
        )
    lifetime = DEFAULT_STATE_LIFETIME
    if "expires_after" in value:
        try:
            lifetime = parse_duration(value["expires_after"])
        except ValueError as exc:
            raise FieldError(loc_of(value, "expires_after"), f"'expires_after': {exc}") from None
    rule.then = StateRequest(name, lifetime if name is not None else None)


def _save_as(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    names = _strings(item, "save_as", "a name or a list of names")
    for name, loc in names:
        if not _VARIABLE.match(name) or name in ("their_number", "our_number", "text", "now"):
            raise FieldError(
                loc, f"'save_as' name {name!r} must be a new variable name (letters, digits, _)"
            )
    rule.save_as = tuple(name for name, _ in names)


def _forward(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    value = item["forward"]
    entries = value if isinstance(value, list) else [value]
    forwards = []
    for i, entry in enumerate(entries):
        loc = loc_of(value, i) if isinstance(value, LocList) else loc_of(item, "forward")
        if not isinstance(entry, LocDict) or ("sms" in entry) == ("url" in entry):
            raise FieldError(loc, "'forward' needs exactly one of sms: NUMBER or url: https://...")
        check_keys(entry, FORWARD_KEYS, "'forward'")
        text = (
            compile_template(entry, "text", compiler)
            if "text" in entry
            else compiler.compile(DEFAULT_FORWARD_TEXT)
        )
        if "timeout" in entry and "url" not in entry:
            raise FieldError(entry.key_loc("timeout"), "'timeout' is for url forwards only")
        if "sms" in entry:
            try:
                forwards.append(ForwardSpec(sms=normalise_number(str(entry["sms"])), text=text))
            except InvalidNumberError as exc:
                raise FieldError(loc_of(entry, "sms"), f"'forward': {exc}") from None
        else:
            url = entry["url"]
            if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
                raise FieldError(
                    loc_of(entry, "url"), f"'forward' url must start with https:// (got {url!r})"
                )
            timeout = _url_timeout(entry) if "timeout" in entry else DEFAULT_URL_TIMEOUT_S
            forwards.append(ForwardSpec(url=url, text=text, timeout_s=timeout))
    rule.forwards = tuple(forwards)


def _url_timeout(entry: LocDict) -> float:
    try:
        seconds = parse_duration(entry["timeout"]).total_seconds()
    except ValueError as exc:
        raise FieldError(loc_of(entry, "timeout"), f"'timeout': {exc}") from None
    if seconds > MAX_URL_TIMEOUT_S:
        raise FieldError(
            loc_of(entry, "timeout"),
            f"'timeout' must be at most {MAX_URL_TIMEOUT_S:.0f}s (got {entry['timeout']!r})",
        )
    return seconds


def _tag(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    rule.tags = tuple(name for name, _ in _strings(item, "tag", "a tag or a list of tags"))


def _handoff(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    rule.handoff = read_bool(item, "handoff")


def _cooldown(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    try:
        rule.cooldown = parse_duration(item["cooldown"])
    except ValueError as exc:
        raise FieldError(loc_of(item, "cooldown"), f"'cooldown': {exc}") from None


def _on_cooldown(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    value = item["on_cooldown"]
    if value not in ("stop", "continue"):
        raise FieldError(
            loc_of(item, "on_cooldown"), f"'on_cooldown' must be stop or continue (got {value!r})"
        )
    rule.on_cooldown = value


def _smart_encoding(rule: Rule, item: LocDict, compiler: TemplateCompiler) -> None:
    rule.smart_encoding = read_bool(item, "smart_encoding")


READERS: dict[str, Callable[[Rule, LocDict, TemplateCompiler], None]] = {
    "reply": _reply,
    "priority": _priority,
    "in_state": _in_state,
    "when": _when,
    "then": _then,
    "save_as": _save_as,
    "forward": _forward,
    "tag": _tag,
    "handoff": _handoff,
    "cooldown": _cooldown,
    "on_cooldown": _on_cooldown,
    "smart_encoding": _smart_encoding,
}
