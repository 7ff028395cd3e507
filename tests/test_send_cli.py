"""`responder send`: one message through compliance, the outbox and the routed provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from click.testing import Result
from sqlalchemy import select

from responder import create_app
from responder.compliance.optout import Keyword, change_consent
from responder.config import Config
from responder.store.db import make_engine
from responder.store.tables import messages, outbox, threads
from tests.fakes.alphasms import FakeAlphaSms
from tests.fakes.keys import KEY_ID, key_pair
from tests.fakes.voximplant_api import FakeVoximplant
from tests.support import (
    ACCOUNT_ID,
    OUR,
    THEIRS,
    invoke_cli,
    routed_config,
    without_quiet_hours,
)

UKRAINE = "380501234567"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeVoximplant, FakeAlphaSms]]:
    with (
        FakeVoximplant(key_pair().public_pem, ACCOUNT_ID, KEY_ID) as voximplant,
        FakeAlphaSms() as alpha,
    ):
        voximplant.add_number(OUR)
        yield voximplant, alpha


@pytest.fixture
def send_config(config: Config, fakes) -> Config:
    voximplant, alpha = fakes
    # Quiet hours have their own tests; here a message must go whatever the time of day.
    return without_quiet_hours(routed_config(config, voximplant.url, alpha, retry_delays_s=(0.05,)))


def send(config: Config, *args: str, now: datetime | None = None) -> Result:
    return invoke_cli(config, "send", *args, now=now)


def outbound(config: Config) -> list:
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(threads.c.our_number, threads.c.their_number, messages)
                .join(threads, threads.c.id == messages.c.thread_id)
                .where(messages.c.direction == "out")
                .order_by(messages.c.id)
            ).all()
    finally:
        engine.dispose()


def test_send_queues_and_sends_one_message(send_config, fakes):
    voximplant, alpha = fakes

    result = send(send_config, "--from", "+" + OUR, "--to", "+44 7443 332212", "Your bike is ready")

    assert result.exit_code == 0, result.output
    [row] = outbound(send_config)
    assert (row.our_number, row.their_number, row.kind, row.status) == (
        OUR,
        THEIRS,
        "manual",
        "sent",
    )
    assert f"message {row.id}: sent via voximplant (id {row.provider_message_id})" in result.output
    [request] = voximplant.sent
    assert request.params["source"] == OUR
    assert request.params["destination"] == THEIRS
    assert request.params["sms_body"] == "Your bike is ready"
    assert alpha.sent == []


def test_send_to_a_routed_prefix_leaves_through_alphasms(send_config, fakes):
    voximplant, alpha = fakes

    result = send(send_config, "--from", OUR, "--to", UKRAINE, "Ваш велосипед готовий")

    assert result.exit_code == 0, result.output
    assert [(m.sender, m.to, m.message) for m in alpha.sent] == [
        ("Shop", UKRAINE, "Ваш велосипед готовий")
    ]
    assert voximplant.sent == []
    [row] = outbound(send_config)
    assert (row.provider, row.provider_message_id) == ("alphasms", alpha.sent[0].id)


def test_an_opted_out_number_gets_nothing(send_config, fakes):
    voximplant, _alpha = fakes
    app = create_app(send_config, start_sender=False)
    services = app.extensions["responder"]
    with services.engine.begin() as conn:
        change_consent(
            conn, send_config.compliance, Keyword.OPT_OUT, OUR, THEIRS, "STOP", services.clock()
        )
    services.engine.dispose()

    result = send(send_config, "--from", OUR, "--to", THEIRS, "Hello again")

    assert result.exit_code == 1
    assert f"Error: {THEIRS} has opted out of messages from {OUR}" in result.output
    assert outbound(send_config) == []
    assert voximplant.requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--from", OUR, "--to", "12345", "hi"], "not a valid", id="bad-to"),
        pytest.param(
            ["--from", "abc", "--to", THEIRS, "hi"], "is not a phone number", id="bad-from"
        ),
        pytest.param(["--from", OUR, "--to", THEIRS, "   "], "cannot send this text", id="empty"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_queued(send_config, fakes, args, message):
    result = send(send_config, *args)

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert outbound(send_config) == []


def test_a_refused_message_fails_with_the_providers_reason(send_config, fakes):
    voximplant, _alpha = fakes
    voximplant.find_number(OUR)["is_sms_enabled"] = False

    result = send(send_config, "--from", OUR, "--to", THEIRS, "Hello")

    assert result.exit_code == 1
    [row] = outbound(send_config)
    assert row.status == "failed"
    assert f"message {row.id}: failed: SendSmsMessage: SMS is disabled for the number" in (
        result.output
    )
    assert "1 of 1 message(s) failed" in result.output


def test_wait_0_only_queues_for_the_running_sender(send_config, fakes):
    voximplant, _alpha = fakes

    result = send(send_config, "--from", OUR, "--to", THEIRS, "--wait", "0", "Later")

    assert result.exit_code == 0, result.output
    [row] = outbound(send_config)
    assert row.status == "queued"
    assert result.output == f"queued 1 message(s): {row.id}\n"
    engine = make_engine(send_config.database_url)
    with engine.connect() as conn:
        assert conn.execute(select(outbox.c.message_id)).scalars().all() == [row.id]
    engine.dispose()
    assert voximplant.requests == []


def test_in_quiet_hours_the_message_is_held_not_sent(send_config, fakes):
    voximplant, _alpha = fakes
    quiet = replace(send_config.compliance.quiet, enabled=True)
    config = send_config.with_changes(compliance=replace(send_config.compliance, quiet=quiet))
    late = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)

    result = send(config, "--from", OUR, "--to", THEIRS, "Your bike is ready", now=late)

    assert result.exit_code == 0, result.output
    [row] = outbound(config)
    assert row.status == "held"
    assert f"message {row.id}: held" in result.output
    assert voximplant.requests == []
