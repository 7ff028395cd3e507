"""The rules language through the running service: a callback over HTTP -> rule -> outbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from responder import create_app
from responder.services import Services
from responder.store.tables import messages, threads
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support import (
    OUR,
    THEIRS,
    events_of,
    post_callback,
    serve,
    sms_callback,
    wait_until,
)

STAFF = "447443332200"
STALL = "447443332233"
OTHER = "447700900999"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def write_rules(rules_dir: Path, text: str, name: str = "main.yaml") -> None:
    (rules_dir / name).write_text(text, encoding="utf-8")


def use_rules(services: Services, rules_dir: Path, text: str, name: str = "main.yaml") -> str:
    """Write a rule file and wait until the service answers with it; return the new version."""
    old = services.rules.current().version
    write_rules(rules_dir, text, name)
    return wait_until(lambda: (v := services.rules.current().version) != old and v)


def post(url: str, callback_id: int, text: str, **kw: str) -> requests.Response:
    answer = post_callback(url, sms_callback(callback_id, text, **kw))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1, answer.text
    return answer


def rows(services: Services, **where: object) -> list:
    query = select(messages, threads.c.our_number, threads.c.their_number).join(
        threads, threads.c.id == messages.c.thread_id
    )
    for key, value in where.items():
        column = threads.c[key] if key in ("our_number", "their_number") else messages.c[key]
        query = query.where(column == value)
    with services.engine.connect() as conn:
        return conn.execute(query.order_by(messages.c.id)).all()


def replies(services: Services, their_number: str = THEIRS, our_number: str = OUR) -> list[str]:
    found = rows(
        services, direction="out", kind="reply", their_number=their_number, our_number=our_number
    )
    return [m.text for m in found]


def events(services: Services, message_id: int) -> list[tuple[str, str | None]]:
    return events_of(services.engine, message_id)


def history(services: Services, message_id: int) -> list[str]:
    return [status for status, _ in events(services, message_id)]


def thread_row(services: Services, their_number: str = THEIRS, our_number: str = OUR):
    with services.engine.connect() as conn:
        return conn.execute(
            select(threads)
            .where(threads.c.their_number == their_number)
            .where(threads.c.our_number == our_number)
        ).one()


HOOK_RULES = """\
rules:
  - id: order-hook
    match: regex
    pattern: '^order\\s+(?P<n>\\d+)$'
    reply: "Thanks, we are looking up order {{ n }}."
    forward:
      url: "{url}/hooks/sms"
      text: "Order {{ n }} asked about by +{{ their_number }}"
      timeout: 1s
"""


def test_url_forward_is_posted_as_json_and_retried_after_a_failure(live, rules_dir, receiver):
    url, services = live
    use_rules(services, rules_dir, HOOK_RULES.replace("{url}", receiver.url))
    receiver.fail_next(503)
    post(url, 301, "order 42")

    wait_until(lambda: [d for d in receiver.deliveries if d.status == 200])
    first, second = receiver.deliveries
    assert (first.status, second.status) == (503, 200)
    assert second.path == "/hooks/sms"
    assert second.headers["Content-Type"] == "application/json"
    # The same delivery id both times, so the receiver can tell a repeat.
    assert first.headers["X-Responder-Delivery"] == second.headers["X-Responder-Delivery"]
    body = second.body
    assert body["rule_id"] == "order-hook"
    assert body["our_number"] == OUR
    assert body["their_number"] == THEIRS
    assert body["text"] == "order 42"
    assert body["summary"] == f"Order 42 asked about by +{THEIRS}"
    assert body["groups"] == {"n": "42"}

    hook = wait_until(lambda: [m for m in rows(services, kind="webhook") if m.status == "sent"])[0]
    assert hook.rule_id == "order-hook"
    assert hook.attempts == 2
    assert history(services, hook.id) == ["queued", "sending", "errored", "sending", "sent"]
    assert wait_until(lambda: replies(services)) == ["Thanks, we are looking up order 42."]
    # The thread's last text stays the conversation's, not the forward's JSON.
    assert thread_row(services).last_text == "Thanks, we are looking up order 42."


def test_url_forward_that_times_out_is_tried_again(live, rules_dir, receiver):
    url, services = live
    use_rules(services, rules_dir, HOOK_RULES.replace("{url}", receiver.url))
    receiver.stall_next(3.0)
    post(url, 302, "order 7")
    hook = wait_until(
        lambda: [m for m in rows(services, kind="webhook") if m.status == "sent"], timeout=15
    )[0]
    assert hook.attempts == 2
    errored = [detail for status, detail in events(services, hook.id) if status == "errored"]
    assert len(errored) == 1
    assert "no answer from" in errored[0]
    assert "within 1 s" in errored[0]


def test_url_forward_refused_with_4xx_fails_at_once(live, rules_dir, receiver):
    url, services = live
    use_rules(services, rules_dir, HOOK_RULES.replace("{url}", receiver.url))
    receiver.fail_next(404)
    post(url, 303, "order 8")
    hook = wait_until(lambda: [m for m in rows(services, kind="webhook") if m.status == "failed"])[
        0
    ]
    assert hook.error_code == "404"
    assert "refused the forward with HTTP 404" in hook.error_text
    assert len(receiver.deliveries) == 1


STAFF_RULES = f"""\
rules:
  - id: staff
    keywords: [staff, person]
    match: word
    reply: "One of our team will text you back shortly."
    forward:
      sms: "+{STAFF}"
      text: "+{{{{ their_number }}}} asks for a person: {{{{ text }}}}"
    tag: needs-human
    handoff: true
