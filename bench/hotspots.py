"""Where a worker's time goes under the throughput load: py-spy on each gunicorn worker.

    .venv/bin/python -m bench.hotspots [SECONDS] [NAME=VALUE ...]    prints the busiest functions

NAME=VALUE settings are added to the service's environment, e.g. RESPONDER_INTAKE=queue.

Samples only threads that hold the GIL, so the shares are of Python's working time, not of
waiting. py-spy comes with `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import callbacks, servers, throughput

RATE_HZ = 200


def _py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install -e '.[bench]'")
    return found


def record(
    workdir: Path, seconds: float, settings: dict[str, str]
) -> tuple[list[Path], dict[str, float]]:
    """Profile the service's workers during one wrk run; return the raw stack files."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**callbacks.responder_env(workdir), **settings}
    callbacks.prepare_database(env, workdir)
    body_template = workdir / "body.json"
    body_template.write_text(callbacks.template())
    ids = workdir / "ids.txt"
    ids.write_text(callbacks.id_lines(9_000_000, int(throughput.MAX_RATE * (seconds + 2))))
    outputs: list[Path] = []
    with servers.gunicorn("profiled", "wsgi:app", env, workdir) as app:
        throughput.run_wrk(app.url + "/voximplant/callback", 2, ids, body_template)
        ids.write_text(callbacks.id_lines(8_000_000, int(throughput.MAX_RATE * (seconds + 2))))
        spies = []
        for pid in app.worker_pids():
            out = workdir / f"stacks-{pid}.txt"
            outputs.append(out)
            command = [_py_spy(), "record", "--pid", str(pid), "--duration", f"{seconds:.0f}"]
            command += ["--rate", str(RATE_HZ), "--format", "raw", "--gil", "--nonblocking"]
            spies.append(
                subprocess.Popen(
                    [*command, "--output", str(out)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        figures = throughput.run_wrk(app.url + "/voximplant/callback", seconds, ids, body_template)
        for spy in spies:
            spy.wait(seconds + 60)
    return [o for o in outputs if o.exists()], figures


def _frame(raw: str) -> str:
    """`function (path:line)` without the line, so a function's lines add up."""
    name, _, where = raw.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def summarise(files: list[Path], top: int = 40) -> str:
    """The functions of the service, the database layer and logging, by share of samples."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for file in files:
        for line in file.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue  # py-spy now and then writes a frame it could not read
            n = int(count)
            total += n
            frames = [
                _frame(f) for f in stack.split(";") if not f.startswith(("thread ", "process "))
            ]
            if not frames:
                continue
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    lines = [f"{total} samples while holding the GIL", "", "inclusive, service functions:"]
    for frame, n in inclusive.most_common():
        if "responder/" in frame and len(lines) < top:
            lines.append(f"  {n / total:6.1%}  {frame}")
    lines += ["", "own time, any function:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(15)]
    return "\n".join(lines)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    settings = dict(arg.split("=", 1) for arg in sys.argv[2:])
    with tempfile.TemporaryDirectory(prefix="responder-profile-") as tmp:
        files, figures = record(Path(tmp), seconds, settings)
        print(f"{figures['rate']:.0f} requests/s while profiled\n")
        print(summarise(files))


if __name__ == "__main__":
    main()
