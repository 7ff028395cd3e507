"""Hot reload under real gunicorn: every worker takes an edit, and refuses a broken one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

from tests.processes import gunicorn, service_env
from tests.support import API_KEY, SALT, batch, sms_callback, wait_until

RULES = """\
rules:
  - id: hours
    keywords: [hours]
    match: only
    reply: "{answer}"
examples:
  - {{text: "hours", expect: hours, reply: "{answer}"}}
"""


def version_of(rules_dir: Path) -> str:
    from responder.ruleset import load_ruleset

    return load_ruleset(rules_dir).version


def test_every_worker_takes_an_edit_and_refuses_a_broken_one(tmp_path):
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    rule_file = rules_dir / "main.yaml"
    rule_file.write_text(RULES.format(answer="Open 9-5."), encoding="utf-8")
    env = service_env(
        tmp_path / "data",
        rules_dir,
        VOXIMPLANT_CALLBACK_SALT=SALT,
        VOXIMPLANT_API_KEY=API_KEY,
        WEB_CONCURRENCY="2",
    )
    with gunicorn(env) as service:
        url = f"{service.url}/voximplant/callback"
        first = version_of(rules_dir)
        # Each worker loads the rules once at start-up.
        wait_until(lambda: service.count(f"rules {first} loaded") == 2, timeout=60, interval=0.1)

        rule_file.write_text(RULES.format(answer="Open 8-6 from today."), encoding="utf-8")
        second = version_of(rules_dir)
        edited_at = time.monotonic()
        wait_until(lambda: service.count(f"rules {second} loaded") == 2, timeout=5, interval=0.05)
        took = time.monotonic() - edited_at
        print(f"both workers serve version {second} {took:.2f} s after the edit")

        # Several concurrent callbacks, so both workers answer; every one gets the new reply.
        accepted: list[int] = []

        def send(callback_id: int) -> None:
            body = batch(sms_callback(callback_id, "hours", source=f"4477009001{callback_id:02d}"))
            answer = requests.post(url, data=body, timeout=10)
            accepted.append(answer.json()["accepted"])

        senders = [threading.Thread(target=send, args=(i,)) for i in range(1, 9)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(30)
        assert accepted == [1] * 8  # an assertion inside a thread would go unseen
        wait_until(lambda: service.count("Open 8-6 from today.") >= 8, timeout=30)
        assert service.count("segment(s): Open 9-5.") == 0

        # An edit whose own example fails is refused by both workers; the last good set stays.
        broken = RULES.format(answer="Closed.").replace('reply: "Closed."}', 'reply: "Open."}')
        rule_file.write_text(broken, encoding="utf-8")
        wait_until(
            lambda: service.count(f"refused, keeping version {second}") == 2,
            timeout=5,
            interval=0.05,
        )
        send(20)
        assert accepted[-1] == 1
        wait_until(lambda: service.count("Open 8-6 from today.") >= 9, timeout=30)
    log = service.output
    assert service.process.returncode == 0, log
    assert "example 'hours' failed" in log
    assert not [line for line in log.splitlines() if "log provider" in line and "Closed." in line]
