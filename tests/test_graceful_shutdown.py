"""SIGTERM under gunicorn: the request and the send in flight finish before the process ends."""

from __future__ import annotations

import json
import signal

import requests
from sqlalchemy import create_engine, select

from responder.config import normalise_database_url
from responder.store.tables import messages
from tests.fakes.keys import KEY_ID, key_pair
from tests.processes import gunicorn, service_env
from tests.support import ACCOUNT_ID, API_KEY, SALT, batch, sms_callback, wait_until


def test_sigterm_lets_the_send_in_flight_finish(tmp_path, rules_dir, database_url, fake_api):
    credentials = {
        "account_id": ACCOUNT_ID,
        "key_id": KEY_ID,
        "private_key": key_pair().private_pem,
    }
    env = service_env(
        tmp_path / "data",
        rules_dir,
        DATABASE_URL=database_url,
        VOXIMPLANT_CREDENTIALS=json.dumps(credentials),
        VOXIMPLANT_API_URL=fake_api.url,
        VOXIMPLANT_CALLBACK_SALT=SALT,
        VOXIMPLANT_API_KEY=API_KEY,
        RESPONDER_SEND_TIMEOUT="20",
        WEB_CONCURRENCY="1",
    )
    fake_api.stall_next(3.0)  # the provider is slow to answer this one
    with gunicorn(env) as service:
        answer = requests.post(
            f"{service.url}/voximplant/callback", data=batch(sms_callback(5, "hours")), timeout=10
        )
        assert answer.status_code == 200
        wait_until(lambda: fake_api.in_flight == 1, timeout=20)
        service.process.send_signal(signal.SIGTERM)
        service.process.wait(timeout=60)
    assert service.process.returncode == 0, service.output
    fake_api.check()
    assert len(fake_api.sent) == 1
    engine = create_engine(normalise_database_url(database_url))
    with engine.connect() as conn:
        statuses = conn.execute(
            select(messages.c.status).where(messages.c.direction == "out")
        ).scalars()
        assert list(statuses) == ["sent"]
    engine.dispose()
    events = [json.loads(line)["event"] for line in service.lines]
    assert events.index("Handling signal: term") < next(
        i for i, e in enumerate(events) if "sent to 447443332212" in e
    )
