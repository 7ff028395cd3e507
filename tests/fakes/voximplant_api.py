"""A fake Voximplant Management API: a real HTTP server on loopback that checks JWTs and records."""

from __future__ import annotations

import json
import math
import random
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

BASE_PATH = "/platform_api"

ERROR_TEXT = {
    1: "Fatal error",
    2: "Internal error",
    4: "Database error",
    14: "SMS gateway error",
    100: "Authorization failed",
    101: "Invalid arguments",
    102: "Missing 'cmd' parameter",
    103: "Unknown command",
    104: "The command is forbidden for this role",
    121: "Invalid phone number",
    127: "Insufficient money",
    134: "Required parameter is empty",
    162: "Try later",
    340: "Rate limit exceeded",
    385: "Sending SMS error",
    386: "SMS is disabled for the number",
    398: "Invalid callback_url",
    399: "callback_salt must be shorter than 40 characters",
    416: "Repeat after 10 seconds",
    422: "Invalid source",
    423: "Invalid destination",
    433: "Invalid key id",
    447: "Invalid token format",
    454: "Token lifetime is above the maximum",
    455: "Token is issued in the future",
    456: "Token has expired",
    470: "Invalid direction",
    484: "Rejected as a probable automatic resend, try later",
    506: "No route for the destination",
    507: "Invalid src_number",
    508: "Invalid text",
    509: "A2P SMS is disabled for the account",
    528: "SMS is not supported",
}

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
DELIVERY_STATUSES = {
    1: "QUEUED", 2: "DISPATCHED", 3: "ABORTED", 4: "REJECTED",
    5: "DELIVERED", 6: "FAILED", 7: "EXPIRED", 8: "UNKNOWN",
}  # fmt: skip
DATE_PARAMS = ("from_date", "to_date")
TEXT_PARAMS = ("sms_body", "text")
API_DATETIME = "%Y-%m-%d %H:%M:%S"
# How far in the future a token's iat may be before it counts as "issued in the future".
IAT_LEEWAY_S = 10


