"""Queue mode's journal on SQLite: what the answers append reaches the inbox table once.

Each process appends the callbacks it answers to a file of its own; gathering moves complete
lines into the inbox table, deletes the files whose process is gone, and drops only a line
that its process was still writing when it died (that request was never answered).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from responder.store import journal
from responder.store.db import make_engine
from responder.store.inbox import gather, inbox_engine, keep, summary
from responder.store.journal import UNREADABLE, Journal, journal_dir
from responder.store.rows import utc
from responder.store.tables import inbox
from tests.support import wait_until

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def row(callback_id: int, seconds: float = 0.0) -> dict:
    return {
        "account_id": 7,
        "callback_id": callback_id,
        "received_at": START + timedelta(seconds=seconds),
        "request_id": f"req-{callback_id}",
        "payload": '[["447700900123", "447443332211", "hours"]]',
    }


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    data = tmp_path / "data"
    database = make_engine(f"sqlite:///{data / 'responder.db'}", data_dir=data)
    found = inbox_engine(database, data)
    yield found
    found.dispose()
    database.dispose()


def directory(engine: Engine) -> Path:
    return journal_dir(str(engine.url.database))


def inboxed(engine: Engine) -> list[tuple[int, str | None, datetime]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(inbox.c.callback_id, inbox.c.request_id, inbox.c.received_at).order_by(
                inbox.c.id
            )
        ).all()
    return [(c, r, utc(at)) for c, r, at in found]


def files(engine: Engine) -> list[str]:
    return sorted(p.name for p in directory(engine).glob("*.log"))


def write_and_die(engine: Engine, ids: list[int], *, torn: bytes = b"") -> None:
    """Another process appends callbacks *ids*, then dies without closing anything; *torn*
    is what it had begun to write of one more line."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import datetime, timedelta, UTC
        from pathlib import Path
        from responder.store.journal import journal
        start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
        rows = [dict(account_id=7, callback_id=i, received_at=start + timedelta(seconds=i),
                     request_id=None, payload='[["1", "2", "x"]]') for i in {ids!r}]
        journal(Path({str(directory(engine))!r})).append(rows)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    assert child.wait(timeout=60) == -signal.SIGKILL
    if torn:  # the part of a write that reached the file when its process died
        (path,) = directory(engine).glob(f"*-{child.pid}.log")
        with open(path, "ab") as file:
            file.write(torn)


def test_answered_callbacks_wait_in_the_journal_until_gathered(engine):
    assert keep(engine, [row(1), row(2)]) == [True, True]
    assert inboxed(engine) == []  # the answer wrote only its process's journal
    waiting = summary(engine)
    assert (waiting.waiting, waiting.oldest) == (2, START)

    assert gather(engine) == 2
    assert [(c, r) for c, r, _ in inboxed(engine)] == [(1, "req-1"), (2, "req-2")]
    assert inboxed(engine)[0][2] == START
    assert summary(engine).waiting == 2  # counted once: the journal's lines were moved
    assert gather(engine) == 0
    assert len(files(engine)) == 1  # this process is alive and writes it still

    assert keep(engine, [row(3, 5)]) == [True]
    assert summary(engine).waiting == 3
    assert keep(engine, [row(4, 6)]) == [True]
    assert summary(engine).waiting == 4
    assert gather(engine) == 2  # only what came since
    assert [c for c, _, _ in inboxed(engine)] == [1, 2, 3, 4]
    assert summary(engine).waiting == 4


def test_a_redelivery_to_the_same_process_is_a_duplicate(engine):
    assert keep(engine, [row(10), row(10), row(11)]) == [True, False, True]
    assert keep(engine, [row(11)]) == [False]
    gather(engine)
    assert [c for c, _, _ in inboxed(engine)] == [10, 11]


def test_a_redelivery_that_another_process_answered_is_stored_once(engine):
    write_and_die(engine, [20, 21])
    assert keep(engine, [row(21, 30)]) == [True]  # this process did not see the first
    assert gather(engine) == 3
    assert [c for c, _, _ in inboxed(engine)] == [20, 21]


