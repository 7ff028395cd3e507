"""SQLite writers taking turns: 2 processes × 5 threads, each transaction holding the lock 2 ms.

What the callback intake and the sender threads of two gunicorn workers do to one SQLite file,
without the rest of their work: the rate of write transactions against the ideal (one at a
time, back to back) and how long each waited for its turn.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.stats import percentile
from responder.store.db import make_engine

PROCESSES = 2
THREADS = 5
HOLD_S = 0.002


@dataclass
class Result:
    seconds: float
    transactions: int
    waits_ms: list[float]


def _writer_process(database: str, seconds: float, out: Any) -> None:
    engine = make_engine(f"sqlite:///{database}", data_dir=Path(database).parent)
    waits: list[float] = []
    stop = time.monotonic() + seconds

    def write() -> None:
        while time.monotonic() < stop:
            asked = time.monotonic()
            with engine.begin() as conn:
                waits.append((time.monotonic() - asked) * 1000)
                conn.execute(text("INSERT INTO bench_rows (at) VALUES (:at)"), {"at": asked})
                time.sleep(HOLD_S)

    threads = [threading.Thread(target=write) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    out.put(waits)


def measure(workdir: Path, *, seconds: float) -> Result:
    workdir.mkdir(parents=True, exist_ok=True)
    database = str(workdir / "writers.db")
    engine = make_engine(f"sqlite:///{database}", data_dir=workdir)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, at REAL)"))
    engine.dispose()
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [
        context.Process(target=_writer_process, args=(database, seconds, out))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    waits = [w for _ in processes for w in out.get(timeout=seconds + 120)]
    for process in processes:
        process.join(30)
    return Result(seconds, len(waits), waits)


def report(result: Result, machine: str) -> str:
    rate = result.transactions / result.seconds
    w = result.waits_ms
    return "\n".join(
        [
            machine,
            "",
            f"{PROCESSES} processes × {THREADS} threads write to one SQLite file through "
            "`make_engine` for "
            f"{result.seconds:g} s; each transaction inserts a row and holds the write lock "
            f"{HOLD_S * 1000:g} ms. *Wait* is from asking for a transaction to holding the "
            "lock.",
            "",
            "| transactions/s | ideal | wait p50 ms | wait p99 ms | wait max ms |",
            "|---:|---:|---:|---:|---:|",
            f"| {rate:.0f} | {1 / HOLD_S:.0f} | {percentile(w, 0.5):.1f} | "
            f"{percentile(w, 0.99):.1f} | {max(w, default=0):.0f} |",
        ]
    )
