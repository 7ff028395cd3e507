"""A loaded rule set: rules in the order they are tried, and evaluate(message) -> Evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from responder.reasons import BUDGET_USED_UP
from responder.ruleset.durations import format_duration
from responder.ruleset.matcher import Hit, RuleIndex, match_rule
from responder.ruleset.model import Budget, Evaluation, MessageContext, Rule, RuleFile
from responder.ruleset.normalise import Text, parse_text
from responder.ruleset.outcome import build_evaluation
from responder.ruleset.problems import Problem
from responder.ruleset.trace import Trace


class Tier:
    """The rules of one scope (general, or one of our numbers), split by the state they wait for."""

    def __init__(self, rules: list[Rule]) -> None:
        ordered = sorted(rules, key=lambda r: r.sort_key)
        self.stateless = RuleIndex([r for r in ordered if not r.in_state])
        states = sorted({s for r in ordered for s in r.in_state})
        self.by_state = {s: RuleIndex([r for r in ordered if s in r.in_state]) for s in states}


@dataclass(frozen=True)
class _Group:
    label: str
    index: RuleIndex


class Ruleset:
    """Every rule from a rules directory, ready to answer messages; immutable once built."""

    def __init__(
        self,
        files: list[RuleFile],
        rules: list[Rule],
        fallbacks: list[Rule],
        version: str,
        problems: list[Problem],
    ) -> None:
        self.files = files
        self.rules = rules
        self.fallbacks = fallbacks
        self.version = version
        self.problems = problems  # warnings the set was accepted with
        self.timezone = next((f.timezone for f in files if f.timezone_declared), ZoneInfo("UTC"))
        numbers = sorted({n for f in files for n in f.numbers})
        self._general = Tier([r for r in rules if not r.file.numbers])
        self._specific = {n: Tier([r for r in rules if n in r.file.numbers]) for n in numbers}
        self._fallbacks = {n: self._order_fallbacks(n) for n in [*numbers, ""]}
        self._budgets = {n: self._find_budget(n) for n in [*numbers, ""]}
        windows = [b.per for b in self._budgets.values() if b is not None]
        # How far back a caller must look for recent_replies; None when no file sets a budget.
        self.budget_window: timedelta | None = max(windows) if windows else None

    def _find_budget(self, number: str) -> Budget | None:
        """The number's own files' budget, else a general file's (lint refuses two at one level)."""
        mine = [f.budget for f in self.files if f.budget and number and number in f.numbers]
        general = [f.budget for f in self.files if f.budget and not f.numbers]
        found = mine or general
        return found[0] if found else None

    def budget_for(self, our_number: str) -> Budget | None:
        """The limit on automatic replies in a conversation with *our_number*."""
        return self._budgets.get(our_number, self._budgets[""])

    def _order_fallbacks(self, number: str) -> list[Rule]:
        mine = [f for f in self.fallbacks if number and number in f.file.numbers]
        general = [f for f in self.fallbacks if not f.file.numbers]
        key = _fallback_key
        return sorted(mine, key=key) + sorted(general, key=key)

    def groups(self, our_number: str, state: str | None) -> Iterator[_Group]:
        """The rule groups in the order they are tried (see docs/rules.md, "Precedence")."""
        specific = self._specific.get(our_number)
        if state:
            if specific is not None and state in specific.by_state:
                yield _Group(
                    f"rules for +{our_number} waiting for state {state!r}", specific.by_state[state]
                )
            if state in self._general.by_state:
                yield _Group(f"rules waiting for state {state!r}", self._general.by_state[state])
        if specific is not None:
            yield _Group(f"rules for +{our_number}", specific.stateless)
        yield _Group("general rules", self._general.stateless)

    def all_groups(self) -> Iterator[tuple[str | None, str | None, RuleIndex]]:
        """Every (our number or None, state or None, rules) group, for checks across rules."""
        for number, tier in [(None, self._general), *self._specific.items()]:
            yield number, None, tier.stateless
            for state, index in tier.by_state.items():
                yield number, state, index

    def evaluate(self, ctx: MessageContext, *, verbose: bool = False) -> Evaluation:
        """Choose the rule that answers *ctx*; verbose traces every rule, not only candidates."""
        text = parse_text(ctx.text)
        trace = Trace(
            ctx.text,
            text.key,
            ctx.our_number,
            ctx.their_number,
            ctx.now,
            ctx.state,
            complete=verbose,
        )
        if verbose:
            local = ctx.now.astimezone(self.timezone)
            trace.local = f"{local:%a %Y-%m-%d %H:%M} {self.timezone.key}"
        for group in self.groups(ctx.our_number, ctx.state):
            for rule, hit in self._candidates(group.index, text, trace, group.label, verbose):
                refusal = self._refusal(rule, ctx)
                if refusal is None:
                    trace.add(rule.id, rule.where, group.label, "winner", hit.describe(rule))
                    return self._within_budget(build_evaluation(rule, hit, ctx, trace), ctx)
                outcome, detail = refusal
                trace.add(
                    rule.id, rule.where, group.label, outcome, f"{hit.describe(rule)}; {detail}"
                )
                if outcome == "cooling down":
                    trace.winner = rule.id
                    trace.notes.append(f"{rule.id} is cooling down, so there is no reply")
                    return Evaluation(rule.id, None, (), None, {}, rule.encodes_smart, trace)
        for fallback in self._fallbacks.get(ctx.our_number, self._fallbacks[""]):
            refusal = self._refusal(fallback, ctx)
            if refusal is None:
                trace.add(fallback.id, fallback.where, "fallback", "winner", "no rule answered")
                return self._within_budget(build_evaluation(fallback, Hit(), ctx, trace), ctx)
            trace.add(fallback.id, fallback.where, "fallback", refusal[0], refusal[1])
        trace.notes.append("no rule matched and there is no fallback")
        return Evaluation(None, None, (), None, {}, False, trace)

    def _within_budget(self, evaluation: Evaluation, ctx: MessageContext) -> Evaluation:
        """Withhold the reply when the conversation has used up its automatic replies."""
        budget = self.budget_for(ctx.our_number)
        if budget is None or evaluation.reply is None:
            return evaluation
        used = sum(1 for at in ctx.recent_replies if ctx.now - at < budget.per)
        if used < budget.replies:
            return evaluation
        trace = evaluation.trace
        trace.reply = None
        trace.notes.append(
            f"budget used up: {used} automatic replies in the last {format_duration(budget.per)} "
            f"(limit {budget}), so there is no reply; actions still happen"
        )
        return replace(evaluation, reply=None, withheld=BUDGET_USED_UP)

    @staticmethod
    def _candidates(
        index: RuleIndex, text: Text, trace: Trace, label: str, verbose: bool
    ) -> Iterator[tuple[Rule, Hit]]:
        if not verbose:
            yield from index.matches(text)
            return
        for rule in index.rules:
            hit = match_rule(rule, text)
            if hit is None:
                trace.add(rule.id, rule.where, label, "no match", _miss(rule))
            else:
                yield rule, hit

    @staticmethod
    def _refusal(rule: Rule, ctx: MessageContext) -> tuple[str, str] | None:
        """Why a rule whose text matched may not answer now, or None when it may."""
        if ctx.state and rule.in_state and ctx.state not in rule.in_state:
            return "skipped", f"waits for state {', '.join(sorted(rule.in_state))}"
        if not ctx.state and rule.in_state:
            return "skipped", f"waits for state {', '.join(sorted(rule.in_state))}; there is none"
        if (
            ctx.state
            and not rule.in_state
            and rule.file.exclusive_states
            and rule.kind != "fallback"
        ):
            return (
                "skipped",
                f"{rule.file.name} has exclusive_states and the state is {ctx.state!r}",
            )
        if rule.when is not None and not rule.when.is_active(
            ctx.now, rule.file.timezone, rule.file.holidays
        ):
            local = ctx.now.astimezone(rule.file.timezone).strftime("%a %Y-%m-%d %H:%M %Z")
            return "skipped", f"not in its schedule ({rule.when}) at {local}"
        if rule.cooldown is not None:
            last = ctx.last_fired.get(rule.id)
            if last is not None and ctx.now - last < rule.cooldown:
                until = (last + rule.cooldown).isoformat()
                if rule.on_cooldown == "continue":
                    return "skipped", f"cooling down until {until}; matching continues"
                return "cooling down", f"answered at {last.isoformat()}; quiet until {until}"
        return None


def _fallback_key(rule: Rule) -> tuple[int, int, int, int]:
    return (0 if rule.in_state else 1, -rule.priority, rule.file.index, rule.index)


def _miss(rule: Rule) -> str:
    if rule.kind == "regex":
        return f"pattern `{rule.pattern.pattern if rule.pattern else ''}` did not match"
    words = ", ".join(repr(k.text) for k in rule.keywords)
    return f"{rule.kind}: none of {words}"
