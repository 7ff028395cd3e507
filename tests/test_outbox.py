"""The outbox under concurrency: one atomic claim, leases, pacing shared between senders."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from responder.migrations import upgrade
from responder.store.db import make_engine
from responder.store.outbox import claim_due, enqueue, mark_sent, next_due, release
from responder.store.pacing import ALL, find_pause, pause_all, reserve_slot, take_turn
from responder.store.tables import outbox
from responder.store.threads import append_message, get_or_create_thread

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url, tmp_path) -> Engine:
    engine = make_engine(database_url, data_dir=tmp_path)
    upgrade(engine)
    yield engine
    engine.dispose()


def queue(engine: Engine, count: int, *, at: datetime = T0) -> list[int]:
    with engine.begin() as conn:
        thread = get_or_create_thread(conn, "447443332211", "447443332212", at)
        ids = []
        for i in range(count):
            message_id = append_message(
                conn, thread, at, direction="out", kind="reply", text=f"{i}"
            )
            enqueue(conn, message_id, at)
            ids.append(message_id)
    return ids


def test_many_senders_claiming_at_once_never_share_a_message(engine):
    queue(engine, 120)
    claimed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def sender(n: int) -> None:
        barrier.wait()
        while True:
            claims = claim_due(engine, f"sender-{n}", T0, limit=7)
            if not claims:
                return
            with lock:
                claimed.extend(c.message_id for c in claims)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(claimed) == 120
    assert len(set(claimed)) == 120


def test_a_lease_keeps_a_claim_until_it_runs_out(engine):
    [message_id] = queue(engine, 1)
    [first] = claim_due(engine, "a", T0, lease_s=30)
    assert first.uncertain_since is None
    assert claim_due(engine, "b", T0 + timedelta(seconds=29), lease_s=30) == []
    [second] = claim_due(engine, "b", T0 + timedelta(seconds=31), lease_s=30)
    assert second.message_id == message_id
    # The first holder's fate is unknown from the moment it claimed.
    assert second.uncertain_since == T0
    # The late first holder still records what it sent; the row is gone for everyone.
    assert mark_sent(engine, first, T0, provider="x", provider_message_id="1", fragments=1) is False
    assert claim_due(engine, "c", T0 + timedelta(hours=1)) == []


def test_released_claims_are_due_again_and_not_uncertain(engine):
    queue(engine, 2)
    claims = claim_due(engine, "a", T0)
    release(engine, claims, T0, due_at=T0 + timedelta(seconds=5), reason="test")
    assert claim_due(engine, "b", T0 + timedelta(seconds=4)) == []
    again = claim_due(engine, "b", T0 + timedelta(seconds=5))
    assert [c.uncertain_since for c in again] == [None, None]


def test_next_due_is_the_earliest_due_time_or_lease_end(engine):
    assert next_due(engine) is None
    queue(engine, 1)
    assert next_due(engine) == T0
    claim_due(engine, "a", T0, lease_s=60)
    assert next_due(engine) == T0 + timedelta(seconds=60)


def test_pauses_are_shared_and_grow_while_they_repeat(engine):
    first = pause_all(engine, T0, "rate limited", base_s=1, max_s=60)
    assert (first.until, first.strikes) == (T0 + timedelta(seconds=1), 1)
    second = pause_all(engine, T0, "rate limited", base_s=1, max_s=60)
    assert second.until == T0 + timedelta(seconds=2)
    hinted = pause_all(engine, T0, "rate limited", base_s=1, max_s=60, at_least_s=30)
    assert hinted.until == T0 + timedelta(seconds=30)
    assert find_pause(engine, T0 + timedelta(seconds=29)).reason == "rate limited"
    assert find_pause(engine, T0 + timedelta(seconds=30)) is None
    with engine.connect() as conn:
        assert conn.execute(select(outbox)).all() == []
    assert ALL == "*"


def test_send_slots_keep_the_rate_across_senders(engine):
    slots: list[datetime] = []
    lock = threading.Lock()

    def book() -> None:
        slot = reserve_slot(engine, "447443332211", T0, 0.5)
        with lock:
            slots.append(slot)

    threads = [threading.Thread(target=book) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(slots) == [T0 + timedelta(seconds=0.5 * i) for i in range(5)]
    # Another number has slots of its own.
    assert reserve_slot(engine, "447443332299", T0, 0.5) == T0


def test_a_turn_goes_to_one_caller_per_interval(engine):
    turns = [take_turn(engine, "status-poll", T0, 60) for _ in range(3)]
    assert turns == [True, False, False]
    assert take_turn(engine, "status-poll", T0 + timedelta(seconds=60), 60) is True
