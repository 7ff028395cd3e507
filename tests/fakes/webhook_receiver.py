"""A webhook receiver: a real HTTP server on loopback that records POSTs and can be scripted."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One request as the receiver got it, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: Any
    status: int


class WebhookReceiver:
    """Answers 200 unless told otherwise: fail_next(status) or stall_next(seconds)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._script: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size)
                with receiver._lock:
                    action = receiver._script.pop(0) if receiver._script else ("ok", 200)
                status = int(action[1]) if action[0] == "fail" else 200
                if action[0] == "stall":
                    receiver._release.wait(action[1])
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with receiver._lock:
                    receiver.deliveries.append(
                        Delivery(self.path, dict(self.headers.items()), body, status)
                    )
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting and closed the connection

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def fail_next(self, status: int) -> None:
        with self._lock:
            self._script.append(("fail", status))

    def stall_next(self, seconds: float) -> None:
        with self._lock:
            self._script.append(("stall", seconds))

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()
