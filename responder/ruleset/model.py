"""The rule set's values: what a caller passes in, what it gets back, and the rules in between."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from responder.ruleset.durations import format_duration

if TYPE_CHECKING:
    from responder.ruleset.schedule import DateSpec, Schedule
    from responder.ruleset.templates import Template
    from responder.ruleset.trace import Trace

MATCH_KINDS = ("only", "first", "word", "phrase", "regex")
FALLBACK = "fallback"


@dataclass(frozen=True)
class MessageContext:
    """One inbound message and what the caller knows about its conversation."""

    text: str
    our_number: str
    their_number: str
    now: datetime  # timezone-aware UTC
    state: str | None = None  # the conversation's state, already expired by the caller
    saved: Mapping[str, str] = field(default_factory=dict)
    last_fired: Mapping[str, datetime] = field(default_factory=dict)  # rule id -> last reply
    # When this conversation got its recent automatic replies (for `budget:`), any order.
    recent_replies: Sequence[datetime] = ()


@dataclass(frozen=True)
class ForwardSms:
    """Send *text* as an SMS to *to* (a staff number)."""

    to: str
    text: str


@dataclass(frozen=True)
class ForwardUrl:
    """POST *payload* as JSON to *url*, giving up on one try after *timeout_s* seconds."""

    url: str
    payload: dict[str, Any]
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Tag:
    """Put the tag *name* on the conversation."""

    name: str


@dataclass(frozen=True)
class Handoff:
    """Hand the conversation to a person; automation pauses."""


Action = ForwardSms | ForwardUrl | Tag | Handoff


@dataclass(frozen=True)
class StateChange:
    """Move the conversation to state *name* (None clears it) until *expires_at*."""

    name: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Evaluation:
    """What the rules say about one message; the caller carries it out."""

    rule_id: str | None
    reply: str | None
    actions: tuple[Action, ...]
    state: StateChange | None
    save: Mapping[str, str]
    smart_encoding: bool
    trace: Trace
    # Why the winner's reply is not sent (budget used up, its template failed); None otherwise.
    withheld: str | None = None


@dataclass(frozen=True)
class Keyword:
    """A keyword as written and as the folded words it matches."""

    text: str
    words: tuple[str, ...]
    alias: bool = False


@dataclass(frozen=True)
class StateRequest:
    """A rule's `then:`: the state to enter (None clears) and for how long."""

    name: str | None
    expires_after: timedelta | None


@dataclass(frozen=True)
class ForwardSpec:
    """A rule's `forward:` entry; the SMS text is a template."""

    sms: str | None = None
    url: str | None = None
    text: Template | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Budget:
    """At most *replies* automatic replies per conversation in any window of *per*."""

    replies: int
    per: timedelta
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.replies} per {format_duration(self.per)}"


@dataclass(eq=False)
class RuleFile:
    """One rule file's settings; its rules point back to it."""

    path: str
    name: str
    index: int
    numbers: frozenset[str] = frozenset()
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    timezone_declared: bool = False
    holidays: tuple[DateSpec, ...] = ()
    exclusive_states: bool = False
    smart_encoding: bool = False
    budget: Budget | None = None


@dataclass(eq=False)
class Rule:
    """One rule (or fallback) with the place it was written."""

    id: str
    kind: str  # one of MATCH_KINDS, or FALLBACK
    file: RuleFile
    line: int
    column: int
    index: int  # position in its file
    keywords: tuple[Keyword, ...] = ()
    pattern: re.Pattern[str] | None = None
    literal: str | None = None  # text every match of pattern contains (see prefilter.py)
    reply: Template | None = None
    priority: int = 0
    in_state: frozenset[str] = frozenset()
    when: Schedule | None = None
    then: StateRequest | None = None
    save_as: tuple[str, ...] = ()
    forwards: tuple[ForwardSpec, ...] = ()
    tags: tuple[str, ...] = ()
    handoff: bool = False
    cooldown: timedelta | None = None
    on_cooldown: str = "stop"  # stop | continue
    smart_encoding: bool | None = None

    @property
    def where(self) -> str:
        return f"{self.file.path}:{self.line}:{self.column}"

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """Higher priority first, then file name order, then position in the file."""
        return (-self.priority, self.file.index, self.index)

    @property
    def encodes_smart(self) -> bool:
        return self.file.smart_encoding if self.smart_encoding is None else self.smart_encoding
