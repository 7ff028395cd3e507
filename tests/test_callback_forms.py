"""Forms of the callback that the documentation leaves open: each is accepted and answered."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from responder.store.tables import messages, threads
from tests.support import OUR, THEIRS, batch, sms_callback, wait_until


def _post(url: str, body: bytes, content_type: str | None) -> requests.Response:
    headers = {} if content_type is None else {"Content-Type": content_type}
    return requests.post(f"{url}/voximplant/callback", data=body, headers=headers, timeout=10)


def _thread_numbers(services) -> list[tuple[str, str]]:
    with services.engine.connect() as conn:
        rows = conn.execute(select(threads.c.our_number, threads.c.their_number)).all()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        None,
    ],
)
def test_body_is_read_as_json_whatever_the_content_type(live, content_type):
    url, _services = live
    response = _post(url, batch(sms_callback(301, "hours")), content_type)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("source", "destination"),
    [
        pytest.param(THEIRS, OUR, id="digits"),
        pytest.param(f"+{THEIRS}", f"+{OUR}", id="plus"),
        pytest.param("+44 7443 332212", "+44 (744) 333-2211", id="spaced"),
        pytest.param(int(THEIRS), int(OUR), id="json-numbers"),
    ],
)
def test_number_forms_share_one_thread(live, source, destination):
    url, services = live
    element = sms_callback(302, "hours")
    element["sms_inbound"]["sms_inbound"].update(
        source_number=source, destination_number=destination
    )
    response = _post(url, batch(element), "application/json")
    assert response.status_code == 200, response.text
    assert _thread_numbers(services) == [(OUR, THEIRS)]
    wait_until(lambda: _sent_to(services) == [THEIRS])


def _sent_to(services) -> list[str]:
    query = (
        select(threads.c.their_number)
        .join(messages, messages.c.thread_id == threads.c.id)
        .where(messages.c.direction == "out", messages.c.status == "sent")
    )
    with services.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def test_camel_case_callback_id_is_accepted_and_deduplicated(live):
    url, services = live
    element = sms_callback(303, "hours")
    element["callbackId"] = element.pop("callback_id")
    first = _post(url, batch(element), "application/json")
    second = _post(url, batch(element), "application/json")
    assert first.json()["accepted"] == 1
    assert second.json()["duplicates"] == 1
    with services.engine.connect() as conn:
        inbound = conn.execute(select(messages.c.id).where(messages.c.direction == "in")).all()
    assert len(inbound) == 1


def test_upper_case_hash_verifies(live):
    url, _services = live
    element = sms_callback(304, "hours")
    element["hash"] = element["hash"].upper()
    response = _post(url, batch(element), "application/json")
    assert response.json()["accepted"] == 1


def test_string_ids_are_taken_as_numbers(live):
    url, _services = live
    element = sms_callback(305, "hours")
    element["callback_id"] = "305"
    element["account_id"] = str(element["account_id"])
    response = _post(url, batch(element), "application/json")
    assert response.json()["accepted"] == 1