def count_fragments(text: str) -> int:
    """Segments a gateway would bill: 160/153 GSM-7 septets, else 70/67 UTF-16 units."""
    if all(ch in GSM7 or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, part = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def api_now() -> str:
    return datetime.now(UTC).strftime(API_DATETIME)


def error_body(code: int, msg: str | None = None) -> dict[str, Any]:
    """The error shape Voximplant answers with: `error` plus the same item in `errors`."""
    item = {"code": code, "msg": msg or ERROR_TEXT.get(code, "Error")}
    return {"error": item, "errors": [item]}


class ApiFault(Exception):
    """Raised by a method implementation to answer with a Voximplant error."""

    def __init__(self, code: int, msg: str | None = None) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg or ERROR_TEXT.get(code, "Error")


@dataclass
class RecordedRequest:
    """One request the fake received, as it arrived and as it was answered."""

    method: str
    params: dict[str, str]
    headers: dict[str, str]
    claims: dict[str, Any] | None
    at: float
    http_method: str
    path: str
    style: str  # "path" (method in the URL) or "cmd" (method in the cmd field)
    content_type: str
    auth_error: int | None = None
    status: int | None = None  # None when the connection was dropped without an answer
    answer: dict[str, Any] | None = None


@dataclass
class _Answer:
    status: int | None  # None: close the connection without answering
    body: dict[str, Any] | str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Script:
    action: str  # "answer", "stall", "late" or "drop"
    remaining: int | None  # None: until reset()
    method: str | None = None
    answer: _Answer | None = None
    seconds: float = 0.0
    processed: bool = False
    skip: int = 0  # matching requests to let through before this script applies


class FakeVoximplant:
    """The Management API on 127.0.0.1:<free port>: verifies JWTs, records requests, scriptable."""

    def __init__(self, public_key_pem: str, account_id: int, key_id: str) -> None:
        self.public_key_pem = public_key_pem
        self.account_id = account_id
        self.key_id = key_id
        self.requests: list[RecordedRequest] = []
        self.sent: list[RecordedRequest] = []
        self.auth_failures: list[RecordedRequest] = []
        self.errors: list[str] = []
        self.numbers: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self.a2p_history: list[dict[str, Any]] = []
        self.a2p_failing: set[str] = set()
        self.legacy_answers = False
        self.duplicate_window_s: float | None = None
        self.account: dict[str, Any] = {
            "account_id": account_id,
            "account_name": "acme-support",
            "account_email": "ops@example.com",
            "active": True,
            "frozen": False,
            "balance": 42.17,
            "currency": "USD",
            "callback_url": None,
            "callback_salt": None,
            "store_inbound_sms": False,
            "store_outbound_sms": False,
            "a2p_sms_enabled": True,
            "created": "2024-01-15 09:30:00",
        }
        self._scripts: list[_Script] = []
        self._chaos: tuple[random.Random, dict[str, float], str, float, float] | None = None
        self.injected: Counter[str] = Counter()  # faults chaos() injected, by name
        self.in_flight = 0  # requests received and not yet answered
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._next_id = 500000
        self._next_phone_id = 7000
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.methods: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "SendSmsMessage": self._send_sms_message,
            "A2PSendSms": self._a2p_send_sms,
            "ControlSms": self._control_sms,
            "GetSmsHistory": self._get_sms_history,
            "A2PGetSmsHistory": self._a2p_get_sms_history,
            "GetPhoneNumbers": self._get_phone_numbers,
            "GetAccountInfo": self._get_account_info,
            "SetAccountInfo": self._set_account_info,
            "SetPhoneNumberInfo": self._set_phone_number_info,
        }

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> FakeVoximplant:
        """Serve on a free loopback port in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-voximplant",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled requests are released at once."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeVoximplant:
        return self.start()

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.stop()
        if exc_type is None:
            self.check()

    def check(self) -> None:
        """Raise AssertionError for anything unexpected the fake saw (the test's teardown)."""
        if self.errors:
            raise AssertionError("fake Voximplant saw problems:\n" + "\n".join(self.errors))

    @property
    def url(self) -> str:
        """The platform_api base URL to configure the client with."""
        if self._server is None:
            raise RuntimeError("FakeVoximplant is not started")
        return f"http://127.0.0.1:{self._server.server_port}{BASE_PATH}"

    # -- scripting ----------------------------------------------------------------------------

    def respond_next(
        self, body: dict[str, Any] | str, status: int = 200, n: int = 1, *,
        headers: dict[str, str] | None = None, method: str | None = None,
    ) -> None:  # fmt: skip
        """Answer the next *n* requests with *body* (JSON when a dict) and HTTP *status*."""
        self._script(_Script("answer", n, method, _Answer(status, body, headers or {})))

    def fail_next(
        self, n: int = 1, status: int = 503, *, body: str = "<html>Service Unavailable</html>",
        method: str | None = None,
    ) -> None:  # fmt: skip
        """Answer the next *n* requests with HTTP *status* and a non-JSON body."""
        self.respond_next(body, status, n, method=method)

    def error_next(
        self, code: int, msg: str | None = None, status: int = 200, n: int = 1,
        *, method: str | None = None, after: int = 0,
    ) -> None:  # fmt: skip
        """Answer *n* requests with error *code* (and HTTP *status*), after *after* good ones."""
        answer = _Answer(status, error_body(code, msg))
        self._script(_Script("answer", n, method, answer, skip=after))

    def error_always(
        self, code: int, msg: str | None = None, status: int = 200, *, method: str | None = None
    ) -> None:
        """Answer every request with error *code* until reset()."""
        self._script(_Script("answer", None, method, _Answer(status, error_body(code, msg))))

    def stall_next(self, seconds: float, n: int = 1, *, method: str | None = None) -> None:
        """Hold the next *n* requests for *seconds* (less if stopped), then process them."""
        self._script(_Script("stall", n, method, seconds=seconds))

    def answer_late_next(self, seconds: float, n: int = 1, *, method: str | None = None) -> None:
        """Act on the next *n* requests at once, but hold their answers for *seconds*."""
        self._script(_Script("late", n, method, seconds=seconds))

    def drop_next(self, n: int = 1, *, processed: bool = False, method: str | None = None) -> None:
        """Close the connection without an answer; with *processed*, only after acting on it."""
        self._script(_Script("drop", n, method, processed=processed))

    def chaos(
        self, faults: Mapping[str, float], *, seed: int = 0, method: str = "SendSmsMessage",
        stall_s: float = 2.0, slow_s: float = 0.2,
    ) -> None:  # fmt: skip
        """Inject random faults into *method* requests, each name with its probability.

        5xx: HTTP 503, not processed. transient: error 14, not processed. rate_limit: error 340.
        http_429: HTTP 429. slow: answered after *slow_s*. timeout: processed after *stall_s*
        (longer than the client waits). lost_answer: processed, then the connection is closed.
        """
        unknown = set(faults) - set(CHAOS_FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(CHAOS_FAULTS)}")
        with self._lock:
            self._chaos = (random.Random(seed), dict(faults), method, stall_s, slow_s)

    def _chaos_script(self, method: str) -> _Script | None:
        with self._lock:
            if self._chaos is None or method != self._chaos[2]:
                return None
            rng, faults, _, stall_s, slow_s = self._chaos
            roll = rng.random()
            for name, chance in faults.items():
                if roll < chance:
                    self.injected[name] += 1
                    return CHAOS_FAULTS[name](stall_s, slow_s)
                roll -= chance
        return None

    def reset(self) -> None:
        """Forget scripts, recorded requests and errors; the numbers, account and history stay."""
        with self._lock:
            self._scripts.clear()
            self.requests.clear()
            self.sent.clear()
            self.auth_failures.clear()
            self.errors.clear()

    def _script(self, script: _Script) -> None:
        with self._lock:
            self._scripts.append(script)

    def _take_script(self, method: str) -> _Script | None:
        with self._lock:
            for script in self._scripts:
                if script.method is not None and script.method != method:
                    continue
                if script.skip > 0:
                    script.skip -= 1
                    return None
                if script.remaining is not None:
                    script.remaining -= 1
                    if script.remaining <= 0:
                        self._scripts.remove(script)
                return script
        return None

    # -- model helpers ------------------------------------------------------------------------

    def add_number(
        self, phone_number: str, *, sms_supported: bool = True, sms_enabled: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """Attach a number to the account, in GetPhoneNumbers' item shape; return it."""
        with self._lock:
            self._next_phone_id += 1
            number = {
                "phone_id": self._next_phone_id,
                "phone_number": phone_number,
                "phone_country_code": "GB",
                "category_name": "MOBILE",
                "is_sms_supported": sms_supported,
                "is_sms_enabled": sms_enabled,
                "incoming_sms_callback_url": None,
                "deactivated": False,
                "canceled": False,
                "auto_charge": True,
                "phone_purchase_date": "2024-01-15 09:30:00",
                "phone_next_renewal": "2026-01-15",
                **fields,
            }
            self.numbers.append(number)
            return number

    def find_number(self, phone_number: str) -> dict[str, Any] | None:
        with self._lock:
            return next((n for n in self.numbers if str(n["phone_number"]) == phone_number), None)

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    # -- request handling (called from the server's threads) -----------------------------------

    def handle(self, request: RecordedRequest, token: str | None) -> _Answer:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
        try:
            return self._handle(request, token)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle(self, request: RecordedRequest, token: str | None) -> _Answer:
        self._check_encoding(request)
        script = self._take_script(request.method) or self._chaos_script(request.method)
        if script is not None:
            if script.answer is not None:
                return script.answer
            if script.action == "stall":
                self._closing.wait(script.seconds)
            if script.action == "late":
                answer = self._process(request, token)
                self._closing.wait(script.seconds)
                return answer
            if script.action == "drop":
                if script.processed:
                    self._process(request, token)
                return _Answer(None, None)
        return self._process(request, token)

    def _process(self, request: RecordedRequest, token: str | None) -> _Answer:
        fault = self._verify_token(request, token)
        if fault is not None:
            request.auth_error = fault.code
            with self._lock:
                self.auth_failures.append(request)
            return _Answer(200, error_body(fault.code, fault.msg))
        if not request.method:
            return _Answer(200, error_body(102))
        implementation = self.methods.get(request.method)
        if implementation is None:
            self.errors.append(f"unknown method {request.method!r} ({request.path})")
            return _Answer(200, error_body(103))
        try:
            with self._lock:
                answer = implementation(request.params)
        except ApiFault as refusal:
            return _Answer(200, error_body(refusal.code, refusal.msg))
        if request.method == "SendSmsMessage":
            with self._lock:
                self.sent.append(request)
        return _Answer(200, answer)

    def _verify_token(self, request: RecordedRequest, token: str | None) -> ApiFault | None:
        if token is None:
            return ApiFault(100, "Authorization failed: no Bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return ApiFault(447)
        if header.get("alg") != "RS256":
            return ApiFault(447, f"Invalid token format: alg {header.get('alg')!r}")
        if header.get("kid") != self.key_id:
            return ApiFault(433)
        try:
            claims = jwt.decode(
                token,
                self.public_key_pem,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                    "require": ["iss", "iat", "exp"],
                },
            )
        except jwt.InvalidSignatureError:
            return ApiFault(100, "Authorization failed: bad signature")
        except jwt.PyJWTError as exc:
            return ApiFault(447, f"Invalid token format: {exc}")
        request.claims = claims
        if str(claims["iss"]) != str(self.account_id):
            return ApiFault(100, "Authorization failed: iss is not the account")
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            return ApiFault(447, "Invalid token format: iat and exp must be numbers")
        now = time.time()
        if exp - iat > 3600:
            return ApiFault(454)
        if iat > now + IAT_LEEWAY_S:
            return ApiFault(455)
        if exp <= now:
            return ApiFault(456)
        return None

    def _check_encoding(self, request: RecordedRequest) -> None:
        """Note parameters a real client should never send: Python reprs, bad datetimes."""
        for name, value in request.params.items():
            if name in TEXT_PARAMS:
                continue  # a message may say anything, "[OK]" and "True" included
            is_list = value.startswith("[") and value.endswith("]")
            if value in ("True", "False", "None") or is_list:
                self.errors.append(f"{request.method}: {name}={value!r} looks like a Python repr")
        for name in DATE_PARAMS:
            when = request.params.get(name)
            if when is not None and _parse_api_datetime(when) is None:
                self.errors.append(f"{request.method}: {name}={when!r} is not yyyy-MM-dd HH:mm:ss")

    # -- methods ------------------------------------------------------------------------------

    def _send_sms_message(self, params: dict[str, str]) -> dict[str, Any]:
        source = _required(params, "source")
        destination = _required(params, "destination")
        body = _required(params, "sms_body")
        if self.numbers:
            number = self.find_number(source)
            if number is None:
                raise ApiFault(422, f"Invalid source: {source} is not attached to the account")
            if not number["is_sms_supported"]:
                raise ApiFault(528)
            if not number["is_sms_enabled"]:
                raise ApiFault(386)
        if not destination.isdigit() or not 8 <= len(destination) <= 15:
            raise ApiFault(423)
        if len(body) > 765:
            raise ApiFault(101, "sms_body is longer than 765 characters")
        if self.duplicate_window_s is not None and self._is_resend(source, destination, body):
            raise ApiFault(484)
        message_id = self._new_id()
        fragments = count_fragments(body)
        self.history.append(
            {
                "message_id": message_id,
                "source_number": source,
                "destination_number": destination,
                "direction": "OUT",
                "fragments": fragments,
                "cost": round(0.05 * fragments, 4),
                "status_id": 1,
                "error_message": None,
                "processed_date": api_now(),
                "transaction_id": self._new_id(),
                "text": body if params.get("store_body") == "true" else None,
                "_body": body,
                "_at": time.time(),
            }
        )
        if self.legacy_answers:
            return {"result": 1, "fragments_count": fragments}
        return {"result": 1, "message_id": message_id, "fragments_count": fragments}

    def _is_resend(self, source: str, destination: str, body: str) -> bool:
        cutoff = time.time() - (self.duplicate_window_s or 0)
        return any(
            item.get("_at", 0) >= cutoff
            and (str(item["source_number"]), str(item["destination_number"]), item.get("_body"))
            == (source, destination, body)
            for item in self.history
        )

    def _a2p_send_sms(self, params: dict[str, str]) -> dict[str, Any]:
        src = _required(params, "src_number")
        destinations = [d for d in _required(params, "dst_numbers").split(";") if d]
        text = _required(params, "text")
        if not self.account["a2p_sms_enabled"]:
            raise ApiFault(509)
        if len(destinations) > 100:
            raise ApiFault(101, "dst_numbers holds more than 100 numbers")
        if len(text) > 1600:
            raise ApiFault(508)
        fragments = count_fragments(text)
        sent: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for destination in destinations:
            if destination in self.a2p_failing or not destination.isdigit():
                failed.append(
                    {
                        "destination_number": destination,
                        "error_code": 385,
                        "error_description": "Sending SMS error",
                    }
                )
                continue
            message_id = self._new_id()
            key = "transaction_id" if self.legacy_answers else "message_id"
            sent.append({key: message_id, "destination_number": destination})
            self.a2p_history.append(
                {
                    "message_id": message_id,
                    "source_number": src,
                    "destination_number": destination,
                    "fragments": fragments,
                    "cost": round(0.04 * fragments, 4),
                    "status_id": 1,
                    "error_message": None,
                    "processing_date": api_now(),
                    "transaction_id": self._new_id(),
                    "delivery_status": "DELIVERED",
                    "text": text if params.get("store_body") == "true" else None,
                }
            )
        return {"result": sent, "failed": failed, "fragments_count": fragments}

    def _control_sms(self, params: dict[str, str]) -> dict[str, Any]:
        phone_number = _required(params, "phone_number")
        command = _required(params, "command")
        if command not in ("enable", "disable"):
            raise ApiFault(101, f"command must be enable or disable (got {command!r})")
        number = self.find_number(phone_number)
        if number is None:
            raise ApiFault(121, f"Invalid phone number: {phone_number} is not attached")
        if not number["is_sms_supported"]:
            raise ApiFault(528)
        number["is_sms_enabled"] = command == "enable"
        return {"result": 1}

    def _get_sms_history(self, params: dict[str, str]) -> dict[str, Any]:
        direction = params.get("direction", "")
        if direction not in ("", "IN", "OUT", "in", "out"):
            raise ApiFault(470)
        items = self._filter_history(self.history, params, "processed_date")
        if direction:
            items = [i for i in items if str(i["direction"]).upper() == direction.upper()]
        return _page(items, params, default_count=1000, max_count=1000)

    def _a2p_get_sms_history(self, params: dict[str, str]) -> dict[str, Any]:
        items = self._filter_history(self.a2p_history, params, "processing_date")
        status = params.get("delivery_status")
        if status:
            name = DELIVERY_STATUSES.get(int(status)) if status.isdigit() else None
            if name is None:
                raise ApiFault(101, f"Invalid delivery_status {status!r}")
            items = [i for i in items if i.get("delivery_status") == name]
        return _page(items, params, default_count=1000, max_count=1000)

    def _filter_history(
        self, history: list[dict[str, Any]], params: dict[str, str], date_field: str
    ) -> list[dict[str, Any]]:
        if params.get("output", "json") != "json":
            self.errors.append(f"history output {params['output']!r} is not supported by the fake")
        items = list(history)
        for name in ("source_number", "destination_number"):
            if params.get(name):
                items = [i for i in items if str(i[name]) == params[name]]
        if params.get("message_id"):
            wanted = set(params["message_id"].split(";"))
            items = [i for i in items if str(i["message_id"]) in wanted]
        start = _parse_api_datetime(params.get("from_date", ""))
        end = _parse_api_datetime(params.get("to_date", ""))
        if start or end:
            items = [
                i
                for i in items
                if (at := _parse_api_datetime(str(i.get(date_field) or ""))) is not None
                and (start is None or at >= start)
                and (end is None or at <= end)
            ]
        return [{k: v for k, v in i.items() if not k.startswith("_")} for i in items]

    def _get_phone_numbers(self, params: dict[str, str]) -> dict[str, Any]:
        items = list(self.numbers)
        if params.get("phone_id"):
            wanted = set(params["phone_id"].split(";"))
            items = [n for n in items if str(n["phone_id"]) in wanted]
        if params.get("phone_number"):
            wanted = set(params["phone_number"].split(";"))
            items = [n for n in items if str(n["phone_number"]) in wanted]
        if "sms_supported" in params:
            flag = _flag(params, "sms_supported")
            items = [n for n in items if bool(n["is_sms_supported"]) == flag]
        return _page(items, params, default_count=20, max_count=1000, with_count=True)

    def _get_account_info(self, params: dict[str, str]) -> dict[str, Any]:
        # With JWT auth Voximplant leaves out api_key; only password or api_key auth returns it.
        return {"result": dict(self.account), "api_address": "https://api.voximplant.com"}

    def _set_account_info(self, params: dict[str, str]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if "callback_url" in params:
            url = params["callback_url"]
            if url and not url.startswith(("http://", "https://")):
                raise ApiFault(398)
            changes["callback_url"] = url or None
        if "callback_salt" in params:
            if len(params["callback_salt"]) >= 40:
                raise ApiFault(399)
            changes["callback_salt"] = params["callback_salt"] or None
        for name in ("store_inbound_sms", "store_outbound_sms"):
            if name in params:
                changes[name] = _flag(params, name)
        if not changes:
            raise ApiFault(134, "Nothing to change")
        self.account.update(changes)
        return {"result": 1}

    def _set_phone_number_info(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("phone_id") == "all":
            targets = list(self.numbers)
        elif params.get("phone_id"):
            wanted = set(params["phone_id"].split(";"))
            targets = [n for n in self.numbers if str(n["phone_id"]) in wanted]
        elif params.get("phone_number"):
            wanted = set(params["phone_number"].split(";"))
            targets = [n for n in self.numbers if str(n["phone_number"]) in wanted]
        else:
            raise ApiFault(134, "phone_id or phone_number is required")
        if not targets:
            raise ApiFault(121, "No such phone number")
        changes: dict[str, Any] = {}
        if "incoming_sms_callback_url" in params:
            url = params["incoming_sms_callback_url"]
            if url and not url.startswith(("http://", "https://")):
                raise ApiFault(101, "Invalid incoming_sms_callback_url")
            changes["incoming_sms_callback_url"] = url or None
        if "auto_charge" in params:
            changes["auto_charge"] = _flag(params, "auto_charge")
        if not changes:
            raise ApiFault(134, "Nothing to change")
        for number in targets:
            number.update(changes)
        return {"result": 1}


CHAOS_FAULTS: dict[str, Callable[[float, float], _Script]] = {
    "5xx": lambda _s, _w: _Script("answer", 1, answer=_Answer(503, "<html>Unavailable</html>")),
    "transient": lambda _s, _w: _Script("answer", 1, answer=_Answer(200, error_body(14))),
    "rate_limit": lambda _s, _w: _Script("answer", 1, answer=_Answer(200, error_body(340))),
    "http_429": lambda _s, _w: _Script("answer", 1, answer=_Answer(429, "Too Many Requests")),
    "slow": lambda _s, slow: _Script("stall", 1, seconds=slow),
    "timeout": lambda stall, _w: _Script("stall", 1, seconds=stall),
    "lost_answer": lambda _s, _w: _Script("drop", 1, processed=True),
}


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise ApiFault(134, f"Required parameter {name} is empty")
    return value


def _flag(params: dict[str, str], name: str) -> bool:
    value = params[name]
    if value not in ("true", "false"):
        raise ApiFault(101, f"{name} must be true or false (got {value!r})")
    return value == "true"


def _page(
    items: list[dict[str, Any]], params: dict[str, str], *, default_count: int, max_count: int,
    with_count: bool = False,
) -> dict[str, Any]:  # fmt: skip
    try:
        count = int(params.get("count", default_count))
        offset = int(params.get("offset", 0))
    except ValueError:
        raise ApiFault(101, "count and offset must be integers") from None
    if not 0 < count <= max_count or offset < 0:
        raise ApiFault(101, f"count must be 1..{max_count} and offset at least 0")
    page = items[offset : offset + count]
    answer: dict[str, Any] = {"result": page, "total_count": len(items)}
    if with_count:
        answer["count"] = len(page)
    return answer


def _parse_api_datetime(value: str) -> datetime | None:
    for pattern in (API_DATETIME, "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], str | None]:
    """Form fields from a urlencoded or multipart body; the second item names a problem."""
    if not body:
        return {}, None
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
        return dict(pairs), None
    if media == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        fields: dict[str, str] = {}
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload.decode() if isinstance(payload, bytes) else ""
        return fields, None
    return {}, f"unsupported request body type {content_type!r}"


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVoximplant
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm on a kept-alive
    # connection the body waited for the client's delayed ACK, up to 40 ms per request.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the recorded requests are the log

    def _serve(self) -> None:
        fake = self.fake
        try:
            request, token = self._read_request()
        except Exception as exc:
            fake.errors.append(f"could not read request {self.command} {self.path}: {exc!r}")
            self._answer(_Answer(400, error_body(101, "Unreadable request")))
            return
        try:
            answer = fake.handle(request, token)
        except Exception as exc:
            fake.errors.append(f"fake failed on {request.method}: {exc!r}")
            answer = _Answer(500, "fake error")
        request.status = answer.status
        request.answer = answer.body if isinstance(answer.body, dict) else None
        if answer.status is None:
            self.close_connection = True
            return
        self._answer(answer)

    def _read_request(self) -> tuple[RecordedRequest, str | None]:
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        form, problem = _parse_form(content_type, body)
        if problem:
            self.fake.errors.append(problem)
        params.update(form)
        path = url.path.rstrip("/")
        if path == BASE_PATH:
            style, method = "cmd", params.pop("cmd", "")
        elif path.startswith(BASE_PATH + "/") and "/" not in path[len(BASE_PATH) + 1 :]:
            style, method = "path", path[len(BASE_PATH) + 1 :]
        else:
            self.fake.errors.append(f"request outside {BASE_PATH}: {self.path}")
            style, method = "path", ""
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
        request = RecordedRequest(
            method=method,
            params=params,
            headers=dict(self.headers.items()),
            claims=None,
            at=time.time(),
            http_method=self.command,
            path=url.path,
            style=style,
            content_type=content_type,
        )
        return request, token

    def _answer(self, answer: _Answer) -> None:
        if isinstance(answer.body, dict):
            data = json.dumps(answer.body).encode()
            content_type = "application/json"
        else:
            data = (answer.body or "").encode()
            content_type = "text/html; charset=utf-8"
        try:
            self.send_response(answer.status or 500)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up waiting (a stalled request)
