"""The app over real HTTP with the fake Voximplant API and a clock the test moves by hand."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from responder import create_app
from responder.compliance.settings import ComplianceSettings
from responder.config import Config
from responder.services import Services
from responder.store.consent import consent_history
from responder.store.tables import messages, outbox, threads
from tests.fakes.keys import KEY_ID, key_pair
from tests.fakes.voximplant_api import FakeVoximplant
from tests.support import (
    ACCOUNT_ID,
    OUR,
    THEIRS,
    batch,
    events_of,
    serve,
    sms_callback,
    voximplant_config,
    wait_until,
)

# Noon in London: no quiet hours unless a test moves the clock.
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
_ids = itertools.count(5000)


class ManualClock:
    """Services.clock for tests: time stands still until the test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)

    def set(self, at: datetime) -> None:
        with self._lock:
            self.now = at


@dataclass
class Site:
    """One running service: its URL, its services, the fake API it sends through, its clock."""

    url: str
    services: Services
    fake: FakeVoximplant
    clock: ManualClock
    app: Flask | None = None

    def text(
        self, body: str, *, source: str = THEIRS, destination: str = OUR, gap_s: float = 60
    ) -> requests.Response:
        """Text *body* to us over the callback URL, *gap_s* seconds after the previous text."""
        self.clock.advance(seconds=gap_s)
        callback_id = next(_ids)
        answer = requests.post(
            f"{self.url}/voximplant/callback",
            data=batch(sms_callback(callback_id, body, source=source, destination=destination)),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 1, answer.text
        return answer

    def sent_bodies(self, to: str = THEIRS) -> list[str]:
        """What the fake API was asked to send to *to*, in order, once the outbox is settled."""
        self.settle()
        return [r.params["sms_body"] for r in self.fake.sent if r.params["destination"] == to]

    def settle(self) -> None:
        """Wait until nothing due now is left in the outbox and no message is being sent."""
        self.services.wakeup.set()

        def idle() -> bool:
            with self.services.engine.connect() as conn:
                due = conn.execute(
                    select(outbox.c.id).where(outbox.c.due_at <= self.clock())
                ).first()
                sending = conn.execute(
                    select(messages.c.id).where(messages.c.status.in_(["sending", "queued"]))
                ).first()
            return due is None and sending is None

        wait_until(idle)

    def outbound(self, to: str = THEIRS) -> list[Any]:
        with self.services.engine.connect() as conn:
            return list(
                conn.execute(
                    select(messages)
                    .join(threads, threads.c.id == messages.c.thread_id)
                    .where(messages.c.direction == "out")
                    .where(threads.c.their_number == to)
                    .order_by(messages.c.id)
                ).all()
            )

    def last_inbound(self) -> Any:
        with self.services.engine.connect() as conn:
            return conn.execute(
                select(messages).where(messages.c.direction == "in").order_by(messages.c.id.desc())
            ).first()

    def checks(self) -> list[dict[str, Any]]:
        """The compliance checks in the decision trace of the last inbound message."""
        row = self.last_inbound()
        return json.loads(row.trace)["checks"]

    def events(self, message_id: int) -> list[tuple[str, str | None]]:
        return events_of(self.services.engine, message_id)

    def ledger(self, number: str = THEIRS) -> list[dict[str, Any]]:
        with self.services.engine.connect() as conn:
            return consent_history(conn, number)


StartSite = Callable[..., Site]


def site_starter(config: Config) -> Iterator[StartSite]:
    """For a fixture: start the service with some compliance settings changed; stop it after."""
    started: list[tuple[Site, Callable[[], None]]] = []
    keys = key_pair()

    def start(*, at: datetime = NOON, **changes: Any) -> Site:
        fake = FakeVoximplant(keys.public_pem, ACCOUNT_ID, KEY_ID).start()
        compliance = ComplianceSettings(**changes)
        app = create_app(voximplant_config(config, fake.url, compliance=compliance))
        services: Services = app.extensions["responder"]
        clock = ManualClock(at)
        services.clock = clock
        server = serve(app)
        url = server.__enter__()
        site = Site(url, services, fake, clock, app)

        def stop() -> None:
            server.__exit__(None, None, None)
            if services.sender is not None:
                services.sender.stop()
            services.engine.dispose()
            fake.stop()
            fake.check()

        started.append((site, stop))
        return site

    yield start
    for _site, stop in started:
        stop()
