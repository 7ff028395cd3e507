"""A fake AlphaSMS http.php gateway: a real HTTP server on loopback that tests can script."""

from __future__ import annotations

import re
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ENDPOINT = "/api/http.php"
FIRST_ID = 84523377
STATUS_TIME = "2024-10-12T15:22:26+0200"
STATUS_NAMES = {
    0: "Pending",
    1: "Sending",
    2: "Sent",
    3: "Delivered",
    5: "Out of touch",
    10: "Deleted",
    50: "Partially delivered",
    95: "Operator not supported",
    96: "Network failure",
    99: "Error in number",
    116: "Read",
}

_SENDER = re.compile(r"[A-Za-z0-9._-]{1,11}")
_RECEIVER = re.compile(r"\d{10,15}|0\d{9}")
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def count_parts(text: str) -> int:
    """SMS parts for *text*: GSM-7 at 160/153 septets, otherwise UCS-2 at 70/67 units."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        size, single, multi = sum(2 if c in _GSM_EXTENDED else 1 for c in text), 160, 153
    else:
        size, single, multi = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if size <= single else -(-size // multi)


@dataclass
class RecordedRequest:
    """One request as the fake received it; params merge the query string and the form body."""

    method: str
    path: str
    params: dict[str, str]
    content_type: str | None = None

    @property
    def command(self) -> str | None:
        return self.params.get("command")


@dataclass
class _Action:
    kind: str  # "error", "answer", "stall", "drop" or "fail"
    text: str = ""
    seconds: float = 0.0
    status: int = 503


@dataclass
class _Reply:
    status: int
    body: str
    stall_s: float = 0.0
    drop: bool = False


@dataclass
class SentMessage:
    """A message the fake accepted."""

    id: str
    sender: str
    to: str
    message: str
    sms_count: int


@dataclass
class FakeAlphaSms:
    """Serves /api/http.php on 127.0.0.1:<free port>; use as a context manager.

    Problems found while serving (a request without version=http, a crash in the fake) are
    re-raised as AssertionError when the context exits.
    """

    key: str = "test-api-key-0123456789"
    login: str | None = None
    password: str | None = None
    layout: str = "lines"  # "lines": one pair per line; "one_line": pairs separated by spaces
    balance: str = "31.168300000000002"
    price: str = "1.2"
    currency: str = "UAH"
    requests: list[RecordedRequest] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._script: list[_Action] = []
        self._next_id = FIRST_ID
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.endpoint = self.url + ENDPOINT

    def __enter__(self) -> FakeAlphaSms:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.close()
        if self.problems and exc_type is None:
            raise AssertionError("fake AlphaSMS saw problems:\n" + "\n".join(self.problems))

    def close(self) -> None:
        """Stop serving; a stalled reply is released at once. The port then refuses connections."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def error_next(self, text: str) -> None:
        """Answer the next request with errors:<text>, doing nothing else."""
        self._push(_Action("error", text=text))

    def answer_next(self, body: str) -> None:
        """Answer the next request with HTTP 200 and *body* as given, doing nothing else."""
        self._push(_Action("answer", text=body))

    def stall_next(self, seconds: float) -> None:
        """Carry out the next request, then wait *seconds* before answering."""
        self._push(_Action("stall", seconds=seconds))

    def drop_next(self) -> None:
        """Carry out the next request, then close the connection without answering."""
        self._push(_Action("drop"))

    def fail_next(self, status: int) -> None:
        """Answer the next request with HTTP *status* and an HTML body, doing nothing else."""
        self._push(_Action("fail", status=status))

    def commands(self) -> list[str | None]:
        """The command of every request received, in order."""
        return [r.command for r in self.requests]

    def _push(self, action: _Action) -> None:
        with self._lock:
            self._script.append(action)

    def handle(self, method: str, path: str, params: dict[str, str], ctype: str | None) -> _Reply:
        with self._lock:
            self.requests.append(RecordedRequest(method, path, dict(params), ctype))
            action = self._script.pop(0) if self._script else None
            if path != ENDPOINT:
                return _Reply(404, "<html><body>Not Found</body></html>")
            if action is not None and action.kind == "fail":
                return _Reply(action.status, "<html><body>Service Unavailable</body></html>")
            if action is not None and action.kind == "error":
                return _Reply(200, self._format([("errors", action.text)]))
            if action is not None and action.kind == "answer":
                return _Reply(200, action.text)
            body = self._format(self._answer(params))
        if action is not None and action.kind == "stall":
            return _Reply(200, body, stall_s=action.seconds)
        return _Reply(200, body, drop=action is not None and action.kind == "drop")

    def wait_released(self, seconds: float) -> None:
        self._closing.wait(seconds)

    def _answer(self, params: dict[str, str]) -> list[tuple[str, str]]:
        if params.get("version") != "http":
            self.problems.append(f"request without version=http: command={params.get('command')}")
            return [("errors", "Unsupported protocol version")]
        if not self._authenticated(params):
            return [("errors", "Wrong login/password")]
        command = params.get("command")
        if command == "send":
            return self._send(params)
        if command == "receive":
            code = self.statuses.get(params.get("id", ""))
            if code is None:
                return [("errors", "SMS not found")]
            name = STATUS_NAMES.get(code, "Unknown")
            return [("status", name), ("code", str(code)), ("status_time", STATUS_TIME)]
        if command == "balance":
            return [("balance", self.balance)]
        if command == "price":
            if not _RECEIVER.fullmatch(params.get("to", "")):
                return [("errors", "Please enter valid receiver phone number")]
            return [("price", self.price), ("currency", self.currency)]
        return [("errors", "Unknown command")]

    def _authenticated(self, params: dict[str, str]) -> bool:
        if "key" in params:
            return params["key"] == self.key
        given = params.get("password", params.get("pass"))
        return self.login is not None and (params.get("login"), given) == (
            self.login,
            self.password,
        )

    def _send(self, params: dict[str, str]) -> list[tuple[str, str]]:
        sender, to, text = params.get("from", ""), params.get("to", ""), params.get("message", "")
        if not _SENDER.fullmatch(sender):
            return [("errors", "Error in Alpha-name")]
        if not _RECEIVER.fullmatch(to):
            return [("errors", "Please enter valid receiver phone number")]
        if not text:
            return [("errors", "Empty message text")]
        message_id = str(self._next_id)
        self._next_id += 1
        parts = count_parts(text)
        self.sent.append(SentMessage(message_id, sender, to, text, parts))
        self.statuses[message_id] = 0
        return [("id", message_id), ("sms_count", str(parts))]

    def _format(self, pairs: list[tuple[str, str]]) -> str:
        texts = [f"{key}:{value}" for key, value in pairs]
        if self.layout == "one_line":
            return " ".join(texts)
        return "\n".join(texts) + "\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeAlphaSms

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is expected (timeouts, drops); anything else is a problem."""
        if not isinstance(sys.exc_info()[1], OSError):
            self.fake.problems.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as the Voximplant fake: no 40 ms wait for an ACK
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve("POST", self.rfile.read(length))

    def _serve(self, method: str, body: bytes) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        ctype = self.headers.get("Content-Type")
        if body:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        try:
            reply = fake.handle(method, parts.path, params, ctype)
        except Exception:
            fake.problems.append(traceback.format_exc())
            reply = _Reply(500, "fake crashed")
        if reply.drop:
            self.close_connection = True
            return
        if reply.stall_s:
            fake.wait_released(reply.stall_s)
        data = reply.body.encode("utf-8")
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up waiting; nothing to tell it

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet; the fake records requests instead."""
