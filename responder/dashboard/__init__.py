"""The operator dashboard: inbox, threads, hand replies, handoff, opt-outs, rules, simulator."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, Response, render_template
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from responder.config import Config
from responder.dashboard import auth, filters, pages, views  # noqa: F401 - they add to bp
from responder.dashboard.blueprint import bp

SESSION_LIFETIME = timedelta(hours=12)
KEY_FILE = "dashboard-secret-key"


def init_app(app: Flask) -> None:
    """Register the dashboard under /dashboard; without an admin password it answers 404."""
    config: Config = app.extensions["responder"].config
    if config.admin_password is not None and not config.secret_key.reveal():
        # Every web process must sign sessions with the same key, or a sign-in made in one
        # worker is unknown to the next: keep one in the data directory.
        app.config["SECRET_KEY"] = _stored_key(config.data_dir)
    app.config.update(
        SESSION_COOKIE_NAME="responder_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=config.cookie_secure,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        # A session lasts SESSION_LIFETIME from sign-in. Refreshing the cookie on every answer
        # would also let a background request (the segment counter) write back a session it
        # read before a form post changed it, losing that post's message.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.session_interface = DashboardSessions()
    app.extensions["responder.dashboard.limiter"] = auth.LoginLimiter()
    app.register_blueprint(bp)


class DashboardSessions(SecureCookieSessionInterface):
    """Only the dashboard has sessions: callbacks and probes never read or sign a cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path != bp.url_prefix and not request.path.startswith(f"{bp.url_prefix}/"):
            return None  # Flask hands the request a null session
        return super().open_session(app, request)


@bp.app_template_global()
def csrf_token() -> str:
    return auth.csrf_token()


@bp.errorhandler(HTTPException)
def dashboard_error(exc: HTTPException) -> ResponseReturnValue:
    return (
        render_template("dashboard/error.html", code=exc.code, description=exc.description),
        exc.code or 500,
    )


@bp.after_request
def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _stored_key(data_dir: Path) -> str:
    """The key in *data_dir*, created once; processes starting together all end with one key."""
    path = data_dir / KEY_FILE
    if not path.exists():
        temporary = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)  # atomic: only the first process's key is ever seen
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text(encoding="ascii").strip()
