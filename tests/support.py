"""Shared test helpers: signed callbacks, waiting, a live server, provider configs, the CLI."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import requests
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import Engine, select
from werkzeug.serving import make_server

from responder import create_app
from responder.cli import cli
from responder.config import Config
from responder.providers.alphasms import AlphaSmsSettings
from responder.providers.routing import parse_routes
from responder.secret import Secret
from responder.services import Services
from responder.store.tables import message_events, messages
from tests.fakes.alphasms import FakeAlphaSms
from tests.fakes.keys import make_account

ACCOUNT_ID = 1234567
SALT = "my-salt"
API_KEY = "00000000-1111-2222-3333-444444444444"
OUR = "447443332211"
THEIRS = "447443332212"
DASHBOARD_PASSWORD = "correct horse battery staple"
_CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign(
    callback_id: int, account_id: int = ACCOUNT_ID, salt: str = SALT, api_key: str = API_KEY
) -> str:
    """The hash as Voximplant documents it: md5(salt + account_id + api_key + callback_id)."""
    text = f"{salt}{account_id}{api_key}{callback_id}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def sms_callback(
    callback_id: int,
    text: str = "HOURS",
    *,
    source: str = THEIRS,
    destination: str = OUR,
    shape: str = "nested",
    account_id: int = ACCOUNT_ID,
    signed: bool = True,
    **signing: str,
) -> dict[str, Any]:
    """One sms_inbound element in one of the three shapes the callback has had."""
    item = {"source_number": source, "destination_number": destination, "sms_body": text}
    payload: Any = {
        "nested": {"sms_inbound": item},
        "flat": item,
        "array": {"sms_inbound": [item]},
    }[shape]
    element: dict[str, Any] = {
        "callback_id": callback_id,
        "type": "sms_inbound",
        "account_id": account_id,
        "account_name": "acme-support",
        "balance": 42.17,
        "currency": "USD",
        "sms_inbound": payload,
    }
    if signed:
        element["hash"] = sign(callback_id, account_id, **signing)
    return element


def batch(*elements: dict[str, Any]) -> bytes:
    return json.dumps({"callbacks": list(elements)}).encode()


def post_callback(url: str, *elements: dict[str, Any], **kw: Any) -> requests.Response:
    """POST *elements* as one callback batch to the service at *url*, as Voximplant does."""
    return requests.post(f"{url}/voximplant/callback", data=batch(*elements), timeout=10, **kw)


def deliver(url: str, *elements: dict[str, Any]) -> None:
    """POST a callback batch and fail the test unless the service took it (200)."""
    response = post_callback(url, *elements)
    assert response.status_code == 200, response.text


class Operator:
    """A person using the dashboard: a cookie jar, and the CSRF token of the last page read."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.token = ""

    def get(self, path: str, **kw) -> requests.Response:
        response = self.http.get(urljoin(self.base, path), timeout=10, **kw)
        found = _CSRF_TOKEN.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict | None = None, *, token: bool = True, **kw):
        form = dict(data or {})
        if token:
            form["csrf_token"] = self.token
        return self.http.post(urljoin(self.base, path), data=form, timeout=10, **kw)

    def sign_in(self, password: str = DASHBOARD_PASSWORD) -> requests.Response:
        self.get("/dashboard/login")
        response = self.post("/dashboard/login", {"password": password}, allow_redirects=False)
        self.get("/dashboard/")
        return response


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll *predicate* until it returns something truthy; fail with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve *app* on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


class Served:
    """An app built from a config and served on loopback until close(); one per test."""

    def __init__(self) -> None:
        self.url = ""
        self.services: Services | None = None
        self._serving: Any = None

    def serve(self, config: Config, *, start_sender: bool = True) -> Services:
        app = create_app(config, start_sender=start_sender)
        self.services = app.extensions["responder"]
        self._serving = serve(app)
        self.url = self._serving.__enter__()
        return self.services

    def post(self, *elements: dict[str, Any]) -> requests.Response:
        return post_callback(self.url, *elements)

    def close(self) -> None:
        if self.services is not None:
            if self.services.sender is not None:
                self.services.sender.stop()
            self._serving.__exit__(None, None, None)
            self.services.rules.stop()
            self.services.engine.dispose()


def voximplant_config(config: Config, api_url: str, **changes: Any) -> Config:
    """*config* sending through the (fake) Management API at *api_url* as the test account."""
    settings: dict[str, Any] = {
        "provider": "voximplant",
        "voximplant": make_account(),
        "voximplant_api_url": api_url,
        "send_timeout_s": 2.0,
    }
    return config.with_changes(**{**settings, **changes})


def routed_config(config: Config, api_url: str, alpha: FakeAlphaSms, **changes: Any) -> Config:
    """Voximplant by default and to:380=alphasms through the fake AlphaSMS, sender name Shop."""
    return voximplant_config(
        config,
        api_url,
        alphasms=AlphaSmsSettings(Secret(alpha.key), "Shop", alpha.endpoint),
        routes=tuple(parse_routes("to:380=alphasms")),
        **changes,
    )


def without_quiet_hours(config: Config) -> Config:
    """*config* with quiet hours off, so a message goes whatever the time of day."""
    quiet = replace(config.compliance.quiet, enabled=False)
    return config.with_changes(compliance=replace(config.compliance, quiet=quiet))


def invoke_cli(config: Config, *args: str, now: datetime | None = None) -> Result:
    """Run `responder *args*` in this process on an app built from *config*, its sender off."""
    app = create_app(config, start_sender=False)
    if now is not None:
        app.extensions["responder"].clock = lambda: now
    try:
        return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))
    finally:
        app.extensions["responder"].engine.dispose()


def outbound_messages(engine: Engine) -> list[Any]:
    """Every outbound message row (replies, forwards, sends), oldest first."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(messages).where(messages.c.direction == "out").order_by(messages.c.id)
            ).all()
        )


def events_of(engine: Engine, message_id: int) -> list[tuple[str, str | None]]:
    """Each (status, detail) one message went through, oldest first."""
    with engine.connect() as conn:
        return [
            (row.status, row.detail)
            for row in conn.execute(
                select(message_events.c.status, message_events.c.detail)
                .where(message_events.c.message_id == message_id)
                .order_by(message_events.c.id)
            )
        ]
