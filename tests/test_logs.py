"""Logs of a full run under gunicorn: JSON lines on stdout, request ids, and no secret anywhere."""

from __future__ import annotations

import io
import json
import re

import requests
from sqlalchemy import select

from responder import create_app
from responder.logs import Redactor
from responder.store.tables import messages
from tests.fakes.keys import KEY_ID, key_pair
from tests.processes import gunicorn, sender_worker, service_env
from tests.support import (
    ACCOUNT_ID,
    API_KEY,
    THEIRS,
    batch,
    post_callback,
    serve,
    sms_callback,
    wait_until,
)

SALT = "log-test-salt-4f9a"
ADMIN_PASSWORD = "correct horse battery staple 42"
METRICS_TOKEN = "metrics-token-0123456789abcdef"


def credentials() -> str:
    return json.dumps(
        {"account_id": ACCOUNT_ID, "key_id": KEY_ID, "private_key": key_pair().private_pem}
    )


def secrets() -> dict[str, str]:
    found = {
        "salt": SALT,
        "API key": API_KEY,
        "admin password": ADMIN_PASSWORD,
        "metrics token": METRICS_TOKEN,
        "private key": key_pair().private_pem.strip(),
    }
    body = [line for line in key_pair().private_pem.splitlines() if "-----" not in line]
    found.update({f"private key line {i}": line for i, line in enumerate(body)})
    return found


def test_full_run_logs_json_events_with_request_ids_and_no_secrets(
    tmp_path, rules_dir, database_url, fake_api
):
    env = service_env(
        tmp_path / "data",
        rules_dir,
        DATABASE_URL=database_url,
        VOXIMPLANT_CREDENTIALS=credentials(),
        VOXIMPLANT_API_URL=fake_api.url,
        VOXIMPLANT_CALLBACK_SALT=SALT,
        VOXIMPLANT_API_KEY=API_KEY,
        RESPONDER_ADMIN_PASSWORD=ADMIN_PASSWORD,
        RESPONDER_METRICS_TOKEN=METRICS_TOKEN,
        RESPONDER_COOKIE_SECURE="false",
        RESPONDER_SEND_TIMEOUT="2",
        WEB_CONCURRENCY="2",
    )
    fake_api.fail_next(1, 503)  # the first send is retried: the error path logs too
    with gunicorn(env) as service:
        callback = f"{service.url}/voximplant/callback"
        answer = requests.post(
            callback,
            data=batch(sms_callback(501, "order 42", salt=SALT)),
            headers={"X-Request-Id": "cb-order-42"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Request-Id"] == "cb-order-42"
        wait_until(lambda: fake_api.sent, timeout=30)
        # Refused and odd requests log warnings; none of them may echo a secret.
        forged = requests.post(callback, data=batch(sms_callback(502, salt="guess")), timeout=10)
        assert forged.status_code == 403
        odd = requests.post(callback, data=f'{{"callbacks": "{API_KEY}"}}', timeout=10)
        assert odd.status_code == 400
        assert requests.get(f"{service.url}/readyz", timeout=10).status_code == 200
        scrape = requests.get(
            f"{service.url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        )
        assert scrape.status_code == 200
        assert requests.get(f"{service.url}/metrics", timeout=10).status_code == 401
        generated = requests.get(f"{service.url}/healthz", timeout=10).headers["X-Request-Id"]
        sign_in(service.url, "not the password")
        sign_in(service.url, ADMIN_PASSWORD)
    assert service.process.returncode == 0, service.output
    fake_api.check()

    for name, value in secrets().items():
        assert value not in service.output, f"the {name} is in the logs"

    events = [json.loads(line) for line in service.lines]  # every line is one JSON event
    assert all({"ts", "level", "logger", "event"} <= event.keys() for event in events)
    by_request = [e for e in events if e.get("request_id") == "cb-order-42"]
    loggers = {e["logger"] for e in by_request}
    assert "gunicorn.access" in loggers
    sent = [e for e in by_request if e["logger"] == "responder.sender" and "sent to" in e["event"]]
    assert sent, by_request
    assert THEIRS in sent[0]["event"]
    retried = [e for e in by_request if e["level"] == "warning" and "transient" in e["event"]]
    assert retried, by_request
    access = next(e for e in by_request if e["logger"] == "gunicorn.access")
    assert access["method"] == "POST"
    assert access["path"] == "/voximplant/callback"
    assert access["status"] == 200
    assert len(generated) == 32
    assert any(e.get("request_id") == generated for e in events)
    assert any("kept in quarantine" in e["event"] for e in events)
    assert any(e["event"].startswith("dashboard sign-in from 127.0.0.1") for e in events)


def sign_in(url: str, password: str) -> None:
    """Sign in to the dashboard as a person would, through the form."""
    browser = requests.Session()
    form = browser.get(f"{url}/dashboard/login", timeout=10).text
    fields = dict(re.findall(r'name="(csrf_token|next)" value="([^"]*)"', form))
    browser.post(f"{url}/dashboard/login", data={**fields, "password": password}, timeout=10)


def test_worker_process_logs_json_on_stdout_under_the_callback_request_id(config):
    app = create_app(config, start_sender=False)
    services = app.extensions["responder"]
    with serve(app) as url:
        answer = post_callback(
            url, sms_callback(61, "hours"), headers={"X-Request-Id": "worker-61"}
        )
    assert answer.status_code == 200
    env = service_env(
        config.data_dir,
        config.rules_dir,
        DATABASE_URL=config.database_url,
        VOXIMPLANT_CALLBACK_SALT=config.callback_salt.reveal(),
        VOXIMPLANT_API_KEY=config.api_key.reveal(),
    )

    def sent() -> bool:
        with services.engine.connect() as conn:
            statuses = conn.execute(
                select(messages.c.status).where(messages.c.direction == "out")
            ).scalars()
            return list(statuses) == ["sent"]

    try:
        with sender_worker(env) as worker:
            wait_until(sent, timeout=30)
    finally:
        services.engine.dispose()
    assert worker.process.returncode == 0, worker.stderr
    events = [json.loads(line) for line in worker.stdout.splitlines()]
    assert any(
        e.get("request_id") == "worker-61" and "sent to 447443332212" in e["event"] for e in events
    ), worker.stdout
    assert any(e["event"].startswith("signal 15: finishing the send in flight") for e in events)
    assert config.api_key.reveal() not in worker.stdout + worker.stderr


def test_text_format_keeps_the_request_id(config):
    stream = io.StringIO()
    app = create_app(config.with_changes(log_format="text"), start_sender=False, log_stream=stream)
    services = app.extensions["responder"]
    with serve(app) as url:
        post_callback(url, sms_callback(71, salt="wrong-salt"), headers={"X-Request-Id": "text-71"})
    services.engine.dispose()
    lines = stream.getvalue().splitlines()
    refused = [line for line in lines if "callback 71 rejected: security hash mismatch" in line]
    assert len(refused) == 1
    assert " WARNING responder.intake [text-71]: " in refused[0]
    assert not any(line.startswith("{") for line in lines)


def test_redactor_masks_a_whole_key_and_each_of_its_lines():
    pem = key_pair().private_pem
    redact = Redactor()
    redact.use([pem, SALT, "abc"])  # too short to mask without masking ordinary words
    line = pem.splitlines()[3]
    assert redact(f"key: {pem}") == "key: ***\n"
    assert redact(f"a wrapped line {line} leaked") == "a wrapped line *** leaked"
    assert redact(f"salt={SALT}; abc") == "salt=***; abc"
