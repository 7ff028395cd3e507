"""The Procfile run locally by a Procfile runner (honcho), as a PaaS would run it."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.fakes.keys import write_credentials
from tests.processes import BIN, ROOT, free_port, service_env
from tests.support import API_KEY, SALT, THEIRS, batch, sms_callback, wait_until

pytestmark = pytest.mark.slow


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_procfile_names_release_web_and_worker():
    assert procfile() == {
        "release": "responder db upgrade",
        "web": "gunicorn --config gunicorn.conf.py wsgi:app",
        "worker": "responder sender run",
    }


def honcho(
    env: dict[str, str], env_file: Path, port: int, *names: str, **kw
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "honcho"), "--no-colour", "-e", str(env_file), "start", "-p", str(port), *names],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def test_procfile_runs_release_then_serves_a_round_trip(
    tmp_path, rules_dir, database_url, fake_api
):
    sqlite = database_url.startswith("sqlite")
    settings = {
        "DATABASE_URL": database_url,
        "RESPONDER_DATA_DIR": str(tmp_path / "data"),
        "RESPONDER_RULES_DIR": str(rules_dir),
        "RESPONDER_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "VOXIMPLANT_CREDENTIALS": str(write_credentials(tmp_path / "credentials.json")),
        "VOXIMPLANT_API_URL": fake_api.url,
        "VOXIMPLANT_CALLBACK_SALT": SALT,
        "VOXIMPLANT_API_KEY": API_KEY,
        # SQLite: the sender runs inside web. PostgreSQL: web only serves, the worker sends.
        "RESPONDER_SENDER": "web" if sqlite else "off",
    }
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
    env = service_env(tmp_path / "unused", rules_dir)
    env["PATH"] = f"{BIN}:{env['PATH']}"
    port = free_port()

    release = honcho(env, env_file, port, "release")
    output, _ = release.communicate(timeout=120)
    assert release.returncode == 0, output

    names = ("web",) if sqlite else ("web", "worker")
    running = honcho(env, env_file, port, *names)
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if running.poll() is not None:
                raise AssertionError(running.communicate()[0])
            try:
                return requests.get(f"{url}/readyz", timeout=2).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        wait_until(ready, timeout=60, interval=0.2)
        answer = requests.post(
            f"{url}/voximplant/callback", data=batch(sms_callback(77, "order 9")), timeout=10
        )
        assert answer.json()["accepted"] == 1
        wait_until(lambda: fake_api.sent, timeout=30)
    finally:
        running.send_signal(signal.SIGTERM)
        output, _ = running.communicate(timeout=90)
    fake_api.check()
    assert fake_api.sent[0].params["sms_body"] == f"Order 9 is on its way, {THEIRS}."
    lines = output.splitlines()
    sent = [line for line in lines if "sent to 447443332212" in line]
    assert len(sent) == 1, output
    assert (" web.1 " if sqlite else " worker.1 ") in sent[0]
    assert any(" web.1 " in line and "Shutting down: Master" in line for line in lines), output
    if not sqlite:
        assert any(" worker.1 " in line and "stopped" in line for line in lines), output
