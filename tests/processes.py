"""Real processes for tests: gunicorn on a free loopback port, the `responder` command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import requests

from responder.config import Config
from tests.support import wait_until

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(data_dir: Path, rules_dir: Path, **changes: str) -> dict[str, str]:
    """The environment of a service process: ours only, none of the test runner's settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RESPONDER_", "VOXIMPLANT_", "ALPHASMS_", "PROMETHEUS_"))
        and key not in ("DATABASE_URL", "PORT", "WEB_CONCURRENCY", "FLASK_APP")
    }
    env.update(RESPONDER_DATA_DIR=str(data_dir), RESPONDER_RULES_DIR=str(rules_dir))
    env.update(changes)
    return env


class Output:
    """The lines a process writes on one stream, collected as they come (the pipe never fills)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def join(self) -> str:
        self._thread.join(10)
        return "".join(self.lines)


@dataclass
class Service:
    """A running gunicorn; `output` holds everything it wrote once it has stopped."""

    url: str
    process: subprocess.Popen[str]
    output: str = ""
    lines: list[str] = field(default_factory=list)
    streams: tuple[Output, ...] = ()

    def count(self, text: str) -> int:
        """How many lines written so far, on stdout or stderr, contain *text*."""
        return sum(text in line for stream in self.streams for line in list(stream.lines))


@contextmanager
def gunicorn(env: dict[str, str], *, ready_path: str = "/healthz") -> Iterator[Service]:
    """Run `gunicorn --config gunicorn.conf.py wsgi:app` on a free port until the block ends."""
    port = free_port()
    env = {**env, "PORT": str(port), "RESPONDER_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    stdout, stderr = Output(process.stdout), Output(process.stderr)
    service = Service(f"http://127.0.0.1:{port}", process, streams=(stdout, stderr))

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"gunicorn exited with {process.returncode}:\n{stdout.join()}{stderr.join()}"
            )
        try:
            return requests.get(service.url + ready_path, timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still booting
            return False

    try:
        wait_until(up, timeout=30, interval=0.1)
        yield service
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        out, err = stdout.join(), stderr.join()
        service.output = out + err
        service.lines = out.splitlines()


def config_env(config: Config, **changes: str) -> dict[str, str]:
    """The environment that points a `responder` process at *config*'s directories and database."""
    return service_env(
        config.data_dir, config.rules_dir, DATABASE_URL=config.database_url, **changes
    )


def responder(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `responder` console script from the project root, as an operator would."""
    return subprocess.run(
        [str(BIN / "responder"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Worker:
    """A running `responder sender run`; `stdout` and `stderr` hold its output once stopped."""

    process: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""


@contextmanager
def sender_worker(env: dict[str, str]) -> Iterator[Worker]:
    """Run `responder sender run` (the Procfile's worker) until the block ends, then SIGTERM it."""
    process = subprocess.Popen(
        [str(BIN / "responder"), "sender", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = Worker(process)
    try:
        yield worker
    finally:
        process.send_signal(signal.SIGTERM)
        worker.stdout, worker.stderr = process.communicate(timeout=60)
