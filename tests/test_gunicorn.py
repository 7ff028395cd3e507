"""Smoke test: real gunicorn serving wsgi:app, configured only by the environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.support import batch, sms_callback, wait_until

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_a_callback_round_trip(tmp_path, rules_dir):
    port = free_port()
    env = {
        **os.environ,
        "RESPONDER_DATA_DIR": str(tmp_path / "data"),
        "RESPONDER_RULES_DIR": str(rules_dir),
        "VOXIMPLANT_CALLBACK_SALT": "my-salt",
        "VOXIMPLANT_API_KEY": "00000000-1111-2222-3333-444444444444",
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
    }
    env.pop("DATABASE_URL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/voximplant/callback"

        def up() -> bool:
            try:
                return requests.get(url, timeout=1).status_code == 405
            except (requests.ConnectionError, requests.Timeout):  # a worker still booting
                return False

        wait_until(up, timeout=30, interval=0.2)
        answer = requests.post(url, data=batch(sms_callback(1, "hours")), timeout=10)
        assert answer.status_code == 200
        assert answer.json()["accepted"] == 1
        again = requests.post(url, data=batch(sms_callback(1, "hours")), timeout=10)
        assert again.json()["duplicates"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "SMS (not sent, log provider) from 447443332211 to 447443332212" in output
