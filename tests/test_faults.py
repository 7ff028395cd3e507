"""Fault injection: real gunicorn and a real sender process against a misbehaving Voximplant.

The fake Management API answers with 5xx, error 14, rate limits (340 and HTTP 429), slow
answers, answers that never come (the request is acted on later) and lost answers (acted on,
then the connection closes). Meanwhile the sender process and the whole gunicorn process group
are killed with SIGKILL and restarted, and callbacks are redelivered, some twice at once.
Afterwards every inbound message is stored exactly once, every reply has been sent, and any
reply the gateway got twice is one whose earlier attempt had no recorded outcome: the window
docs/delivery.md describes. The counts are printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from responder.store.db import make_engine
from responder.store.inbox import inbox_engine
from responder.store.tables import inbox, message_events, messages, outbox, seen_callbacks
from tests.fakes.keys import key_pair
from tests.fakes.voximplant_api import FakeVoximplant
from tests.support import ACCOUNT_ID, API_KEY, SALT, batch, sms_callback, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY_ID = "c1f2e3d4-aaaa-bbbb-cccc-000000000001"
CALLBACKS = 90
FAULTS = {
    "5xx": 0.07,
    "transient": 0.04,
    "rate_limit": 0.03,
    "http_429": 0.02,
    "slow": 0.08,
    "timeout": 0.04,
    "lost_answer": 0.04,
}
# The documented window: a sender died after the gateway took the message and before the
# record. Anything the gateway got twice must be a message taken back from a dead sender.
UNCERTAIN_MARKS = ("taken back from a sender whose lease ran out",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def their_number(i: int) -> str:
    # One person per callback: the loop breaker and reply budgets stay out of the way.
    return f"4477009{i:05d}"


class Service:
    """gunicorn and `responder sender run` as a PaaS runs them, each killable and restartable."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.port = free_port()
        self.web: subprocess.Popen[bytes] | None = None
        self.sender: subprocess.Popen[bytes] | None = None
        self.starts: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/voximplant/callback"

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.starts[name] += 1
        log = (self.logs / f"{name}-{self.starts[name]}.log").open("wb")
        try:
            # A session of its own: SIGKILL reaches gunicorn's master and workers at once.
            return subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()

    def start_web(self) -> None:
        env = {**self.env, "PORT": str(self.port), "RESPONDER_HOST": "127.0.0.1"}
        self.web = self._spawn(
            "web", [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"], env
        )
        wait_until(self.web_is_up, timeout=60, interval=0.1)

    def web_is_up(self) -> bool:
        try:
            return requests.get(self.url, timeout=2).status_code == 405
        except requests.RequestException:
            return False

    def start_sender(self) -> None:
        self.sender = self._spawn("sender", [str(BIN / "responder"), "sender", "run"], self.env)

    def kill(self, process: subprocess.Popen[bytes] | None) -> None:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop(self, process: subprocess.Popen[bytes] | None) -> int | None:
        """SIGTERM, as a PaaS stops a process; the exit code."""
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
                return None
        return process.returncode

    def logs_text(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


class Platform:
    """Voximplant's side of callbacks: post each until it is answered 200, redeliver some."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.posts = 0
        self.refused = 0  # connection refused or cut: the web process was down or killed
        self.outcomes: Counter[str] = Counter()
        self.acknowledged: set[int] = set()
        self._lock = threading.Lock()

    def deliver(self, elements: list[dict[str, Any]]) -> None:
        while True:
            with self._lock:
                self.posts += 1
            try:
                answer = requests.post(self.url, data=batch(*elements), timeout=15)
            except requests.RequestException:
                with self._lock:
                    self.refused += 1
                time.sleep(0.1)  # a redelivery a moment later, as the platform does
                continue
            if answer.status_code != 200:
                raise AssertionError(f"callback answered {answer.status_code}: {answer.text}")
            report = answer.json()
            with self._lock:
                for outcome in ("accepted", "duplicates", "ignored"):
                    self.outcomes[outcome] += int(report.get(outcome, 0))
                self.acknowledged.update(e["callback_id"] for e in elements)
            return


def plan() -> list[list[dict[str, Any]]]:
    """The batches to deliver: mostly single callbacks, some pairs, a quarter sent again."""
    batches: list[list[dict[str, Any]]] = []
    i = 1
    while i <= CALLBACKS:
        size = 2 if i % 7 == 0 and i < CALLBACKS else 1
        batches.append(
            [
                sms_callback(9000 + j, f"order {j}", source=their_number(j))
                for j in range(i, i + size)
            ]
        )
        i += size
    redelivered = [b for n, b in enumerate(batches) if n % 4 == 1]
    return batches + redelivered


@pytest.fixture
def fake() -> Iterator[FakeVoximplant]:
    with FakeVoximplant(key_pair().public_pem, ACCOUNT_ID, KEY_ID) as api:
        yield api


def service_env(tmp_path: Path, rules_dir: Path, database_url: str, fake: FakeVoximplant) -> dict:
    credentials = {
        "account_id": ACCOUNT_ID,
        "key_id": KEY_ID,
        "private_key": key_pair().private_pem,
    }
    postgres = database_url.startswith("postgresql")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RESPONDER_DATA_DIR": str(tmp_path / "data"),
        "RESPONDER_RULES_DIR": str(rules_dir),
        "VOXIMPLANT_CREDENTIALS": json.dumps(credentials),
        "VOXIMPLANT_API_URL": fake.url,
        "VOXIMPLANT_CALLBACK_SALT": SALT,
        "VOXIMPLANT_API_KEY": API_KEY,
        # With SQLite the sender runs in the web workers too; with PostgreSQL only in `worker:`.
        "RESPONDER_SENDER": "off" if postgres else "web",
        "RESPONDER_SEND_TIMEOUT": "0.5",
        "RESPONDER_SEND_LEASE": "3",
        "RESPONDER_RETRY_DELAYS": "0.2,0.4,0.8,1.5",
        "RESPONDER_MAX_ATTEMPTS": "25",
        "RESPONDER_QUIET_HOURS": "off",
        "RESPONDER_BREAKER": "off",
        "RESPONDER_LOG_FORMAT": "text",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
    }
    env.pop("FLASK_APP", None)
    return env


@pytest.mark.parametrize("intake", ["inline", "queue"])
def test_every_message_once_and_every_reply_sent_through_faults_and_kills(
    tmp_path, rules_dir, database_url, fake, capsys, intake
):
    fake.chaos(FAULTS, seed=20261129, stall_s=1.5, slow_s=0.2)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = service_env(tmp_path, rules_dir, database_url, fake)
    env["RESPONDER_INTAKE"] = intake  # queue: answered from the inbox, processed by a sender
    service = Service(env, logs)
    service.start_web()
    service.start_sender()
    platform = Platform(service.url)
    batches = plan()
    kills: Counter[str] = Counter()
    mid_send = 0
    try:
        work = iter(enumerate(batches))
        lock = threading.Lock()
        failures: list[BaseException] = []

        def post_all() -> None:
            while True:
                with lock:
                    item = next(work, None)
                if item is None:
                    return
                try:
                    platform.deliver(item[1])
                except BaseException as exc:
                    failures.append(exc)
                    return
                time.sleep(0.15)  # a steady trickle, so that the kills land mid-run

        posters = [threading.Thread(target=post_all, daemon=True) for _ in range(3)]
        for poster in posters:
            poster.start()

        def acknowledged() -> int:
            return len(platform.acknowledged)

        # The sender dies mid-send, twice; the web processes die mid-request once.
        for share, victim in ((0.25, "sender"), (0.5, "web"), (0.75, "sender")):
            wait_until(lambda s=share: acknowledged() >= s * CALLBACKS, timeout=120)
            # Hold the next send at the gateway (it is acted on 2 s later), so the kill lands
            # mid-send: the gateway has the message, the database does not know.
            fake.stall_next(2.0, method="SendSmsMessage")
            with contextlib.suppress(AssertionError):  # nothing in flight: kill anyway
                wait_until(lambda: fake.in_flight > 0, timeout=2, interval=0.002)
            mid_send += fake.in_flight > 0
            kills[victim] += 1
            if victim == "sender":
                service.kill(service.sender)
                service.start_sender()
            else:
                service.kill(service.web)
                service.start_web()
        for poster in posters:
            poster.join(180)
        assert not failures, failures
        assert acknowledged() == CALLBACKS

        engine = make_engine(database_url, data_dir=tmp_path)

        def settled() -> bool:
            with engine.connect() as conn:
                waiting = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
                replies = conn.execute(
                    select(func.count()).where(messages.c.direction == "out")
                ).scalar_one()
            return waiting == 0 and replies == CALLBACKS

        wait_until(settled, timeout=120, interval=0.2)
        web_exit = service.stop(service.web)
        sender_exit = service.stop(service.sender)

        with engine.connect() as conn:
            inbound = conn.execute(
                select(messages.c.callback_id, func.count())
                .where(messages.c.direction == "in")
                .group_by(messages.c.callback_id)
            ).all()
            replies = conn.execute(
                select(messages.c.id, messages.c.text, messages.c.status, messages.c.attempts)
                .where(messages.c.direction == "out")
                .order_by(messages.c.id)
            ).all()
            seen = conn.execute(select(func.count()).select_from(seen_callbacks)).scalar_one()
            details = {
                message_id: [d or "" for d in found.split("\x1f")]
                for message_id, found in conn.execute(
                    select(
                        message_events.c.message_id,
                        func.string_agg(message_events.c.detail, "\x1f")
                        if engine.dialect.name == "postgresql"
                        else func.group_concat(message_events.c.detail, "\x1f"),
                    ).group_by(message_events.c.message_id)
                )
            }
        queued = inbox_engine(engine, tmp_path, create=False)  # SQLite: a file of its own
        with queued.connect() as conn:
            unprocessed = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
        queued.dispose()
        engine.dispose()

        gateway = Counter(item["_body"] for item in fake.history if item["direction"] == "OUT")
        doubled = {body: n for body, n in gateway.items() if n > 1}
        by_text = {r.text: r for r in replies}
        outside_window = [
            body
            for body in doubled
            if not any(
                mark in d for d in details.get(by_text[body].id, []) for mark in UNCERTAIN_MARKS
            )
        ]

        def noted(mark: str) -> int:
            return sum(mark in d for found in details.values() for d in found)

        summary = (
            f"\nfault injection on {engine.dialect.name}, {intake} intake: {CALLBACKS} callbacks "
            f"in {len(batches)} batches, {platform.posts} posts ({platform.refused} refused or "
            "cut, "
            f"{platform.outcomes['duplicates']} answered as duplicates); kills: "
            f"{dict(kills)} ({mid_send} with a request in flight); faults injected: "
            f"{dict(fake.injected)}; provider requests: {len(fake.requests)}; inbound stored: "
            f"{sum(n for _, n in inbound)}; replies sent: "
            f"{sum(r.status in ('sent', 'delivered') for r in replies)}/{len(replies)}; "
            f"most attempts: {max(r.attempts for r in replies)}; "
            f"taken back from dead senders: {noted('taken back from a sender')}; found in the "
            f"gateway's history instead of resending: {noted('found in the provider')}; "
            f"delivered twice: {sum(n - 1 for n in doubled.values())}"
        )
        with capsys.disabled():
            print(summary)

        assert sorted(cid for cid, _ in inbound) == [9000 + i for i in range(1, CALLBACKS + 1)]
        assert all(n == 1 for _, n in inbound), "an inbound message was stored twice"
        assert seen == CALLBACKS
        assert unprocessed == 0
        assert [r.status for r in replies] == ["sent"] * CALLBACKS
        expected = {f"Order {i} is on its way, {their_number(i)}." for i in range(1, CALLBACKS + 1)}
        assert set(gateway) == expected, "a reply never reached the gateway"
        assert outside_window == [], "sent twice outside the documented window"
        assert sum(n - 1 for n in doubled.values()) <= sum(kills.values()) * 3
        assert fake.injected, "no faults were injected"
        assert web_exit == 0, "gunicorn did not stop cleanly on SIGTERM"
        assert sender_exit == 0, "the sender did not stop cleanly on SIGTERM"
    except BaseException:
        print(service.logs_text())
        raise
    finally:
        service.kill(service.web)
        service.kill(service.sender)


@pytest.mark.parametrize("process", ["sender", "web"])
def test_sigterm_finishes_the_send_in_flight_and_stops_cleanly(
    tmp_path, rules_dir, database_url, fake, process
):
    env = service_env(tmp_path, rules_dir, database_url, fake)
    env["RESPONDER_SENDER"] = "web" if process == "web" else "off"
    env["RESPONDER_SEND_TIMEOUT"] = "5"
    env["RESPONDER_SEND_LEASE"] = "60"
    env["WEB_CONCURRENCY"] = "1"
    logs = tmp_path / "logs"
    logs.mkdir()
    service = Service(env, logs)
    try:
        service.start_web()
        if process == "sender":
            service.start_sender()
        fake.stall_next(1.5, method="SendSmsMessage")
        Platform(service.url).deliver([sms_callback(1, "order 5", source=their_number(5))])
        wait_until(lambda: fake.in_flight > 0, timeout=30)
        exit_code = service.stop(service.sender if process == "sender" else service.web)
        assert exit_code == 0, service.logs_text()
        assert len(fake.sent) == 1
        engine = make_engine(database_url, data_dir=tmp_path)
        with engine.connect() as conn:
            status = conn.execute(
                select(messages.c.status).where(messages.c.direction == "out")
            ).scalar_one()
            waiting = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
        engine.dispose()
        assert (status, waiting) == ("sent", 0)
    finally:
        service.kill(service.web)
        service.kill(service.sender)
