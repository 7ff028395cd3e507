"""gunicorn on 127.0.0.1 with the project's gunicorn.conf.py, for the service and the baseline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.machine import ROOT

WORKERS = 2
THREADS = 4
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running gunicorn master: its URL, process and log file."""

    name: str
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)

    def worker_rss_mib(self) -> list[float]:
        return [rss_mib(pid) for pid in self.worker_pids()]

    def cpu_seconds(self) -> float:
        """User and system CPU time used so far by the workers together."""
        return sum(cpu_seconds(pid) for pid in self.worker_pids())


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _ready(port: int, path: str) -> bool:
    """True once a worker answers an HTTP request at all (any status)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            return sock.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


@contextmanager
def gunicorn(
    name: str, app: str, env: Mapping[str, str], workdir: Path, *, path: str = "/"
) -> Iterator[Server]:
    """Start `gunicorn --config gunicorn.conf.py APP` on a free loopback port; stop it after."""
    port = free_port()
    log = workdir / f"{name}.log"
    inherited = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    full_env = {
        **inherited,
        **env,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_THREADS": str(THREADS),
        "PYTHONPATH": str(ROOT),
    }
    command = [
        str(GUNICORN),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        # A listening socket per worker (SO_REUSEPORT): the kernel spreads the load generator's
        # connections over the workers. On one shared socket the first worker to wake at times
        # accepted all 16 of wrk's connections, and the round measured one worker, not two.
        "--reuse-port",
        app,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=workdir, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name, f"http://127.0.0.1:{port}", port, process, log)
    try:
        deadline = time.monotonic() + 60
        while len(server.worker_pids()) < WORKERS or not _ready(port, path):
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name}: gunicorn exited with {process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: gunicorn not ready within 60 s")
            time.sleep(0.2)
        # Let the second worker finish booting too: each answers a few requests.
        for _ in range(4 * WORKERS):
            _ready(port, path)
        yield server
    finally:
        stop(process)


@contextmanager
def sender(env: Mapping[str, str], workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`responder sender run` (the Procfile's worker) until the block ends, then SIGTERM."""
    inherited = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    command = [str(GUNICORN.with_name("responder")), "sender", "run"]
    with (workdir / "sender.log").open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env={**inherited, **env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, 30 s to finish what is in flight, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
