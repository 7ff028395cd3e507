"""Queue mode (RESPONDER_INTAKE=queue): a callback is answered once it is in the inbox.

The answer waits for one short write; the rules, the thread and the reply come right after, in
the sender's process. Nothing answered is lost when no sender runs, a redelivery is a
duplicate from the first answer on, and a callback that cannot be processed is parked (with its
error) without holding up the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import OperationalError

from responder.config import Config
from responder.inbox import process_inbox
from responder.services import Services
from responder.store.inbox import MAX_ATTEMPTS, gather
from responder.store.tables import inbox, messages, seen_callbacks
from tests.processes import config_env, responder, sender_worker
from tests.support import (
    THEIRS,
    Served,
    invoke_cli,
    outbound_messages,
    sms_callback,
    voximplant_config,
    wait_until,
)


class Site(Served):
    """The app in queue mode on loopback; with or without its sender (and so its inbox loop)."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config.with_changes(intake_mode="queue")

    def start(self, *, start_sender: bool = True, **changes: object) -> Services:
        return self.serve(self.config.with_changes(**changes), start_sender=start_sender)

    def count(self, table, *where) -> int:
        assert self.services is not None
        engine = self.services.inbox if table is inbox else self.services.engine
        if table is inbox:
            gather(engine)  # on SQLite, answered callbacks wait in the journal until moved
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    def inbound(self) -> list:
        assert self.services is not None
        with self.services.engine.connect() as conn:
            return list(
                conn.execute(
                    select(messages).where(messages.c.direction == "in").order_by(messages.c.id)
                )
            )


@pytest.fixture
def site(config: Config) -> Iterator[Site]:
    found = Site(config)
    yield found
    found.close()


def test_a_callback_is_answered_from_the_inbox_then_stored_and_replied_to(site, fake_api):
    site.config = voximplant_config(site.config, fake_api.url)
    site.start()
    answer = site.post(sms_callback(501, "hours"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 1
    assert body["queued"] is True
    assert "message_ids" not in body["results"][0]  # not processed yet when answered

    sent = wait_until(lambda: [r for r in fake_api.requests if r.method == "SendSmsMessage"])
    assert sent[0].params["sms_body"] == "We are open 9:00-17:00, Monday to Friday."
    (message,) = site.inbound()
    assert (message.callback_id, message.text, message.rule_id) == (501, "hours", "hours")
    assert message.status == "handled"
    assert site.count(inbox) == 0
    with site.services.engine.connect() as conn:
        linked = conn.execute(select(seen_callbacks.c.message_id)).scalar_one()
    assert linked == message.id
    if site.services.engine.dialect.name == "sqlite":  # answering never waits for its lock
        assert site.services.inbox is not site.services.engine
        assert (site.config.data_dir / "responder-inbox.db").is_file()


def test_answered_callbacks_wait_for_a_sender_and_are_stored_once(site, config):
    site.start(start_sender=False)  # the web process only, as with RESPONDER_SENDER=off
    first = site.post(sms_callback(601, "hours"), sms_callback(602, "order 42"))
    assert first.json()["accepted"] == 2
    again = site.post(sms_callback(602, "order 42"))
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 1)
    assert site.count(inbox) == 2
    assert site.inbound() == []

    env = config_env(site.config, RESPONDER_INTAKE="queue", RESPONDER_SENDER="off")
    status = responder(env, "callbacks", "inbox")
    assert status.returncode == 0, status.stderr
    assert "inbox: 2 waiting, 0 parked" in status.stdout
    assert re.search(r"^oldest: received \d s ago$", status.stdout, re.MULTILINE), status.stdout

    with sender_worker(env):  # the Procfile's worker processes what the web answered
        wait_until(lambda: len(site.inbound()) == 2 and site.count(inbox) == 0, timeout=20)
    texts = [(m.callback_id, m.text) for m in site.inbound()]
    assert texts == [(601, "hours"), (602, "order 42")]
    replies = wait_until(lambda: outbound_messages(site.services.engine))
    assert {r.text for r in replies} == {
        "We are open 9:00-17:00, Monday to Friday.",
        f"Order 42 is on its way, {THEIRS}.",
    }
    # Delivered again after it was processed: answered, and dropped by the seen-callback key.
    assert site.post(sms_callback(601, "hours")).status_code == 200
    with sender_worker(env):
        wait_until(lambda: site.count(inbox) == 0, timeout=20)
    assert [m.callback_id for m in site.inbound()] == [601, 602]


def test_replies_of_one_person_keep_the_order_of_their_messages(site):
    services = site.start(start_sender=False)
    for n in range(1, 4):
        site.post(sms_callback(700 + n, f"order {n}"))
    while process_inbox(services, limit=2):  # across two transactions
        pass
    replies = [r.text for r in outbound_messages(services.engine)]
    assert replies == [f"Order {n} is on its way, {THEIRS}." for n in range(1, 4)]


def test_a_callback_that_fails_is_parked_with_its_error_and_the_rest_go_on(site, config):
    services = site.start(start_sender=False)
    clock = [services.clock()]
    services.clock = lambda: clock[0]
    site.post(sms_callback(801, "hours"))
    site.post(sms_callback(802, "order 7"))
    assert site.count(inbox) == 2
    with services.inbox.begin() as conn:  # damaged on disk: no message can be read from it
        conn.execute(update(inbox).where(inbox.c.callback_id == 801).values(payload="[]"))

    assert process_inbox(services) == 2
    assert [m.callback_id for m in site.inbound()] == [802]  # not held up by the bad one
    for _ in range(MAX_ATTEMPTS - 1):
        assert process_inbox(services) == 0  # not due yet: it waits 1, 2, 4 ... s
        clock[0] += timedelta(seconds=61)
        assert process_inbox(services) == 1
    clock[0] += timedelta(seconds=61)
    assert process_inbox(services) == 0  # parked
    with services.inbox.connect() as conn:
        attempts, error = conn.execute(select(inbox.c.attempts, inbox.c.last_error)).one()
    assert attempts == MAX_ATTEMPTS
    assert error == "ValueError: the queued callback holds no message"

    metrics = requests.get(f"{site.url}/metrics", timeout=10).text
    assert "responder_inbox_depth 1.0" in metrics
    assert "responder_inbox_parked 1.0" in metrics
    shown = invoke_cli(services.config, "callbacks", "inbox")
    assert "inbox: 1 waiting, 1 parked" in shown.output
    assert f"callback 801 of account 1234567, failed {MAX_ATTEMPTS} times" in shown.output
    assert "holds no message" in shown.output
    retried = invoke_cli(services.config, "callbacks", "inbox", "--retry")
    assert "1 parked callback(s) will be tried again" in retried.output
    assert process_inbox(services) == 1
    assert site.count(inbox, inbox.c.attempts == 1) == 1


def test_a_refused_callback_is_answered_at_once_and_never_queued(site):
    site.start(start_sender=False)
    forged = sms_callback(901, "hours", salt="not-the-salt")
    answer = site.post(forged)
    assert answer.status_code == 403
    assert "security hash" in answer.json()["error"]
    assert site.count(inbox) == 0
    broken = requests.post(f"{site.url}/voximplant/callback", data=b"{", timeout=10)
    assert broken.status_code == 400
    assert "not valid JSON" in broken.json()["error"]
    assert site.count(inbox) == 0


def test_callbacks_answered_at_the_same_time_are_each_kept_once(site):
    """Answers given together share the inbox's writes; each callback is still kept once."""
    site.start(start_sender=False)
    # 24 requests at once: 16 callbacks of their own, and one callback delivered 8 times.
    elements = [sms_callback(1000 + n, f"order {n}") for n in range(16)]
    elements += [sms_callback(2000, "hours")] * 8
    with ThreadPoolExecutor(max_workers=len(elements)) as pool:
        answers = list(pool.map(site.post, elements))
    assert [a.status_code for a in answers] == [200] * len(elements)
    assert sum(a.json()["accepted"] for a in answers[:16]) == 16
    repeated = [(a.json()["accepted"], a.json()["duplicates"]) for a in answers[16:]]
    assert sorted(repeated) == [(0, 1)] * 7 + [(1, 0)]
    assert site.count(inbox) == 17


def test_a_batch_of_hundreds_of_callbacks_is_kept_whole(site):
    site.start(start_sender=False)
    elements = [sms_callback(3000 + n, f"order {n}") for n in range(450)]
    elements.insert(300, sms_callback(3000, "order 0"))  # the same callback twice in one batch
    answer = site.post(*elements)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["duplicates"]) == (450, 1)
    assert body["results"][300]["outcome"] == "duplicate"
    assert site.count(inbox) == 450