fallback:
  reply: "Sorry, we did not understand."
"""


def test_staff_forward_tag_and_handoff(live, rules_dir):
    url, services = live
    use_rules(services, rules_dir, STAFF_RULES)
    post(url, 311, "Can I talk to a person?")
    forward = wait_until(
        lambda: [m for m in rows(services, their_number=STAFF) if m.status == "sent"]
    )[0]
    assert forward.kind == "forward"
    assert forward.our_number == OUR
    assert forward.text == f"+{THEIRS} asks for a person: Can I talk to a person?"
    assert forward.rule_id == "staff"
    thread = thread_row(services)
    assert json.loads(thread.tags) == ["needs-human"]
    assert thread.paused_until is not None
    assert wait_until(lambda: replies(services)) == ["One of our team will text you back shortly."]

    # Automation is paused: the next message is stored but gets no automatic reply.
    post(url, 312, "hello?")
    inbound = wait_until(
        lambda: [m for m in rows(services, direction="in") if m.status == "handled"][1:]
    )[0]
    assert inbound.text == "hello?"
    assert ("handled", "automation paused for this thread") in events(services, inbound.id)
    assert replies(services) == ["One of our team will text you back shortly."]


LIMIT_RULES = """\
budget: {replies: 2, per: 1h}
rules:
  - id: thanks
    keywords: [thanks]
    match: only
    reply: "You're welcome!"
    cooldown: 1h
  - id: hours
    keywords: [hours]
    match: only
    reply: "Open 9-5."
fallback:
  reply: "Sorry?"
"""


def test_cooldown_keeps_a_rule_quiet_and_the_budget_caps_replies(live, rules_dir):
    url, services = live
    use_rules(services, rules_dir, LIMIT_RULES)
    post(url, 321, "thanks")
    post(url, 322, "thanks")  # cooling down: no reply, and not the fallback either
    post(url, 323, "hours")
    post(url, 324, "hours")  # the third automatic reply in an hour: over budget
    handled = wait_until(
        lambda: [m for m in rows(services, direction="in") if m.status == "handled"][3:]
    )
    assert handled
    assert replies(services) == ["You're welcome!", "Open 9-5."]
    inbound = rows(services, direction="in")
    assert [m.rule_id for m in inbound] == ["thanks", "thanks", "hours", "hours"]
    notes = json.loads(inbound[3].trace)["rules"]["notes"]
    assert any("budget used up: 2 automatic replies" in n for n in notes)
    # Another conversation has a budget of its own.
    post(url, 325, "hours", source=OTHER)
    assert wait_until(lambda: replies(services, OTHER)) == ["Open 9-5."]


BOOKING_RULES = """\
timezone: Europe/London
holidays: [12-25]
rules:
  - id: book
    keywords: [book]
    match: first
    reply: "Which day?"
    then: {state: ask-day, expires_after: 30m}
  - id: day
    in_state: ask-day
    match: regex
    pattern: '(?P<day>mon|tue|wed|thu|fri)'
    save_as: day
    reply: "Booked for {{ day }}."
    then: {state: null}
  - id: hours
    keywords: [hours]
    match: only
    reply: "Shop: 9-5."
fallback:
  - id: closed
    when: {outside: {days: mon-fri, time: "09:00-17:00"}}
    reply: "We are closed."
  - id: fallback
    reply: "Sorry?"
"""

STALL_RULES = f"""\
numbers: ["+{STALL}"]
rules:
  - id: stall.hours
    keywords: [hours]
    match: only
    reply: "Stall: Saturdays."
  - id: stall.promo
    keywords: [hours]
    match: first
    priority: 5
    reply: "Stall: Saturdays, and 10% off this week."
