"""CPU and SQL statements per callback in process: the Flask test client, a temp SQLite file.

    .venv/bin/python -m bench.intake_cpu [CALLBACKS] [ROUNDS]

No sender runs, so the figures are the intake's alone: process CPU time and the statements
the engine executed, per callback, each round on fresh callbacks; prints the median round.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench import callbacks
from responder import create_app
from responder.config import Config


def measure(count: int, rounds: int) -> tuple[float, float]:
    """Median CPU ms and statements per callback over *rounds* of *count* callbacks."""
    with tempfile.TemporaryDirectory(prefix="responder-intake-") as tmp:
        env = callbacks.responder_env(Path(tmp))
        config = Config.from_env(env, cwd=Path(tmp))
        app = create_app(config, start_sender=False, log_stream=io.StringIO())
        engine = app.extensions["responder"].engine
        statements = [0]

        def count_statement(*_: Any) -> None:
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count_statement)
        client = app.test_client()
        headers = {"Content-Type": "application/json"}
        next_id = 5_000_000
        for i in range(200):  # warm-up: caches, threads of every sender
            client.post("/voximplant/callback", data=callbacks.body(next_id + i), headers=headers)
        next_id += 200
        cpu: list[float] = []
        per: list[float] = []
        for _ in range(rounds):
            bodies = [callbacks.body(next_id + i) for i in range(count)]
            next_id += count
            statements[0] = 0
            start = time.process_time()
            for data in bodies:
                response = client.post("/voximplant/callback", data=data, headers=headers)
                assert response.status_code == 200, response.get_data(as_text=True)
            cpu.append((time.process_time() - start) * 1000 / count)
            per.append(statements[0] / count)
        engine.dispose()
    return statistics.median(cpu), statistics.median(per)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    cpu, per = measure(count, rounds)
    print(f"{cpu:.2f} ms CPU per callback, {per:.1f} statements per callback")


if __name__ == "__main__":
    main()
