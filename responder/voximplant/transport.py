"""Management API transport: signs each request, posts form fields, turns failures into errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Self

import requests

from responder.config import VoximplantAccount
from responder.errors import ErrorKind
from responder.secret import Secret
from responder.voximplant.errors import VoximplantApiError, classify, retry_after_hint
from responder.voximplant.tokens import TokenSigner
from responder.voximplant.wire import encode_params

log = logging.getLogger(__name__)

_SNIPPET_CHARS = 200


class ApiTransport:
    """One account's Management API over one requests.Session; safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        account: VoximplantAccount,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_id = account.account_id
        self.timeout = timeout
        self._signer = TokenSigner(account, now=now)
        self._own_session = session is None
        self._session = session or requests.Session()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def invalidate_token(self) -> None:
        """Sign a fresh token for the next request."""
        self._signer.invalidate()

    def call(self, method: str, params: Mapping[str, object] | None = None) -> dict[str, Any]:
        """POST *method* with *params*; return the JSON answer or raise VoximplantApiError.

        A refused token (447, 454, 455, 456) is replaced and the request tried once more: the
        refusal means Voximplant did not act on it, so repeating it cannot send anything twice.
        """
        params = params or {}
        form = encode_params(params)
        hidden = [v.reveal() for v in params.values() if isinstance(v, Secret) and v.reveal()]
        try:
            return self._post(method, form, hidden)
        except VoximplantApiError as exc:
            if exc.kind is not ErrorKind.TOKEN:
                raise
            log.warning("Voximplant %s: token refused (%s), retrying with a new one", method, exc)
            self._signer.invalidate()
        return self._post(method, form, hidden)

    def _post(self, method: str, form: dict[str, str], hidden: list[str]) -> dict[str, Any]:
        token = self._signer.token()
        hidden = [token, *hidden]
        started = time.monotonic()
        try:
            response = self._session.post(
                f"{self.base_url}/{method}",
                data=form,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            # Raised from None: the chained exception holds the request, headers and token included.
            raise _network_error(method, exc, self.timeout, hidden) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        log.debug("Voximplant %s: HTTP %d in %.0f ms", method, response.status_code, elapsed_ms)
        return _read_answer(method, response, hidden)


def _network_error(
    method: str, exc: requests.RequestException, timeout: float, hidden: list[str]
) -> VoximplantApiError:
    # Every network failure is transient, even a timeout after the request went out: Voximplant
    # refuses a quick identical resend (484), so retrying cannot deliver an SMS twice.
    if isinstance(exc, requests.ConnectTimeout):
        msg = f"could not connect within {timeout:g} s"
    elif isinstance(exc, requests.Timeout):
        msg = f"no answer within {timeout:g} s (the request may have been processed)"
    elif isinstance(exc, requests.ConnectionError):
        msg = f"connection failed: {_scrub(str(exc), hidden)}"
    else:
        msg = f"request failed: {type(exc).__name__}: {_scrub(str(exc), hidden)}"
    return VoximplantApiError(msg, kind=ErrorKind.TRANSIENT, method=method)


def _read_answer(method: str, response: requests.Response, hidden: list[str]) -> dict[str, Any]:
    status = response.status_code
    retry_header = response.headers.get("Retry-After")
    try:
        body = response.json()
    except ValueError:
        body = None
    error = _error_in(body)
    if error is not None:
        code, msg = error
        msg = _scrub(msg, hidden)
        raise VoximplantApiError(
            msg,
            kind=classify(code, status),
            method=method,
            code=code,
            status=status,
            retry_after=retry_after_hint(code, msg, retry_header),
        )
    if not 200 <= status < 300 or not isinstance(body, dict):
        kind = classify(None, status)
        if 200 <= status < 300:
            # Usually a proxy or maintenance page; the duplicate guard makes a retry safe.
            kind = ErrorKind.TRANSIENT
        described = "not JSON" if body is None else f"unexpected JSON ({type(body).__name__})"
        raise VoximplantApiError(
            f"answer is {described}: {_snippet(response, hidden)}",
            kind=kind,
            method=method,
            status=status,
            retry_after=retry_after_hint(None, "", retry_header),
        )
    return body


def _error_in(body: object) -> tuple[int | None, str] | None:
    """Voximplant's error as (code, msg) from `error: {...}` or `errors: [...]`, if present."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if error is None:
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            error = errors[0]
    if error is None:
        return None
    if isinstance(error, dict):
        raw_code = error.get("code")
        msg = str(error.get("msg") or error.get("message") or "no error text")
    else:
        raw_code, msg = None, str(error)
    try:
        code = None if raw_code is None else int(raw_code)
    except (TypeError, ValueError):
        code, msg = None, f"{msg} (code {raw_code!r})"
    return code, msg


def _snippet(response: requests.Response, hidden: list[str]) -> str:
    text = " ".join(response.text[: _SNIPPET_CHARS * 2].split())
    text = _scrub(text, hidden)
    return text[:_SNIPPET_CHARS] or "(empty body)"


def _scrub(text: str, hidden: list[str]) -> str:
    for value in hidden:
        text = text.replace(value, "***")
    return text
