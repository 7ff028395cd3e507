"""Smoke test: real gunicorn serving wsgi:app, configured only by the environment."""

from __future__ import annotations

import requests

from tests.processes import gunicorn, service_env
from tests.support import API_KEY, SALT, batch, sms_callback


def test_gunicorn_serves_a_callback_round_trip(tmp_path, rules_dir):
    env = service_env(
        tmp_path / "data",
        rules_dir,
        VOXIMPLANT_CALLBACK_SALT=SALT,
        VOXIMPLANT_API_KEY=API_KEY,
        WEB_CONCURRENCY="2",
    )
    with gunicorn(env) as service:
        url = f"{service.url}/voximplant/callback"
        answer = requests.post(url, data=batch(sms_callback(1, "hours")), timeout=10)
        assert answer.status_code == 200
        assert answer.json()["accepted"] == 1
        again = requests.post(url, data=batch(sms_callback(1, "hours")), timeout=10)
        assert again.json()["duplicates"] == 1
    assert service.process.returncode == 0, service.output
    assert "SMS (not sent, log provider) from 447443332211 to 447443332212" in service.output
