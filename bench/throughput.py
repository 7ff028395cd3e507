"""Callback throughput: the service against a bare Flask app under the same gunicorn, interleaved.

Load comes from wrk (Debian's package) in its own process on loopback, posting signed batches of
one callback each, every id unique. Afterwards: RSS of each gunicorn worker of both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, select

from bench import callbacks, servers
from bench.machine import ROOT
from bench.stats import median, spread
from responder.store.tables import messages, outbox

CONNECTIONS = 16
LUA = ROOT / "bench" / "wrk.lua"
# Enough ids for the fastest plausible rate; wrk reports if it had to reuse any.
MAX_RATE = 12000


@dataclass
class Rounds:
    name: str
    rates: list[float] = field(default_factory=list)
    non_2xx: int = 0
    requests: int = 0
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # worker CPU per request, each round


@dataclass
class Drain:
    """The queue-mode backlog left by the rounds, worked off afterwards by one worker."""

    backlog: int
    callbacks: int  # processed within *seconds*
    seconds: float

    @property
    def rate(self) -> float:
        return self.callbacks / self.seconds if self.seconds else float("nan")


@dataclass
class Result:
    seconds: float
    rounds: int
    service: Rounds
    bare: Rounds
    stored: int
    wrapped: int
    ratios: list[float]
    intake: Rounds
    queue: Rounds
    queue_ratios: list[float]
    drain: Drain


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, seconds: float, ids: Path, body_template: Path) -> dict[str, float]:
    """One bounded wrk run (1 thread, CONNECTIONS connections, *seconds*); its figures."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (or make bench)")
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(LUA),
            url,
            "--",
            str(ids),
            str(body_template),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    figures: dict[str, float] = {"non_2xx": 0, "wrapped": 0}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            figures["rate"] = float(line.split()[1])
        elif m := re.match(r"(\d+) requests in", line):
            figures["requests"] = int(m.group(1))
        elif line.startswith("Non-2xx or 3xx responses:"):
            figures["non_2xx"] = int(line.split(":")[1])
        elif line.startswith("ids-wrapped:"):
            figures["wrapped"] = int(line.split(":")[1])
        elif m := re.match(r"(50|99)%\s+([\d.]+)(us|ms|s)$", line):
            figures[f"p{m.group(1)}_ms"] = _ms(m.group(2), m.group(3))
        elif line.startswith("Socket errors:"):
            figures["socket_errors"] = 1
    if "rate" not in figures:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    return figures