def test_the_journal_of_a_dead_process_is_gathered_whole_then_deleted(engine, caplog):
    write_and_die(engine, [30, 31, 32], torn=b'[7, 33, "2026-11-30T09:')
    assert len(files(engine)) == 1
    assert summary(engine).waiting == 3  # the unfinished line is no callback
    with caplog.at_level(logging.WARNING, logger="responder.store.journal"):
        assert gather(engine) == 3
    assert [c for c, _, _ in inboxed(engine)] == [30, 31, 32]
    assert files(engine) == []
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "dropped an unfinished last line of 23 bytes" in warning
    assert "never answered" in warning
    assert gather(engine) == 0
    assert summary(engine).waiting == 3


def test_callbacks_of_several_processes_are_gathered_in_the_order_received(engine):
    write_and_die(engine, [3, 5])  # received 3 s and 5 s after START
    assert keep(engine, [row(4, 4), row(6, 6), row(2, 2)]) == [True, True, True]
    gather(engine)
    assert [c for c, _, _ in inboxed(engine)] == [2, 3, 4, 5, 6]


def test_a_full_file_is_replaced_and_deleted_once_gathered(engine):
    writer = Journal(directory(engine), rotate_bytes=1)  # a line fills a file
    for n in range(6):
        writer.append([row(100 + n, n)])
    assert len(files(engine)) == 6
    assert gather(engine) == 6
    assert len(files(engine)) == 1  # the one it writes now
    writer.append([row(200, 10)])
    assert gather(engine) == 1
    assert len(inboxed(engine)) == 7


def test_a_file_is_let_go_when_no_callback_comes_and_then_deleted(engine):
    """Callbacks leave the disk soon after they are processed, even when no more come."""
    writer = Journal(directory(engine), idle_close_s=0.2)
    writer.append([row(300)])
    assert gather(engine) == 1
    assert len(files(engine)) == 1  # held by its process, which may write more
    assert gather(engine) == 0
    wait_until(lambda: gather(engine) == 0 and files(engine) == [], timeout=5)
    writer.append([row(301, 1)])  # a new file for the next callback
    assert len(files(engine)) == 1
    assert gather(engine) == 1
    assert [c for c, _, _ in inboxed(engine)] == [300, 301]


def test_a_file_is_let_go_once_old_however_busy(engine):
    writer = Journal(directory(engine), rotate_age_s=0.0)
    for n in range(3):
        writer.append([row(310 + n, n)])
    assert len(files(engine)) == 3
    assert gather(engine) == 3
    assert len(files(engine)) == 1


def test_a_gather_moves_a_bounded_share_and_the_next_the_rest(engine):
    write_and_die(engine, list(range(1000, 1400)))
    line = len((directory(engine) / files(engine)[0]).read_bytes()) // 400
    moved = []
    while moved_now := journal.gather(engine, directory(engine), limit_bytes=50 * line):
        moved.append(moved_now)
    assert moved == [50] * 8
    assert len(inboxed(engine)) == 400
    assert files(engine) == []


def test_a_line_that_cannot_be_read_is_kept_aside_and_named(engine, caplog):
    keep(engine, [row(40)])
    (path,) = directory(engine).glob("*.log")
    with open(path, "ab") as damaged:
        damaged.write(b'{"not": "a journal line"}\n')
    keep(engine, [row(41, 1)])
    with caplog.at_level(logging.ERROR, logger="responder.store.journal"):
        assert gather(engine) == 2
    assert [c for c, _, _ in inboxed(engine)] == [40, 41]
    (error,) = [r.getMessage() for r in caplog.records]
    first = len(path.read_bytes().splitlines(keepends=True)[0])
    assert f"{path.name}: byte {first}: a journal line that cannot be read" in error
    kept = directory(engine) / UNREADABLE
    assert kept.read_bytes() == b'{"not": "a journal line"}\n'


def test_a_file_left_unnamed_by_a_dead_process_is_deleted_after_a_minute(engine):
    keep(engine, [row(60)])
    old, new = directory(engine) / "1-1.new", directory(engine) / "2-2.new"
    old.touch()
    new.touch()  # as a process creating its file right now leaves it, for an instant
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert gather(engine) == 1
    assert sorted(p.name for p in directory(engine).glob("*.new")) == ["2-2.new"]


def test_files_stay_private_and_inside_the_data_directory(engine, tmp_path):
    keep(engine, [row(50)])
    found = directory(engine)
    assert found.parent == tmp_path / "data"
    assert oct(found.stat().st_mode & 0o777) == "0o700"
    for path in found.glob("*.log"):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert os.listdir(tmp_path) == ["data"]
