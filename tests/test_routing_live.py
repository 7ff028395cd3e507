"""Routing end to end: replies to 380... leave through AlphaSMS, the rest through Voximplant."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from responder import create_app
from responder.cli import cli
from responder.services import Services
from responder.store.tables import messages
from tests.fakes.alphasms import FakeAlphaSms
from tests.fakes.keys import KEY_ID, key_pair
from tests.fakes.voximplant_api import FakeVoximplant
from tests.support import (
    ACCOUNT_ID,
    OUR,
    batch,
    routed_config,
    serve,
    sms_callback,
    wait_until,
)

UKRAINE = "380501234567"
BRITAIN = "447911123456"


Routed = tuple[str, Services, FakeVoximplant, FakeAlphaSms]


@contextmanager
def serve_routed(config, layout: str = "lines", **changes) -> Iterator[Routed]:
    """The app with Voximplant as default and to:380=alphasms, both fakes on loopback."""
    with (
        FakeVoximplant(key_pair().public_pem, ACCOUNT_ID, KEY_ID) as voximplant,
        FakeAlphaSms(layout=layout) as alpha,
    ):
        app = create_app(routed_config(config, voximplant.url, alpha, **changes))
        services: Services = app.extensions["responder"]
        with serve(app) as url:
            yield url, services, voximplant, alpha
        if services.sender is not None:
            services.sender.stop()
        services.engine.dispose()


@pytest.fixture(params=["lines", "one_line"])
def routed(config, request) -> Iterator[Routed]:
    with serve_routed(config, request.param) as found:
        yield found


def sent_replies(services: Services) -> list:
    with services.engine.connect() as conn:
        return conn.execute(
            select(messages)
            .where(messages.c.direction == "out")
            .where(messages.c.status.in_(["sent", "delivered", "failed"]))
            .order_by(messages.c.id)
        ).all()


def test_each_reply_leaves_through_its_routed_provider(routed):
    url, services, voximplant, alpha = routed
    body = batch(
        sms_callback(201, "hours", source=UKRAINE), sms_callback(202, "hours", source=BRITAIN)
    )
    assert requests.post(f"{url}/voximplant/callback", data=body, timeout=10).status_code == 200

    replies = wait_until(lambda: (r := sent_replies(services)) and len(r) == 2 and r)

    assert [(m.sender, m.to) for m in alpha.sent] == [("Shop", UKRAINE)]
    assert [(r.params["source"], r.params["destination"]) for r in voximplant.sent] == [
        (OUR, BRITAIN)
    ]
    by_provider = {r.provider: r for r in replies}
    assert by_provider["alphasms"].provider_message_id == alpha.sent[0].id
    voximplant_id = str(voximplant.history[0]["message_id"])
    assert by_provider["voximplant"].provider_message_id == voximplant_id


def test_alphasms_delivery_codes_update_sent_messages(routed):
    url, services, _voximplant, alpha = routed
    body = batch(
        sms_callback(301, "hours", source=UKRAINE),
        sms_callback(302, "hours", source="380671234567"),
        sms_callback(303, "hours", source="380631234567"),
    )
    requests.post(f"{url}/voximplant/callback", data=body, timeout=10)
    wait_until(lambda: len(sent_replies(services)) == 3)
    first, second, third = (m.id for m in alpha.sent)
    alpha.statuses.update({first: 3, second: 99, third: 2})

    app = create_app(services.config, start_sender=False)
    result = CliRunner().invoke(cli, ["alphasms", "status"], obj=_script_info(app))

    assert result.exit_code == 0, result.output
    assert "checked 3: 1 delivered, 1 failed, 1 still on their way" in result.output
    statuses = {r.provider_message_id: (r.status, r.error_code) for r in sent_replies(services)}
    assert statuses == {first: ("delivered", None), second: ("failed", "99"), third: ("sent", None)}
    assert alpha.commands().count("receive") == 3


def test_the_sender_polls_alphasms_delivery_codes_when_status_polling_is_on(config):
    with serve_routed(config, status_poll_s=0.2) as (url, services, voximplant, alpha):
        body = batch(
            sms_callback(351, "hours", source=UKRAINE),
            sms_callback(352, "hours", source="380671234567"),
            sms_callback(353, "hours", source=BRITAIN),
        )
        requests.post(f"{url}/voximplant/callback", data=body, timeout=10)
        wait_until(lambda: len(alpha.sent) == 2 and len(voximplant.sent) == 1)
        first, second = (m.id for m in alpha.sent)
        alpha.statuses.update({first: 3, second: 99})

        # No operator runs `responder alphasms status`: the sender's own poll finds the codes.
        wait_until(
            lambda: {r.status for r in sent_replies(services)} == {"delivered", "failed"},
            timeout=20,
        )
        statuses = {
            r.provider_message_id: (r.provider, r.status, r.error_code)
            for r in sent_replies(services)
            if r.provider == "alphasms"
        }
        assert statuses == {
            first: ("alphasms", "delivered", None),
            second: ("alphasms", "failed", "99"),
        }
        # The Voximplant reply is still polled through its history, in the same turn.
        assert [r.status for r in sent_replies(services) if r.provider == "voximplant"] == [
            "delivered"
        ]
        assert "receive" in alpha.commands()


def test_alphasms_send_without_an_answer_is_never_resent(routed):
    url, services, voximplant, alpha = routed
    alpha.drop_next()  # the gateway takes the message, then the connection breaks

    requests.post(
        f"{url}/voximplant/callback",
        data=batch(sms_callback(401, "hours", source=UKRAINE)),
        timeout=10,
    )

    [reply] = wait_until(lambda: [r for r in sent_replies(services) if r.status == "failed"])
    assert reply.error_code == "unknown"
    assert "may have been sent" in reply.error_text
    assert len(alpha.sent) == 1
    assert alpha.commands() == ["send"]
    assert voximplant.sent == []


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)
