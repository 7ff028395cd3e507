"""Request ids: a sane X-Request-Id is kept, anything else replaced, and stored with messages."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from responder.store.tables import messages
from tests.support import post_callback, sms_callback, wait_until


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        pytest.param("3f1c9a7e-5b2d-4e8f-9a0b-1c2d3e4f5a6b", True, id="uuid"),
        pytest.param("edge:router/42@eu+1=a.b_c", True, id="punctuation"),
        pytest.param("x" * 64, True, id="64-characters"),
        pytest.param("x" * 65, False, id="too-long"),
        pytest.param('bad id"; drop', False, id="spaces-and-quotes"),
        pytest.param("-leading-dash", False, id="leading-dash"),
        pytest.param(None, False, id="none"),
    ],
)
def test_request_id_is_kept_only_when_sane(live, given, kept):
    url, _services = live
    headers = {"X-Request-Id": given} if given is not None else {}
    answer = requests.get(f"{url}/healthz", headers=headers, timeout=10)
    returned = answer.headers["X-Request-Id"]
    if kept:
        assert returned == given
    else:
        assert returned != given
        assert len(returned) == 32
        assert int(returned, 16) >= 0


def test_callback_request_id_is_stored_with_its_message_and_reply(live):
    url, services = live
    answer = post_callback(url, sms_callback(41, "hours"), headers={"X-Request-Id": "trace-41"})
    assert answer.status_code == 200

    def stored() -> list:
        with services.engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.direction, messages.c.status, messages.c.request_id).order_by(
                    messages.c.id
                )
            ).all()
        return rows if rows and rows[-1].status == "sent" else []

    rows = wait_until(stored)
    assert [(r.direction, r.request_id) for r in rows] == [("in", "trace-41"), ("out", "trace-41")]
    # A request without an id of its own gets one, and its messages carry it.
    other = post_callback(url, sms_callback(42, "open?"))
    with services.engine.connect() as conn:
        latest = conn.execute(
            select(messages.c.request_id)
            .where(messages.c.direction == "in")
            .order_by(messages.c.id.desc())
        ).scalar()
    assert latest == other.headers["X-Request-Id"]