def measure(workdir: Path, *, rounds: int, seconds: float, warmup_s: float) -> Result:
    workdir.mkdir(parents=True, exist_ok=True)
    env = callbacks.responder_env(workdir)
    callbacks.prepare_database(env, workdir)
    # The same service with no sender thread (RESPONDER_SENDER=off): the callback path alone.
    intake_env = {**callbacks.responder_env(workdir / "intake"), "RESPONDER_SENDER": "off"}
    callbacks.prepare_database(intake_env, workdir / "intake")
    # Queue mode's web tier: it answers once a callback is in its journal, and (RESPONDER_SENDER
    # off) no worker runs beside it, as when the Procfile's worker has a machine of its own.
    queue_env = {
        **callbacks.responder_env(workdir / "queue"),
        "RESPONDER_SENDER": "off",
        "RESPONDER_INTAKE": "queue",
    }
    callbacks.prepare_database(queue_env, workdir / "queue")
    # The baseline gets a valid service environment too: gunicorn.conf.py checks it, and so
    # all run with the same gunicorn settings and log class.
    bare_env = callbacks.responder_env(workdir / "bare")
    body_template = workdir / "body.json"
    body_template.write_text(callbacks.template())
    per_run = int(MAX_RATE * max(seconds, warmup_s))
    next_id = 1_000_000
    service = Rounds("responder")
    intake = Rounds("responder, sender off")
    queue = Rounds("responder, queue intake, web only")
    bare = Rounds("bare Flask")
    wrapped = 0
    ratios: list[float] = []
    queue_ratios: list[float] = []
    with (
        servers.gunicorn("responder", "wsgi:app", env, workdir) as app,
        servers.gunicorn("intake", "wsgi:app", intake_env, workdir / "intake") as app_intake,
        servers.gunicorn("queue", "wsgi:app", queue_env, workdir / "queue") as app_queue,
        servers.gunicorn("bare", "bench.bare_app:app", bare_env, workdir) as base,
    ):
        plan = [(app, service), (app_intake, intake), (app_queue, queue), (base, bare)]

        def run(server: servers.Server, seconds: float) -> dict[str, float]:
            nonlocal next_id, wrapped
            ids = workdir / "ids.txt"
            ids.write_text(callbacks.id_lines(next_id, per_run))
            next_id += per_run
            cpu_before = server.cpu_seconds()
            figures = run_wrk(server.url + "/voximplant/callback", seconds, ids, body_template)
            if server is app:
                # Its sender goes on sending after the load: let it finish, so that the next
                # round starts on a quiet machine and this one's CPU counts every reply.
                _wait_for_outbox(f"sqlite:///{workdir / 'data' / 'responder.db'}")
            used = server.cpu_seconds() - cpu_before
            figures["cpu_ms"] = used * 1000 / max(1, figures.get("requests", 0))
            wrapped += int(figures["wrapped"]) if server is not base else 0
            return figures

        for server, _ in plan:
            run(server, warmup_s)
        for number in range(rounds):
            order = plan if number % 2 == 0 else plan[::-1]
            rates = {}
            for server, rounds_of in order:
                figures = run(server, seconds)
                rounds_of.rates.append(figures["rate"])
                rounds_of.requests += int(figures["requests"])
                rounds_of.non_2xx += int(figures["non_2xx"])
                rounds_of.p50_ms.append(figures.get("p50_ms", float("nan")))
                rounds_of.p99_ms.append(figures.get("p99_ms", float("nan")))
                rounds_of.cpu_ms.append(figures["cpu_ms"])
                rates[rounds_of.name] = figures["rate"]
                print(
                    f"  round {number + 1} {rounds_of.name}: {figures['rate']:.0f} req/s, "
                    f"{figures['cpu_ms']:.2f} ms worker CPU per request",
                    flush=True,
                )
            ratios.append(rates[service.name] / rates[bare.name])
            queue_ratios.append(rates[queue.name] / rates[bare.name])
        for server, rounds_of in plan:
            rounds_of.rss_mib = server.worker_rss_mib()
    drain = drain_inbox(queue_env, workdir / "queue")
    engine = create_engine(f"sqlite:///{workdir / 'data' / 'responder.db'}")
    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).select_from(messages).where(messages.c.direction == "in")
        ).scalar_one()
    engine.dispose()
    return Result(
        seconds, rounds, service, bare, stored, wrapped, ratios, intake, queue, queue_ratios, drain
    )


