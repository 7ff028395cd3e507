"""Blueprint for POST /voximplant/callback: read the raw body, hand it to intake, answer JSON."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError

from responder.errors import CallbackError
from responder.intake import handle_batch
from responder.schemas import MAX_BODY_BYTES
from responder.services import Services

log = logging.getLogger(__name__)
bp = Blueprint("callbacks", __name__)


def _services() -> Services:
    return current_app.extensions["responder"]  # type: ignore[no-any-return]


def _error(status: int, message: str) -> ResponseReturnValue:
    return jsonify({"error": message}), status


@bp.post("/voximplant/callback")
def callback_plain() -> ResponseReturnValue:
    if _services().config.callback_token is not None:
        return _error(404, "not found")
    return _receive()


@bp.post("/voximplant/callback/<token>")
def callback_with_token(token: str) -> ResponseReturnValue:
    expected = _services().config.callback_token
    if expected is None or not expected.equals(token):
        return _error(404, "not found")
    return _receive()


def _receive() -> ResponseReturnValue:
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return _error(413, f"body of {length} bytes is over the limit of {MAX_BODY_BYTES}")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, f"body is over the limit of {MAX_BODY_BYTES} bytes")
    try:
        report = handle_batch(_services(), raw)
    except CallbackError as exc:
        return _error(400, exc.reason)
    except OperationalError:
        # The batch was not stored: a non-2xx answer asks Voximplant to deliver it again.
        log.exception("database unavailable while storing a callback batch")
        return _error(503, "storage unavailable, retry later")
    body = report.to_dict()
    if report.status != 200:
        body["error"] = "; ".join(r.reason or "" for r in report.results)
    return jsonify(body), report.status


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
