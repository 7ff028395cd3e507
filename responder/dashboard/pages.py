"""Dashboard pages beyond conversations: opt-outs and the consent ledger, rules, the simulator."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from responder.dashboard.blueprint import bp
from responder.dashboard.chart import daily_chart, last_days
from responder.dashboard.filters import format_number
from responder.dashboard.queries import ledger_page, rule_hits
from responder.errors import InvalidNumberError
from responder.numbers import callback_number, normalise_number
from responder.ruleset import RuleSetError
from responder.services import current_services
from responder.simulation import simulate_message
from responder.sms.segments import count_segments
from responder.store.consent import opted_out_pairs
from responder.store.db import reading
from responder.store.threads import inbox_page

PAGE = 100
CHART_DAYS = 30
MAX_SIMULATED = 2000


def _number_filter() -> str | None:
    raw = request.args.get("number", "").strip()
    if not raw:
        return None
    number = callback_number(raw)  # stored numbers are normalised the same way
    if not number:
        abort(400, f"'number' must be a phone number (got {raw!r})")
    return number


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        abort(400, f"'{name}' must be a whole number (got {raw!r})")
    return int(raw)


@bp.get("/optouts")
def optouts() -> ResponseReturnValue:
    """Who is opted out now, and the consent ledger, each paged and filtered by number."""
    number = _number_filter()
    offset = _int_arg("offset") or 0
    before = _int_arg("before")
    with reading(current_services().engine) as conn:
        listed = opted_out_pairs(conn, number, limit=PAGE + 1, offset=offset)
        ledger = ledger_page(conn, limit=PAGE + 1, before_id=before, their_number=number)
    return render_template(
        "dashboard/optouts.html",
        number=request.args.get("number", ""),
        opted_out=listed[:PAGE],
        next_offset=offset + PAGE if len(listed) > PAGE else None,
        offset=offset,
        ledger=ledger[:PAGE],
        next_before=ledger[PAGE - 1]["id"] if len(ledger) > PAGE else None,
        before=before,
    )


@bp.get("/rules")
def rules() -> ResponseReturnValue:
    """The live rule set, its reload problems, hits per rule per day, rules never fired."""
    svc = current_services()
    holder = svc.rules
    try:
        ruleset = holder.current()
    except RuleSetError:
        ruleset = None
    now = svc.clock()
    days = last_days(now.date(), CHART_DAYS)
    with reading(svc.engine) as conn:
        hits = rule_hits(
            conn,
            since=now.replace(hour=0, minute=0, second=0, microsecond=0)
            - timedelta(days=CHART_DAYS - 1),
        )
    known = [*ruleset.rules, *ruleset.fallbacks] if ruleset else []
    charts = sorted(
        ((rule_id, daily_chart(per_day, days)) for rule_id, per_day in hits.per_day.items()),
        key=lambda item: (-item[1].total, item[0]),
    )
    return render_template(
        "dashboard/rules.html",
        ruleset=ruleset,
        holder=holder,
        problems=holder.last_problems,
        rules=known,
        hits=hits,
        charts=charts,
        days=CHART_DAYS,
        never=[rule for rule in known if rule.id not in hits.total],
        gone=sorted(set(hits.total) - {rule.id for rule in known}),
    )


def _default_our_number() -> str:
    svc = current_services()
    if svc.config.our_numbers:
        return format_number(svc.config.our_numbers[0])
    with reading(svc.engine) as conn:
        latest = inbox_page(conn, limit=1)
    return format_number(latest[0].our_number) if latest else ""


@bp.route("/simulator", methods=["GET", "POST"])
def simulator() -> ResponseReturnValue:
    """Type a message as a number and see what would be answered; nothing is stored or sent."""
    form = {
        "their": request.form.get("their", "").strip(),
        "ours": request.form.get("ours", "").strip() or _default_our_number(),
        "text": request.form.get("text", ""),
    }
    if request.method == "GET":
        return render_template("dashboard/simulator.html", form=form)
    errors = []
    numbers = {}
    for field, label in (("their", "Their number"), ("ours", "Our number")):
        try:
            numbers[field] = normalise_number(form[field])
        except InvalidNumberError as exc:
            errors.append(f"{label}: {exc}")
    if not form["text"].strip():
        errors.append("Message: type the text they would send")
    elif len(form["text"]) > MAX_SIMULATED:
        errors.append(f"Message: at most {MAX_SIMULATED} characters")
    if errors:
        return render_template("dashboard/simulator.html", form=form, errors=errors), 400
    try:
        decision = simulate_message(
            current_services(), numbers["ours"], numbers["their"], form["text"]
        )
    except RuleSetError as exc:
        return render_template("dashboard/simulator.html", form=form, errors=[str(exc)]), 409
    return render_template(
        "dashboard/simulator.html",
        form=form,
        decision=decision,
        count=count_segments(decision.reply, smart=decision.smart_encoding)
        if decision.reply
        else None,
    )