def _wait_for_outbox(url: str, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while _outbox(url) and time.monotonic() < deadline:
        time.sleep(0.2)


def _outbox(url: str) -> int:
    """Replies waiting in the outbox of the database at *url*."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())
    finally:
        engine.dispose()


def drain_inbox(env: dict[str, str], workdir: Path, limit_s: float = 120.0) -> Drain:
    """Start one `responder sender run` on the queue's backlog; time it (*limit_s* at most)."""
    url = f"sqlite:///{workdir / 'data' / 'responder.db'}"
    waiting = callbacks.unprocessed(url)
    started = time.monotonic()
    with servers.sender(env, workdir):
        while callbacks.unprocessed(url) and time.monotonic() - started < limit_s:
            time.sleep(0.5)
    left = callbacks.unprocessed(url)
    return Drain(waiting, waiting - left, time.monotonic() - started)


_REUSED = (
    "; NOT COMPARABLE: a reused id is a redelivery, answered as a duplicate without a write, "
    "so raise MAX_RATE and run again"
)


def report(result: Result, machine: str) -> str:
    s, b = result.service, result.bare
    ratio = median(s.rates) / median(b.rates)
    verdict = "met" if ratio >= 0.6 else "MISSED"
    q, drain = result.queue, result.drain
    queue_ratio = median(q.rates) / median(b.rates)
    rows = []
    for r in (s, result.intake, q, b):
        rows.append(
            f"| {r.name} | {median(r.rates):.0f} | {spread(r.rates)} | "
            f"{median(r.p50_ms):.1f} | {median(r.p99_ms):.1f} | {median(r.cpu_ms):.2f} | "
            f"{r.non_2xx} |"
        )
    rss = [
        f"| {r.name} | {' / '.join(f'{v:.0f}' for v in r.rss_mib)} |"
        for r in (s, result.intake, q, b)
    ]
    return "\n".join(
        [
            machine,
            "",
            f"gunicorn with the project's `gunicorn.conf.py`, {servers.WORKERS} workers × "
            f"{servers.THREADS} threads (`WEB_CONCURRENCY`, `GUNICORN_THREADS`), `--reuse-port` "
            "(a listening socket per worker, so that the kernel spreads wrk's connections over "
            "the workers; on one shared socket one worker at times took all of them), access "
            "log on, "
            "logs to a file. The service runs on SQLite under a temporary `RESPONDER_DATA_DIR` "
            "with the rules in `bench/rules/`, verifies every callback's hash "
            "(`VOXIMPLANT_CALLBACK_SALT`, `VOXIMPLANT_API_KEY`), and its sender thread sends "
            "each reply through the `log` provider; JSON log lines (the default). *Sender off* "
            "is the same service with `RESPONDER_SENDER=off`: the callback path alone. *Queue "
            "intake, web only* is `RESPONDER_INTAKE=queue` with `RESPONDER_SENDER=off` and no "
            "worker during the rounds: the web tier answers once a callback is appended to "
            "the worker's journal, "
            "as when the Procfile's `worker` runs on a machine of its own. The "
            "baseline "
            "is `bench/bare_app.py`, one Flask route that reads the body and answers 200, "
            "under the same gunicorn settings.",
            "",
            f"Load: `wrk -t1 -c{CONNECTIONS}` from its own process on 127.0.0.1, posting batches "
            "of one signed `sms_inbound` callback, each with a new callback id, from 1,000 "
            f"sender numbers (`bench/wrk.lua`). {result.rounds} rounds of {result.seconds:g} s "
            "per app, interleaved (service, sender off, queue, baseline, then backwards, "
            "...), "
            "after a warm-up "
            "run of each. Spread is the lowest and highest round.",
            "",
            "| app | median req/s | spread | p50 ms | p99 ms | worker CPU ms/request | non-2xx |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"**Service / baseline: {ratio:.0%}** (median of the rounds' ratios "
            f"{median(result.ratios):.0%}, spread {spread(result.ratios, '{:.0%}')}). "
            f"Target ≥ 60%: {verdict}. Sender off / baseline: "
            f"{median(result.intake.rates) / median(b.rates):.0%}. "
            f"Callbacks stored by the service: {result.stored:,}"
            f" (ids reused by wrk: {result.wrapped}"
            f"{_REUSED if result.wrapped else ''}). *Worker CPU* is the user and system time "
            "of the gunicorn workers during a round over its requests, the service's including "
            "its sender thread's work for the replies: a cost that a busy machine inflates less "
            "than it cuts the rate. After each of its rounds the service's sender is let finish "
            "the replies queued (its CPU for them counts in its round) before the next round "
            "starts.",
            "",
            f"**Queue intake / baseline: {queue_ratio:.0%}** (median of the rounds' ratios "
            f"{median(result.queue_ratios):.0%}, spread "
            f"{spread(result.queue_ratios, '{:.0%}')}). Target ≥ 60%: "
            f"{'met' if queue_ratio >= 0.6 else 'MISSED'}. Of the backlog those rounds left, "
            f"{drain.backlog:,} callbacks, one `responder sender run` started afterwards "
            f"worked off {drain.callbacks:,} in {drain.seconds:.0f} s ({drain.rate:.0f} "
            "callbacks/s, each stored, decided and its reply sent through the `log` "
            "provider): what the whole service keeps up with on this machine, against what "
            "its web tier takes in.",
            "",
            "Memory: RSS per gunicorn worker (MiB) right after the throughput runs.",
            "",
            "| app | RSS per worker, MiB |",
            "|---|---:|",
            *rss,
        ]
    )
