"""Dashboard sign-in: the admin password, a limit on failed attempts, the session, CSRF tokens.

CSRF is a per-session random token compared with hmac.compare_digest, checked for every
state-changing request in one before_request hook: a few lines that cover every form, where a
form library would add a dependency and per-form classes for the same check.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.security import check_password_hash

from responder.dashboard.blueprint import bp
from responder.secret import Secret
from responder.services import current_services

log = logging.getLogger(__name__)

# Werkzeug's password hash formats, accepted in RESPONDER_ADMIN_PASSWORD instead of the password.
HASH_PREFIXES = ("pbkdf2:", "scrypt:")
PUBLIC_ENDPOINTS = frozenset({"dashboard.login", "dashboard.static"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"


def check_password(configured: Secret, given: str) -> bool:
    """True when *given* is the configured password (or matches the configured hash)."""
    stored = configured.reveal()
    if stored.startswith(HASH_PREFIXES):
        return check_password_hash(stored, given)
    # Hash both sides so the comparison takes the same time whatever the lengths.
    return hmac.compare_digest(
        hashlib.sha256(stored.encode()).digest(), hashlib.sha256(given.encode()).digest()
    )


class LoginLimiter:
    """At most *attempts* failed logins per address in *window_s*; memory stays bounded."""

    def __init__(
        self,
        attempts: int = 5,
        window_s: float = 600.0,
        *,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, key: str) -> float | None:
        """Seconds until *key* may try again, or None when it may try now."""
        now = self.clock()
        with self._lock:
            failures = self._recent(key, now)
            if len(failures) < self.attempts:
                return None
            return max(1.0, failures[0] + self.window_s - now)

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            failures = self._recent(key, now)
            failures.append(now)
            self._failures[key] = failures
            if len(self._failures) > self.max_addresses:
                # Forget the address whose last failure is oldest.
                oldest = min(self._failures, key=lambda k: self._failures[k][-1])
                del self._failures[oldest]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def _limiter() -> LoginLimiter:
    return current_app.extensions["responder.dashboard.limiter"]  # type: ignore[no-any-return]


def _fingerprint(password: Secret) -> str:
    """Ties a session to the password it was opened with: changing it signs everyone out."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"admin:" + password.reveal().encode(), hashlib.sha256).hexdigest()


def is_signed_in() -> bool:
    password = current_services().config.admin_password
    marker = session.get("admin")
    if password is None or not isinstance(marker, str):
        return False
    return hmac.compare_digest(marker.encode(), _fingerprint(password).encode())


def csrf_token() -> str:
    """The session's CSRF token, created on first use; every form carries it."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _csrf_ok() -> bool:
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@bp.before_request
def guard() -> ResponseReturnValue | None:
    """Every dashboard request: off without a password, signed in, CSRF token on writes."""
    if current_services().config.admin_password is None:
        abort(404, "The dashboard is off: set RESPONDER_ADMIN_PASSWORD to turn it on.")
    if request.endpoint not in PUBLIC_ENDPOINTS and not is_signed_in():
        if request.method in SAFE_METHODS:
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        abort(401, "Sign in first.")
    if request.method not in SAFE_METHODS and not _csrf_ok():
        abort(400, "This form has expired or did not come from the dashboard; reload and retry.")
    return None


def _safe_next(target: str | None) -> str:
    # Only a path inside the dashboard: never another host ("//evil", "https://...").
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return url_for("dashboard.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form; a right password opens a new session, failures are counted."""
    password = current_services().config.admin_password
    if password is None:  # guard() has answered 404 already; this narrows the type
        abort(404)
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if is_signed_in():
            return redirect(next_url)
        return render_template("dashboard/login.html", next=next_url)
    address = request.remote_addr or "unknown"
    wait = _limiter().retry_after(address)
    if wait is not None:
        log.warning("dashboard sign-in from %s refused: too many failed attempts", address)
        minutes = max(1, round(wait / 60))
        error = f"Too many failed attempts; try again in about {minutes} min."
        response = current_app.make_response(
            (render_template("dashboard/login.html", next=next_url, error=error), 429)
        )
        response.headers["Retry-After"] = str(int(wait))
        return response
    if not check_password(password, request.form.get("password", "")):
        _limiter().failed(address)
        log.warning("dashboard sign-in from %s failed: wrong password", address)
        return render_template("dashboard/login.html", next=next_url, error="Wrong password."), 401
    _limiter().succeeded(address)
    log.info("dashboard sign-in from %s", address)
    # A new session on sign-in, so a token planted before it is worth nothing.
    session.clear()
    session.permanent = True
    session["admin"] = _fingerprint(password)
    csrf_token()
    return redirect(next_url)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session."""
    session.clear()
    return redirect(url_for("dashboard.login"))
