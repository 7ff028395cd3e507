"""Service-account JWTs for the Management API: RS256, short-lived, cached with a margin."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import jwt
from jwt.api_jws import PyJWS

from responder.config import VoximplantAccount
from responder.errors import ErrorKind
from responder.voximplant.errors import VoximplantApiError

# Voximplant refuses tokens issued in the future (455); back-dating absorbs small clock skew.
ISSUED_SKEW_S = 5
# Short lifetime: a leaked token is useless within a minute. The API allows up to 3600 s.
LIFETIME_S = 60
# Never hand out a token this close to expiry: it could expire in flight.
RENEW_MARGIN_S = 10
# A token signed anew within the same second is back-dated one second more than the one before,
# so a refused token is never sent again byte for byte, up to this many extra seconds. Only the
# documented claims (iss, iat, exp) are sent: the API reference names no others.
MAX_EXTRA_BACKDATE_S = 60


_JWS = PyJWS()


class TokenSigner:
    """Signs Bearer tokens for one service account; thread-safe."""

    def __init__(self, account: VoximplantAccount, *, now: Callable[[], float] = time.time) -> None:
        self._account = account
        self._now = now
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._signed_at: int | None = None  # the second the last token was signed in
        self._backdate = 0  # extra seconds of back-dating within that second

    def token(self) -> str:
        """Return a valid token, signing a new one when the cached one is near expiry."""
        with self._lock:
            now = self._now()
            if self._token is None or now >= self._expires_at - RENEW_MARGIN_S:
                self._token, self._expires_at = self._sign(int(now))
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token so the next request signs a fresh one."""
        with self._lock:
            self._token = None
            self._expires_at = 0.0

    def _sign(self, now: int) -> tuple[str, float]:
        expires_at = now + LIFETIME_S
        if now == self._signed_at:
            self._backdate = (self._backdate + 1) % (MAX_EXTRA_BACKDATE_S + 1)
        else:
            self._signed_at, self._backdate = now, 0
        issued_at = now - ISSUED_SKEW_S - self._backdate
        claims = {"iss": self._account.account_id, "iat": issued_at, "exp": expires_at}
        headers = {"kid": self._account.key_id, "typ": "JWT"}
        # Signed at the JWS level: PyJWT's jwt.encode insists on a string iss, while Voximplant's
        # own examples and clients send the account id as a JSON number.
        payload = json.dumps(claims, separators=(",", ":")).encode()
        try:
            token = _JWS.encode(
                payload, self._account.private_key.reveal(), algorithm="RS256", headers=headers
            )
        except (ValueError, TypeError, jwt.PyJWTError):
            # Raised from None: the original error may quote the key material.
            raise VoximplantApiError(
                f"cannot sign a token for key {self._account.key_id}: "
                "the private key is not a valid RSA PEM key",
                kind=ErrorKind.PERMANENT,
            ) from None
        return token, float(expires_at)
