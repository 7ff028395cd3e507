"""What a run was measured on: cores, CPU, memory, load, Python, date and commit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def cores() -> str:
    found = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return found or str(os.cpu_count())


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def commit() -> str:
    """The commit measured, with "+ local changes" when the work tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short=10", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "responder")
    return f"{head} + local changes to responder/" if dirty else head


def describe() -> str:
    """One line for the README: where and when the figures were measured."""
    python = ".".join(map(str, sys.version_info[:3]))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {when} at commit `{commit()}` on {cores()} CPUs (`nproc`), {cpu_model()}, "
        f"{memory_gib():.0f} GiB memory, Python {python}; load average {load_average()} "
        "(1/5 min) at the start."
    )
