"""Blueprint for POST /voximplant/callback: read the raw body, hand it to intake, answer JSON."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError

from responder.errors import CallbackError
from responder.inbox import queue_batch
from responder.intake import handle_batch
from responder.quarantine import (
    Refusal,
    keep,
    kept_headers,
    refusal_of_body,
    refusal_of_report,
    refusal_of_token,
)
from responder.request_ids import current_request_id
from responder.schemas import MAX_BODY_BYTES
from responder.services import Services, current_services

log = logging.getLogger(__name__)
bp = Blueprint("callbacks", __name__)


# One encoder for every answer; jsonify builds one per call, with sorted keys.
_JSON = json.JSONEncoder(separators=(",", ":"))


def _answer(body: dict[str, Any], status: int) -> Response:
    return Response(_JSON.encode(body), status=status, mimetype="application/json")


def _error(status: int, message: str) -> Response:
    return _answer({"error": message}, status)


@bp.post("/voximplant/callback")
def callback_plain() -> ResponseReturnValue:
    services = current_services()
    if services.config.callback_token is not None:
        return _refuse_token("plain", "the URL has no token, and RESPONDER_CALLBACK_TOKEN is set")
    return _receive(services, "plain")


@bp.post("/voximplant/callback/<token>")
def callback_with_token(token: str) -> ResponseReturnValue:
    services = current_services()
    expected = services.config.callback_token
    if expected is None:
        return _refuse_token("token", "the URL has a token, and RESPONDER_CALLBACK_TOKEN is unset")
    if not expected.equals(token):
        return _refuse_token("token", "the URL's token is not RESPONDER_CALLBACK_TOKEN")
    return _receive(services, "token")


def _read_body() -> bytes | ResponseReturnValue:
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return _error(413, f"body of {length} bytes is over the limit of {MAX_BODY_BYTES}")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, f"body is over the limit of {MAX_BODY_BYTES} bytes")
    return raw


def _refuse_token(route: str, reason: str) -> ResponseReturnValue:
    # Answered like any unknown URL, but kept: a token changed on one side only loses nothing.
    raw = _read_body()
    if isinstance(raw, bytes):
        _keep(refusal_of_token(reason), raw, route, 404)
    return _error(404, "not found")


def _keep(refusal: Refusal, raw: bytes, route: str, status: int) -> None:
    keep(
        current_services(),
        refusal,
        body=raw,
        route=route,
        status_code=status,
        headers=kept_headers(request.headers),
        request_id=current_request_id(),
        remote_addr=request.remote_addr,
    )


def _receive(services: Services, route: str) -> ResponseReturnValue:
    raw = _read_body()
    if not isinstance(raw, bytes):
        return raw
    token_checked = route == "token"
    process = queue_batch if services.config.intake_mode == "queue" else handle_batch
    try:
        report = process(services, raw)
    except CallbackError as exc:
        services.metrics.count_callback("malformed")
        _keep(refusal_of_body(exc, token_checked=token_checked), raw, route, 400)
        return _error(400, exc.reason)
    except DBAPIError:
        # Any error of the database (down, locked too long, a table missing): the batch was
        # not stored, and a non-2xx answer asks Voximplant to deliver it again.
        log.exception("database error while storing a callback batch; answered 503")
        return _error(503, "storage unavailable, retry later")
    for result in report.results:
        services.metrics.count_callback(result.outcome.value)
    body = report.to_dict()
    if report.status != 200:
        body["error"] = "; ".join(r.reason or "" for r in report.results)
    refusal = refusal_of_report(report, token_checked=token_checked)
    if refusal is not None:
        _keep(refusal, raw, route, report.status)
    return _answer(body, report.status)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
