"""Acknowledgement latency at a fixed rate, and callback-to-reply time through the fake API.

The service runs under gunicorn on SQLite with the `voximplant` provider pointed at the fake
Management API (tests/fakes/voximplant_api.py, in a process of its own, checking every JWT).
The load generator (bench/loadgen.py) posts signed callbacks on a fixed schedule.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from bench import callbacks, loadgen, servers
from bench.machine import ROOT
from bench.stats import percentile
from responder.store.tables import messages

REPLY = re.compile(r"^Ticket (\d+) ")
DRAIN_S = 60.0


@dataclass
class Run:
    layout: str  # the intake mode and where the sender runs
    rate: float
    seconds: float
    samples: list[loadgen.Sample]
    reply_s: list[float]  # callback's planned send to its SendSmsMessage reaching the fake
    unanswered: int
    not_ok: int
    fake_problems: list[str]
    cpu_ms: float  # worker CPU per callback, its reply's sending included

    @property
    def reply_ms(self) -> list[float]:
        return [v * 1000 for v in self.reply_s]

    def ack_ms(self) -> list[float]:
        return [s.latency_s * 1000 for s in self.samples if s.status == 200]


def _pending(engine_url: str) -> int:
    """Callbacks not processed yet (queue mode), and replies not sent or failed yet."""
    engine = create_engine(engine_url)
    try:
        with engine.connect() as conn:
            replies = conn.execute(
                select(func.count())
                .select_from(messages)
                .where(messages.c.direction == "out")
                .where(messages.c.status.in_(("queued", "sending", "errored")))
            ).scalar_one()
    finally:
        engine.dispose()
    return int(replies) + callbacks.unprocessed(engine_url)


def _drain(database: str) -> None:
    """Wait (DRAIN_S at most) until every callback is processed and its reply sent or failed."""
    deadline = time.monotonic() + DRAIN_S
    while _pending(database) and time.monotonic() < deadline:
        time.sleep(0.5)


def measure(
    workdir: Path, loads: list[tuple[float, float]], intake: str = "inline", *, worker: bool = False
) -> list[Run]:
    """One server, one fake API; for each (rate, seconds) a bounded run and its figures.

    *worker*: the web processes only answer (RESPONDER_SENDER=off) and a `responder sender run`
    process of its own processes and sends, as the Procfile's `worker`.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    fake_out = workdir / "fake.json"
    credentials = workdir / "credentials.json"
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_api", str(credentials), str(fake_out)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    layout = f"{intake}, sender " + ("process" if worker else "in the web workers")
    runs: list[tuple[float, float, list[loadgen.Sample], float]] = []
    try:
        assert fake.stdout is not None
        api_url = fake.stdout.readline().strip()
        if not api_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the fake API did not start (said {api_url!r})")
        env = callbacks.responder_env(workdir, api_url=api_url, credentials=credentials)
        env["RESPONDER_INTAKE"] = intake
        if worker:
            env["RESPONDER_SENDER"] = "off"
        callbacks.prepare_database(env, workdir)
        database = f"sqlite:///{workdir / 'data' / 'responder.db'}"
        with (
            servers.gunicorn("responder-pipeline", "wsgi:app", env, workdir) as app,
            servers.sender(env, workdir) if worker else contextlib.nullcontext(),
        ):
            next_id = 2_000_000
            loadgen.run(app.port, rate=50, seconds=2, first_id=next_id, body=callbacks.body)
            next_id += 1000
            _drain(database)
            for rate, seconds in loads:
                print(f"  {rate:g} callbacks/s for {seconds:g} s", flush=True)
                cpu_before = app.cpu_seconds()
                samples = loadgen.run(
                    app.port, rate=rate, seconds=seconds, first_id=next_id, body=callbacks.body
                )
                next_id += int(rate * seconds) + 1000
                _drain(database)
                cpu_ms = (app.cpu_seconds() - cpu_before) * 1000 / max(1, len(samples))
                runs.append((rate, seconds, samples, cpu_ms))
    finally:
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(30)
    summary = json.loads(fake_out.read_text())
    arrivals: dict[int, float] = {}
    for sent in summary["sent"]:
        m = REPLY.match(sent["body"] or "")
        if m:
            arrivals[int(m.group(1))] = sent["at"]
    problems = list(summary["errors"])
    if summary["auth_failures"]:
        problems.append(f"{summary['auth_failures']} requests failed the JWT check")
    results = []
    for rate, seconds, samples, cpu_ms in runs:
        reply_s = [
            arrivals[s.callback_id] - s.scheduled_at
            for s in samples
            if s.status == 200 and s.callback_id in arrivals
        ]
        ok = sum(1 for s in samples if s.status == 200)
        results.append(
            Run(
                layout,
                rate,
                seconds,
                samples,
                reply_s,
                ok - len(reply_s),
                len(samples) - ok,
                problems,
                cpu_ms,
            )
        )
    return results


