"""Hot reload under real gunicorn: every worker takes an edit, and refuses a broken one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.support import batch, sms_callback, wait_until

ROOT = Path(__file__).resolve().parent.parent

RULES = """\
rules:
  - id: hours
    keywords: [hours]
    match: only
    reply: "{answer}"
examples:
  - {{text: "hours", expect: hours, reply: "{answer}"}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Output:
    """The lines a process writes, collected as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def join(self) -> str:
        self._thread.join(10)
        return "".join(self.lines)


def version_of(rules_dir: Path) -> str:
    from responder.ruleset import load_ruleset

    return load_ruleset(rules_dir).version


def test_every_worker_takes_an_edit_and_refuses_a_broken_one(tmp_path):
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    rule_file = rules_dir / "main.yaml"
    rule_file.write_text(RULES.format(answer="Open 9-5."), encoding="utf-8")
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
    output = Output(process)
    url = f"http://127.0.0.1:{port}/voximplant/callback"
    try:
        first = version_of(rules_dir)
        # Each worker loads the rules once at start-up.
        wait_until(lambda: output.count(f"rules {first} loaded") == 2, timeout=60, interval=0.1)

        rule_file.write_text(RULES.format(answer="Open 8-6 from today."), encoding="utf-8")
        second = version_of(rules_dir)
        edited_at = time.monotonic()
        wait_until(lambda: output.count(f"rules {second} loaded") == 2, timeout=5, interval=0.05)
        took = time.monotonic() - edited_at
        print(f"both workers serve version {second} {took:.2f} s after the edit")

        # Several concurrent callbacks, so both workers answer; every one gets the new reply.
        def send(callback_id: int) -> None:
            body = batch(sms_callback(callback_id, "hours", source=f"4477009001{callback_id:02d}"))
            answer = requests.post(url, data=body, timeout=10)
            assert answer.json()["accepted"] == 1

        senders = [threading.Thread(target=send, args=(i,)) for i in range(1, 9)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(30)
        wait_until(lambda: output.count("Open 8-6 from today.") >= 8, timeout=30)
        assert output.count("segment(s): Open 9-5.") == 0

        # An edit whose own example fails is refused by both workers; the last good set stays.
        broken = RULES.format(answer="Closed.").replace('reply: "Closed."}', 'reply: "Open."}')
        rule_file.write_text(broken, encoding="utf-8")
        wait_until(
            lambda: output.count(f"refused, keeping version {second}") == 2,
            timeout=5,
            interval=0.05,
        )
        send(20)
        wait_until(lambda: output.count("Open 8-6 from today.") >= 9, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    log = output.join()
    assert process.returncode == 0, log
    assert "example 'hours' failed" in log
    assert not [line for line in log.splitlines() if "log provider" in line and "Closed." in line]
