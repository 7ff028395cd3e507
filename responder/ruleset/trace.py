"""The decision trace: the rules looked at, why each did or did not answer, and the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Step:
    """One rule looked at: its outcome (winner, no match, skipped, cooling down) and why."""

    rule_id: str
    where: str
    group: str
    outcome: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule_id,
            "where": self.where,
            "group": self.group,
            "outcome": self.outcome,
            "detail": self.detail,
        }


@dataclass(slots=True)
class Trace:
    """Everything that went into one evaluation, for logs (to_dict) and people (lines)."""

    text: str
    normalised: str
    our_number: str
    their_number: str
    now: datetime
    state: str | None
    complete: bool  # True when every rule was listed (explain), False for the indexed fast path
    local: str | None = None  # the moment in the rule set's time zone (explain only)
    steps: list[Step] = field(default_factory=list)
    winner: str | None = None
    reply: str | None = None
    outcomes: list[str] = field(default_factory=list)  # actions, state change, saved values
    notes: list[str] = field(default_factory=list)

    def add(self, rule_id: str, where: str, group: str, outcome: str, detail: str) -> None:
        self.steps.append(Step(rule_id, where, group, outcome, detail))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form, stored with the message."""
        return {
            "text": self.text,
            "normalised": self.normalised,
            "our_number": self.our_number,
            "their_number": self.their_number,
            "at": self.now.isoformat(),
            "local": self.local,
            "state": self.state,
            "complete": self.complete,
            "steps": [s.to_dict() for s in self.steps],
            "winner": self.winner,
            "reply": self.reply,
            "outcomes": list(self.outcomes),
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """The decision as a person reads it, one line per fact."""
        out = [
            f"message   {self.text!r}",
            f"words     {self.normalised!r}",
            f"from      +{self.their_number}  to +{self.our_number}",
            f"at        {self.now.isoformat()}" + (f"  ({self.local})" if self.local else ""),
            f"state     {self.state or '(none)'}",
        ]
        if not self.complete:
            out.append(
                "(indexed: lists only rules whose keywords occur in the text, and regex rules)"
            )
        group = None
        for step in self.steps:
            if step.group != group:
                group = step.group
                out.append(f"-- {group}")
            mark = {"winner": "=>", "no match": "  ", "matched": " +"}.get(step.outcome, " -")
            out.append(
                f"{mark} {step.rule_id:<24} {step.outcome:<13} {step.detail}  [{step.where}]"
            )
        out.append(f"winner    {self.winner or '(none)'}")
        out.append(
            f"reply     {self.reply!r}" if self.reply is not None else "reply     (no reply)"
        )
        out.extend(f"then      {o}" for o in self.outcomes)
        out.extend(f"note      {n}" for n in self.notes)
        return out
