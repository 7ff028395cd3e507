"""Request ids: take a sane X-Request-Id or make one, and carry it from a callback to its reply."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
MAX_LENGTH = 64  # the width of messages.request_id

# Printable, no spaces or quotes: safe in a log line, a header and a column. Routers send UUIDs.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,63}")

_current: ContextVar[str | None] = ContextVar("responder_request_id", default=None)


def new_request_id() -> str:
    """32 random hex digits, the form of a UUID without dashes."""
    return secrets.token_hex(16)


def accept_request_id(value: str | None) -> str:
    """The caller's id when it is sane (1-64 safe characters), otherwise a new one."""
    if value is not None and _SANE.fullmatch(value.strip()):
        return value.strip()
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request (or outbox message) this thread is working on, if any."""
    return _current.get()


@contextmanager
def bound_request_id(value: str | None) -> Iterator[str | None]:
    """Make *value* the current request id inside the block."""
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


def init_app(app: Flask) -> None:
    """Give every request an id, in the logs while it runs and in the X-Request-Id answer."""

    @app.before_request
    def bind() -> None:
        request_id = accept_request_id(request.headers.get(HEADER))
        g.request_id = request_id
        g.request_id_token = _current.set(request_id)

    @app.after_request
    def answer(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[HEADER] = request_id
        return response

    @app.teardown_request
    def unbind(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            _current.reset(token)