def _ms(values: list[float], fraction: float) -> str:
    value = percentile(values, fraction) if fraction < 1 else max(values, default=math.nan)
    return f"{value:.1f}"


def _verdicts(runs: list[Run], judge: Any) -> str:
    return "; ".join(f"{layout}: {judge(group)}" for layout, group in _by_layout(runs).items())


def _by_layout(runs: list[Run]) -> dict[str, list[Run]]:
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.layout, []).append(run)
    return groups


def report_ack(runs: list[Run], machine: str) -> str:
    """The acknowledgement section; the target is judged at the heaviest load of each layout."""

    def judge(group: list[Run]) -> str:
        heavy = max(group, key=lambda r: r.rate)
        p99 = percentile(heavy.ack_ms(), 0.99)
        return f"{p99:.1f} ms at {heavy.rate:g}/s, {'met' if p99 <= 20 else 'MISSED'}"

    rows = []
    for run in runs:
        ack = run.ack_ms()
        rows.append(
            f"| {run.layout} | {run.rate:g}/s for {run.seconds:g} s | {len(run.samples):,} | "
            f"{_ms(ack, 0.5)} | {_ms(ack, 0.99)} | {_ms(ack, 1)} | {run.not_ok} | "
            f"{run.cpu_ms:.1f} |"
        )
    return "\n".join(
        [
            machine,
            "",
            "Signed callbacks (batches of one) from `bench/loadgen.py` on 127.0.0.1 at a fixed "
            "rate: each is timed from its planned send to the end of its answer, so a stall "
            "counts against every request it delays; one not answered 200 within 30 s of its "
            "planned send is counted apart (and one not even sent by then is dropped), the "
            "percentiles are of the others. The service: gunicorn, "
            f"{servers.WORKERS} workers × {servers.THREADS} threads (`--reuse-port`), SQLite, "
            "the `voximplant` "
            "provider sending each reply to the fake Management API "
            "(`tests/fakes/voximplant_api.py`, a process of its own), JSON logs to a file. "
            "*Intake* is `RESPONDER_INTAKE`: inline answers after storing, deciding and "
            "queueing the reply; queue answers once the callback is kept (appended to the "
            "worker's journal). The sender "
            "(which also works through the journal and the inbox) runs in the web workers "
            "(`RESPONDER_SENDER=web`, the default) or as a `responder sender run` process of "
            "its own on the same machine. One server per layout for all its loads, the light "
            "one first, each after the replies of the one before have all been sent. *Worker "
            "CPU* is the gunicorn workers' user and system time over the run, per callback "
            "(replies included when the sender runs in them).",
            "",
            "| intake, sender | load | requests | p50 ms | p99 ms | max ms | no 200 within 30 s "
            "| worker CPU ms/callback |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Target p99 ≤ 20 ms on SQLite at the heaviest load: {_verdicts(runs, judge)}.",
        ]
    )


def report_reply(runs: list[Run], machine: str) -> str:
    rows = [
        f"| {r.layout} | {r.rate:g}/s for {r.seconds:g} s | {len(r.reply_s):,} | "
        f"{_ms(r.reply_ms, 0.5)} | {_ms(r.reply_ms, 0.99)} | {_ms(r.reply_ms, 1)} | "
        f"{r.unanswered} |"
        for r in runs
    ]

    def judge(group: list[Run]) -> str:
        light = min(group, key=lambda r: r.rate)  # the target is judged without a backlog
        p50 = percentile(light.reply_ms, 0.5)  # as the table gives it
        return f"{p50:.1f} ms at {light.rate:g}/s, {'met' if p50 <= 50 else 'MISSED'}"

    problems = runs[0].fake_problems if runs else []
    return "\n".join(
        [
            machine,
            "",
            "From a callback's planned send (loopback: its arrival) to the `SendSmsMessage` "
            "request with its reply reaching the fake Management API, which checks the JWT "
            "of every request (its clock, `time.time()` when the request was read). The same "
            "runs as the acknowledgement latency; each reply carries its callback's ticket "
            "number, so every reply is matched to its callback.",
            "",
            f"| intake, sender | load | replies | p50 ms | p99 ms | max ms "
            f"| unanswered {DRAIN_S:g} s after |",
            "|---|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Target p50 ≤ 50 ms at the lightest load: {_verdicts(runs, judge)}."
            + (f" The fake API saw: {'; '.join(problems)}." if problems else ""),
        ]
    )
