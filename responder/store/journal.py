"""Queue mode's journal on SQLite: answers append callbacks to a file; gathering moves them.

Answering a callback in queue mode appends it to a journal file that belongs to the answering
process, one JSON line per callback, in one write for the request. The write has the
durability of the inbox's SQLite commits (WAL, synchronous=NORMAL: in the operating system's
hands, not yet on the disk) at a fraction of their cost: no lock shared with other processes,
no transaction, no thread waiting for another. `gather` then moves the lines into the inbox
table, where the rest of queue mode finds them (store/inbox.py).

The files live in `responder-inbox.journal/` beside the inbox file. Each process writes its own
file and holds an exclusive flock on it for as long as it writes it, so whoever gathers can
tell a live file (read the lines so far) from one whose process is gone or has moved on to a
new file (read it to the end, then delete it). A file is locked before it gets its name, so
that it is never seen unlocked before its first line. How far each file was read is stored in
the inbox file, in the transaction that inserts its lines: each line is moved once.

A line that was being written when its process died has no newline; its request was never
answered, so Voximplant delivers it again, and the line is dropped with a warning.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, delete, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError

from responder.store.tables import inbox

log = logging.getLogger(__name__)

# A process closes its file (and starts a new one at its next callback) once the file has
# grown this large, is this old, or has had no callback for this long: a closed file is
# deleted once gathered, so callbacks stay in the journal about a minute at most.
ROTATE_BYTES = 4 << 20
ROTATE_AGE_S = 60.0
IDLE_CLOSE_S = 2.0
# At most this much is moved per gather, so that the inbox loop processes between gathers.
GATHER_BYTES = 1 << 20
# Callbacks remembered per process, so that a redelivery to it is answered as a duplicate.
RECENT = 16384
# Where complete lines that cannot be read are kept, in the journal directory.
UNREADABLE = "unreadable.jsonl"

# How far each journal file was read; in the inbox file, beside the inbox table.
journal_read = Table(
    "journal_read",
    MetaData(),
    Column("name", String(64), primary_key=True),
    Column("offset", Integer, nullable=False),
)

_INSERT = sqlite.insert(inbox).on_conflict_do_nothing(index_elements=["account_id", "callback_id"])
_OFFSET = sqlite.insert(journal_read)
_READ_TO = _OFFSET.on_conflict_do_update(
    index_elements=["name"], set_={"offset": _OFFSET.excluded.offset}
)


@functools.cache  # asked for by every answer and every poll of the inbox loop
def journal_dir(inbox_file: str) -> Path:
    """The journal directory of the inbox file at *inbox_file*."""
    return Path(inbox_file).with_suffix(".journal")


@dataclass(frozen=True)
class Backlog:
    """Callbacks answered and still in the journal, not yet in the inbox table."""

    callbacks: int
    oldest: datetime | None


class Journal:
    """The journal file of this process in one directory, written by its answering threads."""

    def __init__(
        self,
        directory: Path,
        *,
        rotate_bytes: int = ROTATE_BYTES,
        rotate_age_s: float = ROTATE_AGE_S,
        idle_close_s: float = IDLE_CLOSE_S,
    ) -> None:
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self.rotate_age_s = rotate_age_s
        self.idle_close_s = idle_close_s
        self._lock = threading.Lock()
        self._fd = -1
        self._pid = 0
        self._size = 0
        self._opened = self._written = 0.0  # time.monotonic()
        self._closer_pid = 0  # the process whose closing thread runs
        self._recent: dict[tuple[int, int], None] = {}

    def append(self, rows: list[dict[str, Any]]) -> list[bool]:
        """Append the callbacks (account_id, callback_id, received_at, request_id, payload) of
        one request, written when this returns; for each, False when this process took it
        already (a redelivery).

        A redelivery that another process answered is appended again, and dropped when the
        inbox table or the database's seen-callback key finds it there. Raises SQLAlchemy's
        OperationalError when the file cannot be written: nothing of this request was kept.
        """
        kept: list[bool] = []
        lines: list[bytes] = []
        with self._lock:
            for row in rows:
                key = (row["account_id"], row["callback_id"])
                new = key not in self._recent
                kept.append(new)
                if new:
                    self._recent[key] = None
                    lines.append(_line(row))
            if lines:
                try:
                    self._write(b"".join(lines))
                except OSError as exc:
                    for row, new in zip(rows, kept, strict=True):
                        if new:
                            self._recent.pop((row["account_id"], row["callback_id"]), None)
                    raise OperationalError(f"append to {self.directory}", None, exc) from exc
            if len(self._recent) > RECENT:
                for key in list(self._recent)[: RECENT // 4]:
                    del self._recent[key]
        return kept

    def _write(self, data: bytes) -> None:
        now = time.monotonic()
        if (
            self._pid != os.getpid()
            or self._fd < 0
            or self._size >= self.rotate_bytes
            or now - self._opened >= self.rotate_age_s
        ):
            self._start_file(now)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            self._close()  # a line may be cut short: the next request starts a new file
            raise
        self._size += len(data)
        self._written = now

    def _start_file(self, now: float) -> None:
        """Open a new file of this process, locked before it has its name; close the last."""
        self.directory.mkdir(mode=0o700, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}"
        temporary = self.directory / f"{name}.new"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(temporary, self.directory / f"{name}.log")
        except OSError:
            os.close(fd)
            raise
        self._close()
        self._fd, self._pid, self._size, self._opened = fd, os.getpid(), 0, now
        if self._closer_pid != self._pid:
            self._closer_pid = self._pid
            closer = threading.Thread(target=self._close_when_idle, name="journal", daemon=True)
            closer.start()

    def _close_when_idle(self) -> None:
        """Close the file once no callback came for idle_close_s, then end."""
        while True:
            time.sleep(self.idle_close_s)
            with self._lock:
                if self._fd < 0 or time.monotonic() - self._written >= self.idle_close_s:
                    self._close()
                    self._closer_pid = 0
                    return

    def _close(self) -> None:
        """Close the file (in a forked child, its copy of the parent's): its lock goes with it
        once no process has it open."""
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = -1


def _line(row: dict[str, Any]) -> bytes:
    fields = [
        row["account_id"],
        row["callback_id"],
        row["received_at"].isoformat(),
        row["request_id"],
        row["payload"],
    ]
    return json.dumps(fields, ensure_ascii=False).encode() + b"\n"


def _row(line: bytes) -> dict[str, Any]:
    account_id, callback_id, received_at, request_id, payload = json.loads(line)
    if not (isinstance(account_id, int) and isinstance(callback_id, int)):
        raise ValueError("account_id and callback_id must be integers")
    if not isinstance(payload, str) or not (request_id is None or isinstance(request_id, str)):
        raise ValueError("request_id and payload must be strings")
    return {
        "account_id": account_id,
        "callback_id": callback_id,
        "received_at": datetime.fromisoformat(received_at),
        "request_id": request_id,
        "payload": payload,
    }


_JOURNALS: dict[Path, Journal] = {}
_JOURNALS_LOCK = threading.Lock()


def journal(directory: Path) -> Journal:
    """The one Journal of this process for *directory*."""
    found = _JOURNALS.get(directory)
    if found is None:
        with _JOURNALS_LOCK:
            found = _JOURNALS.setdefault(directory, Journal(directory))
    return found


@dataclass
class _Read:
    """What one gather read of one file."""

    path: Path
    start: int
    end: int  # just past the last complete line read
    ended: bool  # its process is gone and the file was read to its end: delete it
    rows: list[dict[str, Any]]


def gather(engine: Engine, directory: Path, *, limit_bytes: int = GATHER_BYTES) -> int:
    """Move complete lines of the journal files into the inbox table of *engine*, oldest
    first, about *limit_bytes* at most; delete the files done with. How many callbacks were
    moved, redeliveries that the inbox held already included.

    One process gathers at a time; another that tries meanwhile moves nothing and returns 0.
    When no file grew and none was let go since this process last read them all, it returns
    0 at once.
    """
    sizes = _sizes(directory)
    if not sizes or _unchanged(directory, sizes):
        return 0
    with _gathering(directory) as mine:
        if not mine:
            return 0
        offsets = _offsets(engine)
        reads: list[_Read] = []
        budget = limit_bytes
        for name in sorted(sizes):
            if budget <= 0:
                break
            read = _read(directory / name, offsets.get(name, 0), budget)
            if read is not None:
                reads.append(read)
                budget -= read.end - read.start
        rows = sorted((r for read in reads for r in read.rows), key=lambda r: r["received_at"])
        moved = [read for read in reads if read.end > read.start]
        if moved:
            with engine.begin() as conn:
                if rows:
                    conn.execute(_INSERT, rows)
                for read in moved:
                    conn.execute(_READ_TO, {"name": read.path.name, "offset": read.end})
        ended = [read.path for read in reads if read.ended]
        for path in ended:
            path.unlink(missing_ok=True)
        if ended:  # a row left by a crash before this is harmless: its name is never reused
            with engine.begin() as conn:
                names = [path.name for path in ended]
                conn.execute(delete(journal_read).where(journal_read.c.name.in_(names)))
        _sweep_unnamed(directory)
    if budget > 0:  # read to the end of every file, as they were before it began
        live = {read.path.name for read in reads if not read.ended}
        _READ_ALL[directory] = (sizes, live)
    return len(rows)


# Per directory, when this process last read every journal file to its end: their sizes then
# (by name), and which of them their processes still held.
_READ_ALL: dict[Path, tuple[dict[str, int], set[str]]] = {}


def _unchanged(directory: Path, sizes: dict[str, int]) -> bool:
    """Whether nothing was written since this process read every file to its end, and every
    file held then is held still (one let go must be deleted)."""
    known = _READ_ALL.get(directory)
    if known is None or known[0] != sizes:
        return False
    for name in known[1]:
        with _opened(directory / name) as fd:
            if fd is None or _unlocked(fd):
                return False
    return True


def _sizes(directory: Path) -> dict[str, int]:
    """The size of each journal file in *directory*, by name; empty when there is none."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return {}
    sizes = {}
    for entry in entries:
        if entry.name.endswith(".log"):
            with suppress(FileNotFoundError):
                sizes[entry.name] = entry.stat().st_size
    return sizes


def _offsets(engine: Engine) -> dict[str, int]:
    """How far each journal file was read, by name."""
    with engine.connect() as conn:
        return {name: offset for name, offset in conn.execute(select(journal_read))}


def _read(path: Path, start: int, limit: int) -> _Read | None:
    """The complete lines of *path* from *start*, about *limit* bytes; None when it is gone."""
    with _opened(path) as fd:
        if fd is None:
            return None
        unlocked = _unlocked(fd)  # its process is gone, or writes a newer file: nothing comes
        remaining = max(os.fstat(fd).st_size - start, 0)
        want = min(remaining, limit)
        data = os.pread(fd, want, start) if want else b""
        while b"\n" not in data and len(data) < remaining:  # a line longer than *limit*
            want = min(remaining, want * 2)
            data = os.pread(fd, want, start)
    complete = data[: data.rfind(b"\n") + 1]
    ended = unlocked and len(data) == remaining
    if ended and len(complete) < len(data):
        log.warning(
            "%s: dropped an unfinished last line of %d bytes (its request was never answered)",
            path.name,
            len(data) - len(complete),
        )
    rows = []
    position = start
    for line in complete.splitlines(keepends=True):
        try:
            rows.append(_row(line))
        except (ValueError, TypeError) as exc:
            _keep_unreadable(path, position, line, exc)
        position += len(line)
    return _Read(path, start, start + len(complete), ended, rows)


def _keep_unreadable(path: Path, position: int, line: bytes, exc: Exception) -> None:
    log.error(
        "%s: byte %d: a journal line that cannot be read (%s) is kept in %s",
        path.name,
        position,
        exc,
        UNREADABLE,
    )
    with open(path.with_name(UNREADABLE), "ab") as kept:
        kept.write(line)


def _unlocked(fd: int) -> bool:
    """Whether no process holds the file's lock; takes it for the caller when so."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _sweep_unnamed(directory: Path) -> None:
    """Delete files left unnamed by a process that died as it created them: never written.
    Only a minute after: a process creating one now has not locked it yet."""
    for path in directory.glob("*.new"):
        with _opened(path) as fd:
            if fd is None:
                continue
            found = os.fstat(fd)
            if found.st_size == 0 and found.st_mtime < time.time() - 60 and _unlocked(fd):
                path.unlink(missing_ok=True)


@contextmanager
def _opened(path: Path) -> Iterator[int | None]:
    """*path* opened for reading, closed after; None when it is gone (gathered meanwhile)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _gathering(directory: Path) -> Iterator[bool]:
    """Whether this process may gather now: it holds the directory's gathering lock."""
    fd = os.open(directory / "gather.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield _unlocked(fd)
    finally:
        os.close(fd)


def backlog(engine: Engine, directory: Path) -> Backlog:
    """The callbacks in the journal files that no gather has moved yet; a read only.

    Each file's lines are counted once: a later call reads only what was written since.
    """
    sizes = _sizes(directory)
    if not sizes:
        return Backlog(0, None)
    offsets = _offsets(engine)
    callbacks = 0
    oldest: datetime | None = None
    for name in sorted(sizes):
        path = directory / name
        try:
            count = _lines(path, offsets.get(name, 0))
            if count and oldest is None:
                oldest = _first_time(path, offsets.get(name, 0))
        except FileNotFoundError:  # gathered and deleted meanwhile
            continue
        callbacks += count
    for path in [p for p in _COUNTED if p.parent == directory and p.name not in sizes]:
        del _COUNTED[path]
    return Backlog(callbacks, oldest)


# For each journal file: from which offset, up to which, this process counted how many lines.
_COUNTED: dict[Path, tuple[int, int, int]] = {}


def _lines(path: Path, start: int) -> int:
    """The complete lines of *path* after *start*."""
    begun, counted, count = _COUNTED.get(path, (start, start, 0))
    if begun != start:  # gathered since: count again from the offset
        counted, count = start, 0
    with open(path, "rb") as file:
        file.seek(counted)
        while chunk := file.read(1 << 20):
            count += chunk.count(b"\n")
            counted += len(chunk)
    _COUNTED[path] = (start, counted, count)
    return count


def _first_time(path: Path, start: int) -> datetime | None:
    """When the first line of *path* after *start* was received; None if it cannot be read."""
    with open(path, "rb") as file:
        file.seek(start)
        line = file.readline()
    try:
        received: datetime = _row(line)["received_at"]
    except (ValueError, TypeError):
        return None
    return received
