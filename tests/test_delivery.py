"""Durable delivery: retry by error class, shared pauses, pacing, uncertain attempts, wake-ups."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from responder import create_app
from responder.config import Config
from responder.sender import Sender
from responder.services import Services
from responder.store.pacing import pause_all
from responder.store.tables import messages, outbox
from tests.fakes.voximplant_api import FakeVoximplant
from tests.processes import config_env, responder
from tests.support import (
    THEIRS,
    Served,
    events_of,
    outbound_messages,
    sms_callback,
    voximplant_config,
    wait_until,
)


class Live(Served):
    """The service on loopback, sending to the fake API; `start(**config changes)` once."""

    def __init__(self, config: Config, fake_api: FakeVoximplant) -> None:
        super().__init__()
        self.config = config
        self.fake_api = fake_api

    def start(self, *, start_sender: bool = True, **changes: object) -> Services:
        changes = {"send_timeout_s": 1.0, **changes}
        config = voximplant_config(self.config, self.fake_api.url, **changes)
        return self.serve(config, start_sender=start_sender)

    def replies(self) -> list:
        assert self.services is not None
        return outbound_messages(self.services.engine)

    def events(self, message_id: int) -> list[tuple[str, str | None]]:
        assert self.services is not None
        return events_of(self.services.engine, message_id)


@pytest.fixture
def live(config, fake_api) -> Iterator[Live]:
    service = Live(config, fake_api)
    yield service
    service.close()


def sent_replies(live: Live) -> list:
    return [m for m in live.replies() if m.status == "sent"]


def send_requests(fake_api: FakeVoximplant) -> list:
    return [r for r in fake_api.requests if r.method == "SendSmsMessage"]


@pytest.mark.parametrize(
    ("script", "code"),
    [
        pytest.param({"code": 340, "msg": "Rate limit exceeded"}, "340", id="code-340"),
        pytest.param({"status": 429}, None, id="http-429"),
    ],
)
def test_rate_limit_pauses_sending_and_does_not_count_as_an_attempt(live, fake_api, script, code):
    live.start()
    if "code" in script:
        fake_api.error_next(script["code"], script["msg"])
    else:
        fake_api.fail_next(status=script["status"], body="Too Many Requests")
    live.post(sms_callback(201, "hours"))
    reply = wait_until(lambda: sent_replies(live))[0]
    assert reply.attempts == 1
    statuses = [status for status, _ in live.events(reply.id)]
    assert statuses == ["queued", "sending", "errored", "sending", "sent"]
    errored = dict(live.events(reply.id))["errored"]
    assert "rate" in errored.lower() or "429" in errored
    assert len(send_requests(fake_api)) == 2


def test_insufficient_funds_holds_the_whole_queue_and_raises_an_alert(live, fake_api):
    services = live.start(funds_hold_s=1.0)
    fake_api.error_next(127, "Insufficient funds")
    live.post(sms_callback(211, "hours"))
    first = wait_until(lambda: [m for m in live.replies() if m.status == "errored"])[0]
    assert first.error_code == "127"
    # Queued while the hold lasts: it waits too, and nothing reaches the gateway meanwhile.
    live.post(sms_callback(212, "order 7"))
    metrics = requests.get(f"{live.url}/metrics", timeout=10).text
    assert 'responder_sender_alerts_total{reason="insufficient_funds"} 1.0' in metrics
    assert 'responder_sending_paused_seconds{reason="insufficient_funds"}' in metrics
    assert len(send_requests(fake_api)) == 1
    both = wait_until(lambda: len(sent_replies(live)) == 2 and sent_replies(live), timeout=15)
    assert [m.attempts for m in both] == [1, 1]  # holding is not the message's fault
    assert services.sender is not None


def test_a_refused_token_is_renewed_and_the_message_still_goes(live, fake_api):
    live.start()
    fake_api.error_next(456, "Token expired", n=2)
    live.post(sms_callback(215, "hours"))
    reply = wait_until(lambda: sent_replies(live))[0]
    # Refused, refused again at once with a new token, then sent on the next try.
    assert len(send_requests(fake_api)) == 3
    assert reply.attempts == 2
    assert [s for s, _ in live.events(reply.id)] == [
        "queued",
        "sending",
        "errored",
        "sending",
        "sent",
    ]


def test_permanent_error_fails_at_once_with_code_and_text(live, fake_api):
    live.start()
    fake_api.error_next(121, "Invalid phone number")
    live.post(sms_callback(221, "hours"))
    reply = wait_until(lambda: [m for m in live.replies() if m.status == "failed"])[0]
    assert (reply.error_code, reply.error_text) == ("121", "SendSmsMessage: Invalid phone number")
    assert live.events(reply.id)[-1] == (
        "failed",
        "rejected_by_provider: SendSmsMessage: Invalid phone number",
    )
    assert len(send_requests(fake_api)) == 1


def test_max_attempts_then_the_message_fails_with_retry_limit(live, fake_api):
    live.start(max_attempts=3)
    fake_api.fail_next(n=3, status=500, body="oops")
    live.post(sms_callback(231, "hours"))
    reply = wait_until(lambda: [m for m in live.replies() if m.status == "failed"])[0]
    assert reply.error_code == "retry_limit"
    assert reply.attempts == 3
    assert len(send_requests(fake_api)) == 3


def test_a_reply_older_than_max_age_is_not_sent(live, fake_api):
    services = live.start(start_sender=False, max_age_s=3600)
    live.post(sms_callback(241, "hours"))
    later = services.clock() + timedelta(hours=2)
    services.clock = lambda: later
    Sender(services).run_once()
    reply = live.replies()[0]
    assert (reply.status, reply.error_code) == ("failed", "too_old")
    assert reply.attempts == 0
    assert send_requests(fake_api) == []


def test_an_answer_lost_after_processing_is_found_in_history_not_sent_twice(live, fake_api):
    live.start()
    fake_api.drop_next(processed=True, method="SendSmsMessage")
    live.post(sms_callback(251, "hours"))
    reply = wait_until(lambda: sent_replies(live))[0]
    assert len(fake_api.sent) == 1  # the gateway acted once
    assert reply.provider_message_id == str(fake_api.history[0]["message_id"])
    assert "found in the provider's history" in live.events(reply.id)[-1][1]
    methods = [r.method for r in fake_api.requests]
    assert methods == ["SendSmsMessage", "GetSmsHistory"]


def test_an_answer_lost_before_processing_is_sent_again_after_checking(live, fake_api):
    live.start()
    fake_api.drop_next(processed=False, method="SendSmsMessage")
    live.post(sms_callback(252, "hours"))
    reply = wait_until(lambda: sent_replies(live))[0]
    assert len(fake_api.sent) == 1
    assert reply.attempts == 2
    assert [r.method for r in fake_api.requests] == [
        "SendSmsMessage",
        "GetSmsHistory",
        "SendSmsMessage",
    ]


def test_a_crashed_senders_claim_is_taken_back_after_its_lease(live, fake_api):
    services = live.start(start_sender=False)
    live.post(sms_callback(261, "hours"))
    now = services.clock()
    from responder.store.outbox import claim_due

    # A sender claims the row and dies without a word (as under SIGKILL).
    assert len(claim_due(services.engine, "dead:1:1", now, lease_s=60)) == 1
    assert claim_due(services.engine, "other:2:2", now + timedelta(seconds=30)) == []
    later = now + timedelta(seconds=61)
    services.clock = lambda: later
    Sender(services, name="other:2:2").run_once()
    reply = sent_replies(live)[0]
    details = [d for s, d in live.events(reply.id) if s == "sending"]
    assert details == [
        "attempt 1 by dead:1:1",
        "attempt 1 by other:2:2; taken back from a sender whose lease ran out",
    ]
    # Its fate was unknown, so the history was read first; it held nothing, so it went out.
    assert [r.method for r in fake_api.requests] == ["GetSmsHistory", "SendSmsMessage"]


def test_stop_finishes_the_send_in_flight_and_hands_back_the_rest(live, fake_api):
    services = live.start(start_sender=False)
    live.post(sms_callback(271, "hours"), sms_callback(272, "order 1"), sms_callback(273, "open"))
    fake_api.stall_next(0.5, method="SendSmsMessage")
    sender = Sender(services)
    runner = threading.Thread(target=sender.run_once)
    runner.start()
    wait_until(lambda: fake_api.requests)
    sender.stop(timeout=0)
    runner.join(10)
    replies = live.replies()
    assert [m.status for m in replies] == ["sent", "queued", "queued"]
    assert live.events(replies[1].id)[-1] == ("queued", "handed back unsent: the sender stopped")
    with services.engine.connect() as conn:
        leases = conn.execute(select(outbox.c.lease_owner)).scalars().all()
    assert leases == [None, None]


def test_rate_limit_per_number_spaces_the_sends(live, fake_api):
    live.start(rate_limit=5.0)
    # Four people at once (one person texting four times would trip the loop breaker).
    live.post(*(sms_callback(280 + i, "hours", source=f"4474433322{30 + i}") for i in range(4)))
    wait_until(lambda: len(sent_replies(live)) == 4)
    times = sorted(r.at for r in send_requests(fake_api))
    # Slots 0.2 s apart; the first send may start a little after its slot (signing a token).
    assert times[-1] - times[0] >= 0.45


def test_delivery_states_are_polled_from_the_sms_history(live, fake_api):
    live.start(status_poll_s=0.2)
    live.post(sms_callback(291, "hours"), sms_callback(292, "order 5"))
    wait_until(lambda: len(fake_api.history) == 2)
    fake_api.history[1]["status_id"] = 2
    fake_api.history[1]["error_message"] = "Absent subscriber"
    wait_until(lambda: {m.status for m in live.replies()} == {"delivered", "failed"})
    delivered, failed = live.replies()
    assert live.events(delivered.id)[-1] == ("delivered", "GetSmsHistory status_id 1")
    assert (failed.error_code, failed.error_text) == ("undelivered", "Absent subscriber")


def test_a_sender_in_another_process_is_woken_by_notify(live, fake_api, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite senders poll")
    live.start(start_sender=False)
    # A second app with its own engine and wake-up event: as good as another process.
    other = create_app(
        voximplant_config(live.config, fake_api.url, send_timeout_s=1.0), start_sender=False
    )
    services: Services = other.extensions["responder"]
    sender = Sender(services, idle_poll_s=120)
    sender.start()
    try:
        wait_until(lambda: sender._listener is not None and sender._listener.is_alive())
        live.post(sms_callback(295, "hours"))
        wait_until(lambda: sent_replies(live), timeout=20)
    finally:
        sender.stop()
        services.engine.dispose()


def test_without_stored_bodies_only_metadata_remains(live, fake_api):
    live.start(store_bodies=False)
    live.post(sms_callback(301, "order 42"))
    reply = wait_until(lambda: sent_replies(live))[0]
    assert fake_api.sent[0].params["sms_body"] == f"Order 42 is on its way, {THEIRS}."
    with live.services.engine.connect() as conn:
        rows = conn.execute(select(messages).order_by(messages.c.id)).all()
    assert [(m.direction, m.text, m.status) for m in rows] == [
        ("in", None, "handled"),
        ("out", None, "sent"),
    ]
    assert rows[1].rule_id == "order-status"
    assert reply.provider_message_id == str(fake_api.history[0]["message_id"])


def test_sender_status_shows_the_queue_and_a_pause_which_resume_lifts(live, fake_api):
    services = live.start(start_sender=False)
    live.post(sms_callback(311, "hours"))
    pause_all(services.engine, services.clock(), "insufficient funds: 127", base_s=600, max_s=900)
    env = config_env(live.config)

    def run(*args: str) -> str:
        done = responder(env, "sender", *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    lines = run("status").splitlines()
    assert lines[0] == "outbox: 1 waiting, 1 due now, 0 being sent"
    assert lines[1].startswith("oldest: queued ")
    assert lines[2].startswith("PAUSED for 9 min more: insufficient funds: 127")
    assert run("resume") == "sending resumed (it was paused: insufficient funds: 127)\n"
    assert "PAUSED" not in run("status")
    assert run("resume") == "sending is not paused\n"
