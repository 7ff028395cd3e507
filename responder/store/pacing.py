"""Pacing shared by every sender: a pause of all sending, per-number send slots, turn taking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, text, update

from responder.store.db import reading
from responder.store.outbox import ALL_GATE, CHANNEL
from responder.store.rows import insert_ignore, utc
from responder.store.tables import send_gates

ALL = ALL_GATE  # the gate every send passes: closed on rate limits and when money runs out
STATUS_POLL = "status-poll"  # whose turn it is to poll delivery states


@dataclass(frozen=True)
class Pause:
    """All sending waits until *until*, because of *reason*."""

    until: datetime
    reason: str
    strikes: int


def find_pause(engine: Engine, now: datetime) -> Pause | None:
    """The pause in force at *now*, if any."""
    with reading(engine) as conn:
        row = conn.execute(select(send_gates).where(send_gates.c.name == ALL)).first()
    until = utc(row.open_at) if row is not None else None
    if row is None or until is None or until <= now:
        return None
    return Pause(until, row.reason or "", row.strikes)


def pause_all(
    engine: Engine,
    now: datetime,
    reason: str,
    *,
    base_s: float,
    max_s: float,
    at_least_s: float = 0.0,
) -> Pause:
    """Stop every sender for a while that doubles with each pause in a row (from *base_s* up to
    *max_s*, never less than *at_least_s*); a later pause already in force wins."""
    with engine.begin() as conn:
        row = _locked(conn, ALL, now)
        strikes = int(row.strikes) + 1
        delay = max(at_least_s, min(max_s, base_s * 2 ** min(strikes - 1, 20)))
        until = max(now + timedelta(seconds=delay), utc(row.open_at) or now)
        conn.execute(
            update(send_gates)
            .where(send_gates.c.name == ALL)
            .values(open_at=until, reason=reason, strikes=strikes)
        )
    return Pause(until, reason, strikes)


def lift_pause(engine: Engine, now: datetime) -> Pause | None:
    """End the pause in force now (say, after a top-up); return what it was."""
    pause = find_pause(engine, now)
    if pause is not None:
        with engine.begin() as conn:
            conn.execute(
                update(send_gates).where(send_gates.c.name == ALL).values(open_at=now, strikes=0)
            )
            if conn.dialect.name == "postgresql":  # wake the senders of every process
                conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    return pause


def reserve_slot(engine: Engine, our_number: str, now: datetime, interval_s: float) -> datetime:
    """Book the next send slot of *our_number*, *interval_s* after the last one; return its time."""
    with engine.begin() as conn:
        row = _locked(conn, our_number, now)
        slot = max(now, utc(row.open_at) or now)
        conn.execute(
            update(send_gates)
            .where(send_gates.c.name == our_number)
            .values(open_at=slot + timedelta(seconds=interval_s))
        )
    return slot


def take_turn(engine: Engine, name: str, now: datetime, interval_s: float) -> bool:
    """True for exactly one caller per *interval_s*, across every process."""
    with engine.begin() as conn:
        row = _locked(conn, name, now)
        if (utc(row.open_at) or now) > now:
            return False
        conn.execute(
            update(send_gates)
            .where(send_gates.c.name == name)
            .values(open_at=now + timedelta(seconds=interval_s))
        )
    return True


def _locked(conn: Connection, name: str, now: datetime) -> Row[Any]:
    # SQLite transactions here begin IMMEDIATE (write lock); PostgreSQL locks the row.
    insert_ignore(conn, send_gates, {"name": name, "open_at": now, "strikes": 0}, ["name"])
    query = select(send_gates).where(send_gates.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).one()
