"""The winning rule -> the Evaluation: rendered reply, actions, state change and saved values."""

from __future__ import annotations

from typing import Any

from responder.reasons import TEMPLATE_FAILED
from responder.ruleset.matcher import Hit
from responder.ruleset.model import (
    Action,
    Evaluation,
    ForwardSms,
    ForwardUrl,
    Handoff,
    MessageContext,
    Rule,
    StateChange,
    Tag,
)
from responder.ruleset.templates import RENDER_ERRORS, Template
from responder.ruleset.trace import Trace


def template_values(
    rule: Rule, ctx: MessageContext, hit: Hit, save: dict[str, str]
) -> dict[str, Any]:
    """What a reply template can read: numbers, text, local now, saved values, regex groups."""
    return {
        **ctx.saved,
        **save,
        **hit.groups,
        "their_number": ctx.their_number,
        "our_number": ctx.our_number,
        "text": ctx.text.strip(),
        "now": ctx.now.astimezone(rule.file.timezone),
    }


def saved_values(rule: Rule, ctx: MessageContext, hit: Hit) -> dict[str, str]:
    """`save_as` names -> the regex group of that name, or else the whole message."""
    return {name: hit.groups.get(name, ctx.text.strip()) for name in rule.save_as}


def build_evaluation(rule: Rule, hit: Hit, ctx: MessageContext, trace: Trace) -> Evaluation:
    """Carry out the winner's reply template and collect what the caller must do."""
    save = saved_values(rule, ctx, hit) if rule.save_as else {}
    reply = None
    withheld = None
    if rule.reply is not None and rule.reply.is_plain:
        reply = rule.reply.source
    elif rule.reply is not None:
        reply = _render(rule.reply, template_values(rule, ctx, hit, save), trace, "reply")
        if reply is None:
            withheld = TEMPLATE_FAILED
    if reply == "":
        trace.notes.append("the reply rendered empty, so nothing is sent")
        reply = None
    trace.winner, trace.reply = rule.id, reply
    if not (rule.forwards or rule.tags or rule.handoff or rule.then or save):
        return Evaluation(rule.id, reply, (), None, save, rule.encodes_smart, trace, withheld)
    values = template_values(rule, ctx, hit, save)
    actions: list[Action] = []
    for spec in rule.forwards:
        text = _render(spec.text, values, trace, "forward text") if spec.text else ctx.text
        if spec.sms is not None:
            actions.append(ForwardSms(to=spec.sms, text=text or ctx.text))
        elif spec.url is not None:
            payload = _payload(rule, ctx, hit, save, text)
            actions.append(ForwardUrl(url=spec.url, payload=payload, timeout_s=spec.timeout_s))
    actions.extend(Tag(name) for name in rule.tags)
    if rule.handoff:
        actions.append(Handoff())
    state = None
    if rule.then is not None:
        expires = ctx.now + rule.then.expires_after if rule.then.expires_after else None
        state = StateChange(rule.then.name, expires)
        trace.outcomes.append(
            f"state -> {rule.then.name} until {expires.isoformat()}"
            if rule.then.name and expires
            else "state cleared"
        )
    trace.outcomes.extend(_describe(action) for action in actions)
    trace.outcomes.extend(f"save {k} = {v!r}" for k, v in save.items())
    return Evaluation(
        rule.id, reply, tuple(actions), state, save, rule.encodes_smart, trace, withheld
    )


def _render(template: Template, values: dict[str, Any], trace: Trace, what: str) -> str | None:
    try:
        return template.render(values)
    except RENDER_ERRORS as exc:
        trace.notes.append(f"{what} template failed: {type(exc).__name__}: {exc}")
        return None


def _payload(
    rule: Rule, ctx: MessageContext, hit: Hit, save: dict[str, str], text: str | None
) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "our_number": ctx.our_number,
        "their_number": ctx.their_number,
        "text": ctx.text,
        "summary": text,
        "received_at": ctx.now.isoformat(),
        "groups": dict(hit.groups),
        "saved": {**ctx.saved, **save},
    }


def _describe(action: Action) -> str:
    if isinstance(action, ForwardSms):
        return f"forward SMS to +{action.to}: {action.text!r}"
    if isinstance(action, ForwardUrl):
        return f"forward to {action.url} (POST JSON, timeout {action.timeout_s:g} s)"
    if isinstance(action, Tag):
        return f"tag {action.name}"
    return "hand off to a person"
