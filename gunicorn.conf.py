"""gunicorn settings from the environment (PORT, WEB_CONCURRENCY, timeouts), PaaS style."""

import os
import sys
from pathlib import Path

_PROBLEMS: list[str] = []


def _int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        _PROBLEMS.append(f"{name}: expected a whole number (got {raw!r})")
        return default
    if value < minimum:
        _PROBLEMS.append(f"{name}: must be at least {minimum} (got {raw!r})")
        return default
    return value


# RESPONDER_HOST is for running locally behind nothing (127.0.0.1); a PaaS wants 0.0.0.0.
bind = f"{os.environ.get('RESPONDER_HOST') or '0.0.0.0'}:{_int('PORT', 8000, 1)}"  # noqa: S104
workers = _int("WEB_CONCURRENCY", 2, 1)
threads = _int("GUNICORN_THREADS", 4, 1)
timeout = _int("GUNICORN_TIMEOUT", 30, 1)
# Heroku and Render stop a process 30 s after SIGTERM: finish requests and the send in flight first.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25, 1)
keepalive = _int("GUNICORN_KEEPALIVE", 5, 0)
accesslog = "-"
errorlog = "-"
# One JSON event per line on stdout, for gunicorn's own lines too (RESPONDER_LOG_FORMAT=text
# for a terminal); the text access line ends with the request id.
logger_class = "responder.logs.GunicornLogger"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(L)ss "%(a)s" %({x-request-id}o)s'
# The sender thread starts inside each worker (create_app); preloading would start it in the master.
preload_app = False
# gunicorn 24+ opens a control socket under the home directory; the service writes only to its
# data directory, and nothing here uses the socket.
control_socket_disable = True

# Several workers answer /metrics in turn: each keeps its counters in files that any of them
# sums up. prometheus_client picks that mode on import, so the folder is set before the workers
# start; it lives in the data directory, the only place the service writes.
_DATA_DIR = Path(os.environ.get("RESPONDER_DATA_DIR") or "instance").resolve()
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_DATA_DIR / "metrics"))


def on_starting(server: object) -> None:
    """Check the whole configuration before binding: every problem at once, then exit 2."""
    from responder.config import Config
    from responder.errors import ConfigError
    from responder.logs import configure_logging

    problems = list(_PROBLEMS)
    try:
        config = Config.from_env(os.environ)
    except ConfigError as exc:
        problems.extend(exc.problems)
    else:
        configure_logging(config)
    if problems:
        print(
            "responder cannot start; invalid configuration:\n"
            + "\n".join(f"  - {p}" for p in problems),
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(2)
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    # Counters of an earlier run would be added to this one's.
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def worker_exit(server: object, worker: object) -> None:
    """Let the worker's sender finish the message in flight before the process ends."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("responder")
    if services is not None and services.sender is not None:
        services.sender.stop(timeout=graceful_timeout)
