"""Run every benchmark and write its figures to bench/README.md.

.venv/bin/python -m bench            the full runs, written to bench/README.md (~10 min)
.venv/bin/python -m bench --quick    a few seconds each, printed only: for trying changes
.venv/bin/python -m bench --only throughput,latency   some of them
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench import bench_rules, database, pipeline, readme, throughput, writers
from bench.machine import describe

PARTS = ("throughput", "latency", "writers", "rules", "database")
PG_URL = os.environ.get("RESPONDER_BENCH_DATABASE_URL", database.PG_URL)
# Intake modes and sender places of the latency part: the default, then queue mode in the web
# workers and with the Procfile's worker beside them.
LAYOUTS = (("inline", False), ("queue", False), ("queue", True))


def emit(title: str, body: str, *, write: bool) -> None:
    print(f"\n## {title}\n\n{body}\n", flush=True)
    if write:
        readme.write_section(title, body)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs, nothing written")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma list of {PARTS}")
    parser.add_argument("--no-write", action="store_true", help="print, leave the README")
    parser.add_argument("--no-postgresql", action="store_true", help="database bench on SQLite")
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    quick = args.quick
    write = not (quick or args.no_write)
    with tempfile.TemporaryDirectory(prefix="responder-bench-") as tmp:
        workdir = Path(tmp)
        if "throughput" in parts:
            print("Callback throughput", flush=True)
            machine = describe()
            result = throughput.measure(
                workdir / "throughput",
                rounds=1 if quick else 5,
                seconds=2 if quick else 10,
                warmup_s=1 if quick else 3,
            )
            emit("Callback throughput and memory", throughput.report(result, machine), write=write)
        if "latency" in parts:
            print("Acknowledgement latency and callback to reply", flush=True)
            machine = describe()
            # The light load first: a backlog left by the heavy one would delay its replies.
            loads = [(20, 3 if quick else 30), (60, 3 if quick else 30), (200, 5 if quick else 60)]
            runs = [
                run
                for n, (intake, worker) in enumerate(LAYOUTS)
                for run in pipeline.measure(workdir / f"pipeline-{n}", loads, intake, worker=worker)
            ]
            emit("Acknowledgement latency", pipeline.report_ack(runs, machine), write=write)
            emit("Callback to reply", pipeline.report_reply(runs, machine), write=write)
        if "writers" in parts:
            print("SQLite writers", flush=True)
            machine = describe()
            result = writers.measure(workdir / "writers", seconds=2 if quick else 10)
            emit("SQLite writers", writers.report(result, machine), write=write)
        if "rules" in parts:
            print("Rule matching and reload", flush=True)
            section = bench_rules.run(messages=2_000 if quick else bench_rules.MESSAGES)
            emit(bench_rules.TITLE, section, write=write)
        if "database" in parts:
            print("Database pages", flush=True)
            machine = describe()
            count = 100_000 if quick else 1_000_000
            repeats = 20 if quick else 200
            pg = None if args.no_postgresql else PG_URL
            timings = database.measure(
                workdir / "database", count=count, repeats=repeats, pg_url=pg
            )
            emit(
                "Database pages",
                database.report(timings, machine, count=count, repeats=repeats),
                write=write,
            )


if __name__ == "__main__":
    main()
