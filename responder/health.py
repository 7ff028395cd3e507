"""/healthz (the process answers) and /readyz (database, rules and provider are usable)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from responder.ruleset import RuleSetError
from responder.services import Services, current_services
from responder.store.db import reading
from responder.store.tables import outbox, seen_callbacks

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

Check = Callable[[Services], str]


class NotReadyError(Exception):
    """A readiness check failed; the message is safe to show to anyone."""


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Alive: answers without touching the database."""
    return _no_store(jsonify({"status": "ok"})), 200


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready: every check passes; 503 naming the failed ones otherwise."""
    services = current_services()
    checks: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        try:
            checks[name] = {"ok": True, "detail": check(services)}
        except NotReadyError as exc:
            checks[name] = {"ok": False, "detail": str(exc)}
    ready = all(c["ok"] for c in checks.values())
    if not ready:
        failed = ", ".join(n for n, c in checks.items() if not c["ok"])
        log.warning("not ready: %s", failed)
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return _no_store(jsonify(body)), 200 if ready else 503


def check_database(services: Services) -> str:
    try:
        with reading(services.engine) as conn:
            # Reading the tables, not just SELECT 1: a database without our schema is not ready.
            conn.execute(select(outbox.c.id).limit(1)).all()
            conn.execute(select(seen_callbacks.c.callback_id).limit(1)).all()
    except SQLAlchemyError as exc:
        log.warning("readiness: database check failed", exc_info=True)
        raise NotReadyError(
            f"cannot read the tables ({type(exc).__name__}); run 'responder db upgrade' "
            "if the schema is missing, else see the log"
        ) from None
    return f"{services.engine.dialect.name} reachable"


def check_rules(services: Services) -> str:
    try:
        ruleset = services.rules.current()
    except RuleSetError as exc:
        errors = [p for p in exc.problems if p.is_error]
        raise NotReadyError(
            f"no rules are live: {len(errors)} problem(s); run 'responder rules check'"
        ) from None
    return f"version {ruleset.version}, {len(ruleset.rules)} rule(s)"


def check_provider(services: Services) -> str:
    wanted = services.config.provider
    actual = services.provider.name
    if actual != wanted:
        raise NotReadyError(f"provider {wanted!r} asked for, {actual!r} in use")
    if actual == "log":
        return "log: replies are written to the log, not sent"
    return actual


CHECKS: dict[str, Check] = {
    "database": check_database,
    "rules": check_rules,
    "provider": check_provider,
}


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