"""


def test_conversation_schedule_numbers_and_version(live, rules_dir):
    url, services = live
    write_rules(rules_dir, BOOKING_RULES)
    write_rules(rules_dir, STALL_RULES, "20-stall.yaml")
    wait_until(lambda: len(services.rules.current().files) == 2)
    version = services.rules.current().version
    services.clock = lambda: datetime(2025, 1, 8, 12, 0, tzinfo=UTC)  # a Wednesday, open
    post(url, 331, "Book please")
    post(url, 332, "tue")
    post(url, 333, "hours")
    post(url, 334, "hours", destination=STALL)
    post(url, 335, "hours now?", destination=STALL)
    services.clock = lambda: datetime(2025, 12, 25, 12, 0, tzinfo=UTC)  # a Thursday, holiday
    post(url, 336, "anything")
    services.clock = lambda: datetime(2025, 12, 24, 12, 0, tzinfo=UTC)
    post(url, 337, "anything")

    wait_until(lambda: len(rows(services, direction="in", status="handled")) == 7)
    assert replies(services) == [
        "Which day?",
        "Booked for tue.",
        "Shop: 9-5.",
        "We are closed.",
        "Sorry?",
    ]
    stall = [m.text for m in rows(services, direction="out", our_number=STALL)]
    assert stall == ["Stall: Saturdays, and 10% off this week."] * 2
    inbound = rows(services, direction="in")
    assert [m.rule_id for m in inbound] == [
        "book",
        "day",
        "hours",
        "stall.promo",
        "stall.promo",
        "closed",
        "fallback",
    ]
    assert {m.ruleset_version for m in inbound} == {version}
    assert {m.ruleset_version for m in rows(services, direction="out")} == {version}
    assert json.loads(thread_row(services).saved) == {"day": "tue"}


def test_an_edit_goes_live_and_a_broken_one_is_refused(live, rules_dir):
    url, services = live
    old = services.rules.current().version
    post(url, 341, "hours")
    write_rules(rules_dir, LIMIT_RULES.replace("budget: {replies: 2, per: 1h}\n", ""))
    new = wait_until(lambda: (v := services.rules.current().version) != old and v)
    post(url, 342, "hours")
    broken = LIMIT_RULES.replace("Open 9-5.", "Open {{ opening }}.")
    write_rules(rules_dir, broken)
    wait_until(lambda: services.rules.last_problems and services.rules.last_problems[0].is_error)
    post(url, 343, "hours", source=OTHER)
    wait_until(lambda: len(rows(services, direction="in", status="handled")) == 3)
    assert replies(services) == ["We are open 9:00-17:00, Monday to Friday.", "Open 9-5."]
    assert replies(services, OTHER) == ["Open 9-5."]
    assert [m.ruleset_version for m in rows(services, direction="in")] == [old, new, new]
    assert "unknown variable 'opening'" in str(services.rules.last_problems[0])


def test_a_busy_receiver_is_retried_without_holding_back_replies(live, rules_dir, receiver):
    url, services = live
    use_rules(services, rules_dir, HOOK_RULES.replace("{url}", receiver.url))
    receiver.fail_next(429)
    post(url, 304, "order 9")
    hook = wait_until(lambda: [m for m in rows(services, kind="webhook") if m.status == "sent"])[0]
    assert hook.attempts == 2
    # A receiver's 429 is its own business: SMS replies are not paused for it.
    post(url, 305, "order 10", source=OTHER)
    wait_until(
        lambda: [m for m in rows(services, kind="reply", their_number=OTHER) if m.status == "sent"]
    )


def test_without_any_good_rules_messages_are_kept_unanswered(config, rules_dir):
    write_rules(rules_dir, "rules:\n  - {id: x, match: startswith, reply: hi}\n")
    app = create_app(config)
    services: Services = app.extensions["responder"]
    try:
        with serve(app) as url:
            post(url, 351, "hours")
            inbound = wait_until(lambda: rows(services, direction="in", status="handled"))[0]
            assert inbound.ruleset_version == "none"
            assert inbound.rule_id is None
            # The first good set goes live without a restart.
            write_rules(rules_dir, LIMIT_RULES)
            wait_until(lambda: services.rules.serving().version != "none")
            post(url, 352, "hours")
            assert wait_until(lambda: replies(services)) == ["Open 9-5."]
    finally:
        services.sender.stop()
        services.rules.stop()
        services.engine.dispose()
