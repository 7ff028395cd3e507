"""Replies leave through a fake Voximplant Management API on loopback that checks every JWT."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from responder import create_app
from responder.services import Services
from tests.fakes.voximplant_api import FakeVoximplant
from tests.support import (
    ACCOUNT_ID,
    OUR,
    THEIRS,
    events_of,
    outbound_messages,
    post_callback,
    serve,
    sms_callback,
    voximplant_config,
    wait_until,
)


@pytest.fixture
def voximplant_live(config, fake_api) -> Iterator[tuple[str, Services, FakeVoximplant]]:
    app = create_app(voximplant_config(config, fake_api.url, send_timeout_s=1.0))
    services: Services = app.extensions["responder"]
    with serve(app) as url:
        yield url, services, fake_api
    services.sender.stop()
    services.engine.dispose()


def outbound(services: Services) -> list:
    return outbound_messages(services.engine)


def history(services: Services, message_id: int) -> list[str]:
    return [status for status, _ in events_of(services.engine, message_id)]


def test_reply_reaches_the_provider_signed(voximplant_live):
    url, services, fake = voximplant_live
    assert post_callback(url, sms_callback(101, "order 555")).status_code == 200
    wait_until(lambda: fake.sent)
    request = fake.sent[0]
    assert request.params["source"] == OUR
    assert request.params["destination"] == THEIRS
    assert request.params["sms_body"] == f"Order 555 is on its way, {THEIRS}."
    assert request.claims["iss"] == ACCOUNT_ID
    assert request.claims["exp"] - request.claims["iat"] <= 3600
    reply = wait_until(lambda: [m for m in outbound(services) if m.status == "sent"])[0]
    assert reply.provider == "voximplant"
    assert reply.provider_message_id == str(fake.history[0]["message_id"])
    assert reply.rule_id == "order-status"
    assert history(services, reply.id) == ["queued", "sending", "sent"]
    assert not fake.errors


def test_transient_failure_is_retried_then_sent(voximplant_live):
    url, services, fake = voximplant_live
    fake.fail_next(n=1, status=503)
    fake.error_next(code=14, msg="SMS gateway error", status=200, n=1)
    post_callback(url, sms_callback(102, "hours"))
    reply = wait_until(lambda: [m for m in outbound(services) if m.status == "sent"])[0]
    assert reply.attempts == 3
    assert history(services, reply.id) == [
        "queued",
        "sending",
        "errored",
        "sending",
        "errored",
        "sending",
        "sent",
    ]
    assert len([r for r in fake.requests if r.method == "SendSmsMessage"]) == 3


def test_permanent_failure_is_recorded_with_code_and_text(voximplant_live):
    url, services, fake = voximplant_live
    fake.error_next(code=386, msg="SMS disabled for number", status=200, n=1)
    post_callback(url, sms_callback(103, "hours"))
    reply = wait_until(lambda: [m for m in outbound(services) if m.status == "failed"])[0]
    assert reply.error_code == "386"
    assert reply.error_text == "SendSmsMessage: SMS disabled for number"
    assert len(fake.requests) == 1


def test_timeout_is_retried(voximplant_live):
    url, services, fake = voximplant_live
    fake.stall_next(2.0, n=1)
    post_callback(url, sms_callback(104, "hours"))
    reply = wait_until(lambda: [m for m in outbound(services) if m.status == "sent"], timeout=15)[0]
    assert reply.attempts == 2


def test_callback_answer_does_not_wait_for_the_provider(voximplant_live):
    url, _services, fake = voximplant_live
    fake.stall_next(3.0, n=1)
    first = post_callback(url, sms_callback(105, "hours"))
    assert first.status_code == 200
    wait_until(lambda: fake.requests)  # the sender is now stuck on the stalled request
    second = post_callback(url, sms_callback(106, "order 9"))
    assert second.elapsed.total_seconds() < 2.5
    assert second.json()["accepted"] == 1


def test_several_people_are_sent_to_at_once_and_each_in_order(voximplant_live):
    url, services, fake = voximplant_live
    others = ["447700900101", "447700900102", "447700900103"]
    fake.answer_late_next(0.4, n=6)
    elements = [sms_callback(400 + n, f"order {n}") for n in (1, 2, 3)]
    elements += [sms_callback(410 + i, "order 7", source=other) for i, other in enumerate(others)]
    assert post_callback(url, *elements).status_code == 200
    # Answers are held, so two requests open at once can only mean concurrent sends.
    wait_until(lambda: fake.in_flight >= 2, timeout=10)
    wait_until(lambda: len(fake.sent) == 6, timeout=20)
    to_them = [r.params["sms_body"] for r in fake.sent if r.params["destination"] == THEIRS]
    assert to_them == [f"Order {n} is on its way, {THEIRS}." for n in (1, 2, 3)]
    assert sorted(r.params["destination"] for r in fake.sent) == sorted([THEIRS] * 3 + others)
    wait_until(lambda: all(m.status == "sent" for m in outbound(services)) and outbound(services))
