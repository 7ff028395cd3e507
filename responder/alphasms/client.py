"""AlphaSMS /api/http.php client: send, delivery status, balance and price, with typed errors.

http.php takes no client message id, so the gateway cannot recognise a repeated send. A send
that timed out or lost its connection after the request left us may therefore have been sent:
it raises AlphaSmsError with kind UNKNOWN and is never repeated here. Only failures that
certainly happened before the request left (connection refused, connect timeout, TLS handshake)
and HTTP 5xx answers are TRANSIENT; an `errors:` reply is PERMANENT. Read-only commands
(receive, balance, price) are safe to repeat, so their timeouts are TRANSIENT.

Requests are POSTed as forms, which keeps the key out of URLs and proxy logs and out of the
automatic retries that urllib3 applies to idempotent methods only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from responder.alphasms.errors import AlphaSmsError
from responder.alphasms.reply import parse_pairs
from responder.alphasms.status import DeliveryState, DeliveryStatus, parse_status
from responder.errors import ErrorKind
from responder.numbers import digits_only
from responder.secret import Secret

log = logging.getLogger("responder.alphasms")

DEFAULT_URL = "https://alphasms.ua/api/http.php"
ENDPOINT_PATH = "/api/http.php"
SENDER_MAX_LEN = 11
_SENDER_CHARS = re.compile(r"[A-Za-z0-9._-]+")
_SNIPPET_LEN = 120


def check_sender_name(name: str) -> str | None:
    """Why *name* cannot be an AlphaSMS sender (alpha-name or number), or None when it can."""
    if not name:
        return "is empty; expected the registered alpha-name, 1 to 11 characters"
    if len(name) > SENDER_MAX_LEN:
        return f"must be at most {SENDER_MAX_LEN} characters (got {len(name)}: {name!r})"
    if not _SENDER_CHARS.fullmatch(name):
        return f"may contain only Latin letters, digits, '.', '-' and '_' (got {name!r})"
    return None


def endpoint_url(base_url: str) -> str:
    """The http.php URL for *base_url*, which may be the host alone or the full endpoint."""
    url = base_url.strip().rstrip("/")
    return url if url.endswith(".php") else url + ENDPOINT_PATH


@dataclass(frozen=True)
class AlphaSendResult:
    """The gateway accepted a message: its id and how many SMS parts it bills."""

    message_id: str
    sms_count: int | None


@dataclass(frozen=True)
class AlphaPrice:
    """The cost of one SMS to a number."""

    amount: Decimal
    currency: str | None


class AlphaSmsClient:
    """One requests.Session talking to AlphaSMS http.php with an API key."""

    def __init__(
        self,
        base_url: str,
        api_key: Secret,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = endpoint_url(base_url)
        self.timeout = timeout
        self._api_key = api_key
        # A caller's session must not retry POSTs on read errors, or a send could repeat.
        self._owns_session = session is None
        self._session = session or requests.Session()
        parts = urlsplit(self.url)
        self._host = parts.hostname or self.url

    def __repr__(self) -> str:
        return f"AlphaSmsClient({self.url!r}, api_key={self._api_key!r})"

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session:
            self._session.close()

    def send(
        self, sender: str, to: str, text: str, *, our_id: str | None = None
    ) -> AlphaSendResult:
        """Send one SMS from *sender* to *to*; *our_id* only labels our log lines."""
        problem = check_sender_name(sender)
        if problem is not None:
            raise AlphaSmsError(f"AlphaSMS sender name {problem}", kind=ErrorKind.PERMANENT)
        number = digits_only(to)
        if not number:
            raise AlphaSmsError(
                f"AlphaSMS send: recipient {to!r} has no digits", kind=ErrorKind.PERMANENT
            )
        if not text.strip():
            raise AlphaSmsError("AlphaSMS send: the message is empty", kind=ErrorKind.PERMANENT)
        params = {"from": sender, "to": number, "message": text}
        reply, body = self._call("send", params, sending=True)
        message_id = reply.get("id", "")
        if not message_id.isdecimal():
            raise AlphaSmsError(
                f"AlphaSMS send: reply has no message id ({self._snippet(body)}); "
                "the message may have been sent, so it is not resent automatically",
                kind=ErrorKind.UNKNOWN,
                command="send",
            )
        count = reply.get("sms_count", "")
        sms_count = int(count) if count.isdecimal() else None
        log.info(
            "AlphaSMS accepted message %s as id %s (%s part(s))",
            our_id or "-",
            message_id,
            sms_count if sms_count is not None else "?",
        )
        return AlphaSendResult(message_id=message_id, sms_count=sms_count)

    def status(self, ids: Iterable[str]) -> dict[str, DeliveryStatus]:
        """Delivery status of each id (one receive request each).

        An id the gateway refuses (e.g. "SMS not found") comes back as state UNKNOWN with the
        gateway's text in .error; when every id is refused, the first refusal is raised, so
        wrong credentials are never mistaken for a batch of unknown messages.
        """
        results: dict[str, DeliveryStatus] = {}
        first_refusal: AlphaSmsError | None = None
        for message_id in dict.fromkeys(ids):
            try:
                reply, _ = self._call("receive", {"id": message_id}, sending=False)
            except AlphaSmsError as exc:
                if not exc.errors:
                    raise
                first_refusal = first_refusal or exc
                results[message_id] = DeliveryStatus(
                    message_id, DeliveryState.UNKNOWN, error="; ".join(exc.errors)
                )
                continue
            results[message_id] = parse_status(message_id, reply)
        if first_refusal is not None and all(s.error is not None for s in results.values()):
            raise first_refusal
        return results

    def balance(self) -> Decimal:
        """The account balance (UAH for Ukrainian accounts)."""
        reply, body = self._call("balance", {}, sending=False)
        return self._decimal(reply, "balance", body, "balance")

    def price(self, number: str, *, sender: str | None = None) -> AlphaPrice:
        """The cost of one SMS to *number*, optionally from *sender*."""
        params = {"to": digits_only(number)}
        if sender:
            params["from"] = sender
        reply, body = self._call("price", params, sending=False)
        return AlphaPrice(self._decimal(reply, "price", body, "price"), reply.get("currency"))

    def _call(
        self, command: str, params: dict[str, str], *, sending: bool
    ) -> tuple[dict[str, str], str]:
        data = {"version": "http", "key": self._api_key.reveal(), "command": command, **params}
        try:
            response = self._session.post(self.url, data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise self._transport_error(command, exc, sending=sending) from None
        body = response.content.decode("utf-8", errors="replace")
        status = response.status_code
        if status != 200:
            raise self._http_error(command, response, body, sending=sending)
        pairs = parse_pairs(body)
        errors = tuple(self._scrub(value) for key, value in pairs if key == "errors")
        if errors:
            raise AlphaSmsError(
                f"AlphaSMS refused {command}: {'; '.join(e or '(no text)' for e in errors)}",
                kind=ErrorKind.PERMANENT,
                command=command,
                errors=errors,
                status=status,
            )
        reply: dict[str, str] = {}
        for key, value in pairs:
            reply.setdefault(key, value)
        return reply, body

    def _http_error(
        self, command: str, response: requests.Response, body: str, *, sending: bool
    ) -> AlphaSmsError:
        status = response.status_code
        where = f"AlphaSMS {command}: HTTP {status} from {self._host} ({self._snippet(body)})"
        if status == 504 and sending:
            # A gateway timeout means a proxy passed the request on and gave up waiting.
            return AlphaSmsError(
                where + "; the message may have been sent, so it is not resent automatically",
                kind=ErrorKind.UNKNOWN,
                command=command,
                status=status,
            )
        if status >= 500:
            kind = ErrorKind.TRANSIENT
        elif status == 429:
            kind = ErrorKind.RATE_LIMITED
        else:
            kind = ErrorKind.PERMANENT
        retry_after = response.headers.get("Retry-After", "")
        return AlphaSmsError(
            where,
            kind=kind,
            command=command,
            status=status,
            retry_after=float(retry_after) if retry_after.isdecimal() else None,
        )

    def _transport_error(
        self, command: str, exc: requests.RequestException, *, sending: bool
    ) -> AlphaSmsError:
        name = type(exc).__name__
        if isinstance(exc, ValueError):  # InvalidURL, MissingSchema, InvalidSchema
            return AlphaSmsError(
                f"AlphaSMS {command}: the gateway URL is not usable ({name})",
                kind=ErrorKind.PERMANENT,
                command=command,
            )
        if not _may_have_reached_gateway(exc):
            return AlphaSmsError(
                f"AlphaSMS {command}: could not connect to {self._host} ({name}); nothing was sent",
                kind=ErrorKind.TRANSIENT,
                command=command,
            )
        if isinstance(exc, requests.Timeout):
            what = f"no reply from {self._host} within {self.timeout:g} s"
        else:
            what = f"the connection to {self._host} broke before the reply arrived ({name})"
        if sending:
            return AlphaSmsError(
                f"AlphaSMS send: {what}; the message may have been sent, "
                "so it is not resent automatically",
                kind=ErrorKind.UNKNOWN,
                command=command,
            )
        return AlphaSmsError(
            f"AlphaSMS {command}: {what}", kind=ErrorKind.TRANSIENT, command=command
        )

    def _decimal(self, reply: dict[str, str], key: str, body: str, command: str) -> Decimal:
        try:
            return Decimal(reply[key].replace(",", "."))
        except (KeyError, InvalidOperation):
            raise AlphaSmsError(
                f"AlphaSMS {command}: expected '{key}:<number>' (got {self._snippet(body)})",
                kind=ErrorKind.TRANSIENT,
                command=command,
            ) from None

    def _scrub(self, text: str) -> str:
        key = self._api_key.reveal()
        return text.replace(key, "***") if len(key) >= 4 else text

    def _snippet(self, body: str) -> str:
        text = " ".join(body.split())
        if len(text) > _SNIPPET_LEN:
            text = text[:_SNIPPET_LEN] + "…"
        return repr(self._scrub(text)) if text else "empty body"


def _may_have_reached_gateway(exc: requests.RequestException) -> bool:
    """False only when the request certainly never left: no connection or no TLS session."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if not isinstance(exc, requests.ConnectionError):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    if isinstance(reason, urllib3.exceptions.ProxyError):
        reason = reason.original_error
    return not isinstance(
        reason, (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.SSLError)
    )
