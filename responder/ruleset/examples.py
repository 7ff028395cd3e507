"""Rule-file `examples:`: messages and the rule and reply they must get from the whole set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from responder.numbers import callback_number
from responder.ruleset.durations import parse_duration
from responder.ruleset.keys import EXAMPLE_KEYS, unknown_keys
from responder.ruleset.model import Evaluation, MessageContext
from responder.ruleset.problems import ERROR, Problem
from responder.ruleset.schedule import DAYS
from responder.ruleset.yamlsource import FieldError, LocDict, loc_of

if TYPE_CHECKING:
    from responder.ruleset.loader import Build
    from responder.ruleset.parse import ParsedFile
    from responder.ruleset.ruleset import Ruleset

DEFAULT_FROM = "447443332212"
DEFAULT_TO = "447443332211"
# Examples without `at:` happen on a Wednesday at noon, so results never depend on the clock.
DEFAULT_DAY = date(2025, 1, 8)
_WEEKDAY_TIME = re.compile(r"^([a-z]{3})[a-z]*\s+(\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class ExampleResult:
    """One example's outcome; .problem is None when it passed."""

    where: str
    text: str
    passed: bool
    detail: str
    problem: Problem | None
    evaluation: Evaluation | None = None


def parse_moment(value: Any, tz: ZoneInfo) -> datetime:
    """Read an example time: "mon 10:00", "10:00", "2025-01-06 10:00" or ISO with offset; -> UTC."""
    if isinstance(value, datetime):
        local = value if value.tzinfo else value.replace(tzinfo=tz)
        return local.astimezone(ZoneInfo("UTC"))
    text = str(value).strip().lower()
    weekday = _WEEKDAY_TIME.match(text)
    try:
        if weekday and weekday.group(1) in DAYS:
            day = date(2025, 1, 6) + timedelta(days=DAYS.index(weekday.group(1)))
            local = datetime.combine(day, time.fromisoformat(weekday.group(2).zfill(5)), tz)
        elif re.match(r"^\d{1,2}:\d{2}$", text):
            local = datetime.combine(DEFAULT_DAY, time.fromisoformat(text.zfill(5)), tz)
        else:
            parsed = datetime.fromisoformat(text.upper().replace(" ", "T", 1))
            local = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    except ValueError:
        raise ValueError(
            f'expected a time like "mon 10:00", "2025-01-06 10:00" or ISO 8601 (got {value!r})'
        ) from None
    return local.astimezone(ZoneInfo("UTC"))


def example_context(parsed: ParsedFile, item: LocDict) -> MessageContext:
    """The message an example describes; raises FieldError for a badly written example."""
    for loc, message in unknown_keys(item, EXAMPLE_KEYS, "an example"):
        raise FieldError(loc, message)
    text = item.get("text")
    if not isinstance(text, str):
        raise FieldError(item.loc, "an example needs 'text' (the message)")
    if "expect" not in item:
        raise FieldError(item.loc, "an example needs 'expect': a rule id, or none")
    tz = parsed.file.timezone
    try:
        now = parse_moment(item["at"], tz) if "at" in item else parse_moment("12:00", tz)
    except ValueError as exc:
        raise FieldError(loc_of(item, "at"), f"'at': {exc}") from None
    last_fired = {}
    for rule_id, ago in dict(item.get("last_fired") or {}).items():
        try:
            last_fired[str(rule_id)] = now - parse_duration(ago)
        except ValueError as exc:
            raise FieldError(loc_of(item, "last_fired"), f"'last_fired' {rule_id}: {exc}") from None
    recent = _recent_replies(item, now)
    default_to = min(parsed.file.numbers) if parsed.file.numbers else DEFAULT_TO
    return MessageContext(
        text=text,
        our_number=callback_number(str(item.get("to", default_to))),
        their_number=callback_number(str(item.get("from", DEFAULT_FROM))),
        now=now,
        state=item.get("state"),
        saved={str(k): str(v) for k, v in dict(item.get("saved") or {}).items()},
        last_fired=last_fired,
        recent_replies=recent,
    )


def _recent_replies(item: LocDict, now: datetime) -> list[datetime]:
    """`recent_replies: 3` (three replies a minute ago) or a list of how long ago each was."""
    if "recent_replies" not in item:
        return []
    value = item["recent_replies"]
    loc = loc_of(item, "recent_replies")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return [now - timedelta(minutes=1)] * value
    if not isinstance(value, list):
        raise FieldError(
            loc, f"'recent_replies' must be a count or a list of durations ago (got {value!r})"
        )
    try:
        return [now - parse_duration(ago) for ago in value]
    except ValueError as exc:
        raise FieldError(loc, f"'recent_replies': {exc}") from None


def check_example(
    ruleset: Ruleset, ctx: MessageContext, item: LocDict
) -> tuple[Evaluation, list[str]]:
    """Evaluate one example and list how the result differs from what it expects."""
    evaluation = ruleset.evaluate(ctx)
    failures = []
    expected = item.get("expect")
    expected = "none" if expected is None else str(expected)
    got = evaluation.rule_id or "none"
    if got != expected:
        failures.append(f"expected rule {expected!r}, got {got!r}")
    if "reply" in item and evaluation.reply != item["reply"]:
        failures.append(f"expected reply {item['reply']!r}, got {evaluation.reply!r}")
    if "reply_contains" in item and str(item["reply_contains"]) not in (evaluation.reply or ""):
        failures.append(
            f"expected the reply to contain {item['reply_contains']!r}, got {evaluation.reply!r}"
        )
    if "expect_state" in item:
        wanted = item["expect_state"]
        after = evaluation.state.name if evaluation.state is not None else ctx.state
        if (wanted in (None, "none") and after is not None) or (
            wanted not in (None, "none") and after != wanted
        ):
            failures.append(f"expected state {wanted!r} afterwards, got {after!r}")
    return evaluation, failures


def run_examples(build: Build) -> list[ExampleResult]:
    """Run every example of every file, in file order."""
    results: list[ExampleResult] = []
    ruleset = build.ruleset
    if ruleset is None:
        return results
    for parsed, item, loc in build.examples:
        where = f"{parsed.file.path}:{loc[0]}:{loc[1]}"
        label = item.get("text", "?") if isinstance(item, dict) else "?"
        try:
            if not isinstance(item, LocDict):
                raise FieldError(loc, "an example must be a mapping with 'text' and 'expect'")
            ctx = example_context(parsed, item)
        except FieldError as exc:
            unusable = Problem(
                parsed.file.path, exc.loc[0], exc.loc[1], ERROR, f"example: {exc.message}"
            )
            results.append(ExampleResult(where, str(label), False, exc.message, unusable))
            continue
        evaluation, failures = check_example(ruleset, ctx, item)
        detail = "; ".join(failures) or f"{evaluation.rule_id or 'none'}: {evaluation.reply!r}"
        problem = None
        if failures:
            problem = Problem(
                parsed.file.path, loc[0], loc[1], ERROR, f"example {ctx.text!r} failed: {detail}"
            )
        results.append(ExampleResult(where, ctx.text, not failures, detail, problem, evaluation))
    return results
