"""The callback endpoint over real HTTP: verification, shapes, batches, duplicates, bad input."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from sqlalchemy import func, select

from responder.store.tables import messages, seen_callbacks
from tests.support import ACCOUNT_ID, OUR, THEIRS, batch, sign, sms_callback, wait_until


def post(url: str, body: bytes, **kw) -> requests.Response:
    return requests.post(
        f"{url}/voximplant/callback",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
        **kw,
    )


def count(services, table=messages, **where) -> int:
    query = select(func.count()).select_from(table)
    for key, value in where.items():
        query = query.where(table.c[key] == value)
    with services.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_documented_hash_vector():
    assert sign(987654) == "b43571b5eb73d2c70881b3cf44a6d2c6"
    assert sign(987654, salt="") == "abd86e5dd60ef74a27238cdee3a7fc42"


@pytest.mark.parametrize("shape", ["nested", "flat", "array"])
def test_each_shape_is_stored_and_answered(live, shape):
    url, services = live
    response = post(url, batch(sms_callback(11, "hours?", shape=shape)))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    assert count(services, direction="in", text="hours?") == 1
    sent = wait_until(lambda: count(services, direction="out", status="sent"))
    assert sent == 1
    with services.engine.connect() as conn:
        reply = conn.execute(select(messages).where(messages.c.direction == "out")).one()
    assert reply.rule_id == "hours"
    assert reply.text.startswith("We are open")


def test_array_shape_with_two_messages_stores_both(live):
    url, services = live
    element = sms_callback(12, "hours", shape="array")
    element["sms_inbound"]["sms_inbound"].append(
        {"source_number": "447700900001", "destination_number": OUR, "sms_body": "order 42"}
    )
    response = post(url, batch(element))
    assert response.json()["results"][0]["outcome"] == "accepted"
    assert count(services, direction="in") == 2
    wait_until(lambda: count(services, direction="out", status="sent") == 2)


def test_mixed_batch_reports_each_element(live):
    url, services = live
    other = {
        "callback_id": 21,
        "type": "min_balance",
        "account_id": ACCOUNT_ID,
        "hash": sign(21),
        "min_balance": {"is_min_credit": True},
    }
    forged = sms_callback(22, "hours")
    forged["hash"] = "0" * 32
    broken = {"callback_id": 23, "type": "sms_inbound", "account_id": ACCOUNT_ID, "hash": sign(23)}
    response = post(url, batch(sms_callback(20, "order 7"), other, forged, broken))
    body = response.json()
    assert response.status_code == 200
    assert (body["accepted"], body["ignored"], body["rejected"]) == (1, 1, 2)
    outcomes = {r["index"]: r for r in body["results"]}
    assert outcomes[1]["reason"] == "type 'min_balance' is not handled"
    assert outcomes[2]["reason"] == "security hash mismatch"
    assert "callbacks.3.sms_inbound: missing" in outcomes[3]["reason"]
    assert count(services, direction="in") == 1


def test_duplicate_callback_gets_one_reply(live):
    url, services = live
    body = batch(sms_callback(31, "hours"))
    assert post(url, body).json()["accepted"] == 1
    second = post(url, body)
    assert second.status_code == 200
    assert second.json()["duplicates"] == 1
    wait_until(lambda: count(services, direction="out", status="sent"))
    assert count(services, direction="in") == 1
    assert count(services, direction="out") == 1


def test_concurrent_duplicates_get_one_reply(live):
    url, services = live
    body = batch(sms_callback(41, "hours"))
    barrier = threading.Barrier(8)
    answers: list[dict] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(post(url, body).json())

    workers = [threading.Thread(target=deliver) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(a["accepted"] for a in answers) == [0] * 7 + [1]
    assert sum(a["duplicates"] for a in answers) == 7
    assert count(services, direction="in") == 1
    assert count(services, direction="out") == 1


def test_callback_for_another_account_is_rejected(tmp_path, config):
    from responder import create_app
    from responder.config import VoximplantAccount
    from responder.secret import Secret
    from tests.support import serve

    app = create_app(
        config.with_changes(
            voximplant=VoximplantAccount(ACCOUNT_ID, "kid", Secret("-----BEGIN PRIVATE KEY-----"))
        ),
        start_sender=False,
    )
    services = app.extensions["responder"]
    with serve(app) as url:
        response = post(url, batch(sms_callback(51, account_id=7654321)))
        assert response.status_code == 400
        assert "this service serves account 1234567" in response.json()["results"][0]["reason"]
        assert post(url, batch(sms_callback(52))).status_code == 200
    assert count(services, direction="in") == 1


def test_batch_where_nothing_verifies_is_403_and_stores_nothing(live):
    url, services = live
    bad = sms_callback(61, salt="wrong-salt")
    unsigned = sms_callback(62, signed=False)
    response = post(url, batch(bad, unsigned))
    assert response.status_code == 403
    reasons = [r["reason"] for r in response.json()["results"]]
    assert reasons == ["security hash mismatch", "security hash missing"]
    assert count(services, direction="in") == 0
    assert count(services, seen_callbacks) == 0


def _element(**changes):
    element = sms_callback(70)
    for key, value in changes.items():
        if value is ...:
            element.pop(key)
        else:
            element[key] = value
    return element


MALFORMED = [
    pytest.param(b"", 400, "empty body", id="empty-body"),
    pytest.param(b"   ", 400, "empty body", id="blank-body"),
    pytest.param(b"not json", 400, "not valid JSON", id="not-json"),
    pytest.param(b'{"callbacks": [', 400, "not valid JSON", id="truncated-json"),
    pytest.param(b"\xff\xfe\x00", 400, "not UTF-8", id="binary"),
    pytest.param(b"[]", 400, "expected a JSON object", id="top-level-array"),
    pytest.param(b'"callbacks"', 400, "expected a JSON object", id="top-level-string"),
    pytest.param(b"null", 400, "expected a JSON object", id="null"),
    pytest.param(b"{}", 400, "missing 'callbacks'", id="no-callbacks"),
    pytest.param(b'{"callbacks": {}}', 400, "must be an array", id="callbacks-object"),
    pytest.param(b'{"callbacks": null}', 400, "must be an array", id="callbacks-null"),
    pytest.param(b'{"callbacks": []}', 400, "is empty", id="empty-batch"),
    pytest.param(batch(5), 400, "callbacks.0: expected an object", id="element-number"),
    pytest.param(batch(_element(callback_id=...)), 400, "callback_id", id="no-callback-id"),
    pytest.param(batch(_element(callback_id="abc")), 400, "callback_id", id="callback-id-text"),
    pytest.param(batch(_element(callback_id=-1)), 400, "callback_id", id="callback-id-negative"),
    pytest.param(batch(_element(account_id=None)), 400, "account_id", id="account-id-null"),
    pytest.param(batch(_element(type=...)), 400, "type", id="no-type"),
    pytest.param(batch(_element(type=7)), 400, "type", id="type-number"),
    pytest.param(batch(_element(hash=12)), 400, "hash", id="hash-number"),
    pytest.param(batch(_element(sms_inbound=...)), 400, "sms_inbound: missing", id="no-payload"),
    pytest.param(batch(_element(sms_inbound="hi")), 400, "expected an object", id="payload-string"),
    pytest.param(
        batch(_element(sms_inbound={"sms_inbound": []})),
        400,
        "empty array",
        id="payload-empty-array",
    ),
    pytest.param(
        batch(_element(sms_inbound={"sms_inbound": {"source_number": "1"}})),
        400,
        "destination_number",
        id="payload-missing-fields",
    ),
    pytest.param(
        batch(
            _element(
                sms_inbound={"source_number": [447], "destination_number": OUR, "sms_body": "x"}
            )
        ),
        400,
        "source_number",
        id="number-an-array",
    ),
    pytest.param(
        batch(
            _element(
                sms_inbound={"source_number": THEIRS, "destination_number": OUR, "sms_body": None}
            )
        ),
        400,
        "sms_body",
        id="body-null",
    ),
    pytest.param(b'{"callbacks": [' + b"1," * 10 + b"1]}", 400, "callbacks.10", id="all-bad"),
]


@pytest.mark.parametrize(("body", "status", "message"), MALFORMED)
def test_malformed_body_gets_a_clear_4xx(live, body, status, message):
    url, services = live
    response = post(url, body)
    assert response.status_code == status
    assert message in json.dumps(response.json())
    assert count(services, direction="in") == 0


def test_body_over_one_mebibyte_is_413(live):
    url, _services = live
    response = post(url, b'{"callbacks": ["' + b"x" * (1024 * 1024) + b'"]}')
    assert response.status_code == 413
    assert "over the limit" in response.json()["error"]


def test_wrong_method_and_path_answer_json(live):
    url, _ = live
    assert requests.get(f"{url}/voximplant/callback", timeout=5).status_code == 405
    missing = requests.post(f"{url}/voximplant/nope", timeout=5)
    assert missing.status_code == 404
    assert "error" in missing.json()


def test_a_reply_template_that_fails_keeps_the_message(live):
    url, services = live
    rules = services.config.rules_dir / "main.yaml"
    rules.write_text(
        rules.read_text().replace('reply: "We are open', 'reply: "{{ (text|length) // 0 }}We are')
    )
    wait_until(lambda: "// 0" in str(services.rules.current().rules), timeout=5)
    response = post(url, batch(sms_callback(81, "hours")))
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    with services.engine.connect() as conn:
        inbound = conn.execute(select(messages).where(messages.c.direction == "in")).one()
    assert inbound.status == "handled"
    assert inbound.text == "hours"
    assert count(services, direction="out") == 0