def test_an_inbox_that_cannot_be_written_answers_503_and_keeps_nothing(site):
    services = site.start(start_sender=False)
    if services.engine.dialect.name == "sqlite":
        # A file where the journal's directory belongs, as on a damaged disk.
        blocker = site.config.data_dir / "responder-inbox.journal"
        blocker.write_text("")
        mend = blocker.unlink
    else:
        with services.inbox.begin() as conn:  # the inbox table is gone, as on a damaged disk
            conn.execute(text("ALTER TABLE inbox RENAME TO inbox_away"))

        def mend() -> None:
            with services.inbox.begin() as conn:
                conn.execute(text("ALTER TABLE inbox_away RENAME TO inbox"))

    answer = site.post(sms_callback(4001, "hours"))
    assert answer.status_code == 503  # Voximplant delivers it again later
    assert answer.json() == {"error": "storage unavailable, retry later"}
    mend()
    assert site.count(inbox) == 0
    again = site.post(sms_callback(4001, "hours"))
    assert (again.status_code, again.json()["accepted"]) == (200, 1)
    assert site.count(inbox) == 1


def test_callbacks_of_a_transaction_that_failed_are_handed_back_at_once(site):
    services = site.start(start_sender=False)
    site.post(sms_callback(5001, "hours"), sms_callback(5002, "order 5"))
    database = services.engine
    services.inbox_engine = services.inbox  # the inbox stays where it is; the database is gone
    services.engine = create_engine(f"sqlite:///{site.config.data_dir / 'gone' / 'x.db'}")
    with pytest.raises(OperationalError):
        process_inbox(services)
    services.engine.dispose()
    services.engine = database
    # Not leased for RESPONDER_SEND_LEASE, and no attempt counted against them.
    assert site.count(inbox, inbox.c.lease_until.is_(None), inbox.c.attempts == 0) == 2
    while process_inbox(services):
        pass
    assert [m.callback_id for m in site.inbound()] == [5001, 5002]
