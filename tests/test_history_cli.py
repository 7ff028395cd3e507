"""`responder history sync` against the fake Management API: pages, duplicates, resuming."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select, text

from responder import create_app
from responder.config import Config
from responder.migrations import upgrade
from responder.store.db import make_engine
from responder.store.history import HistoryMessage, import_message
from responder.store.tables import messages, threads
from tests.fakes.keys import make_account, other_key_pair
from tests.fakes.voximplant_api import FakeVoximplant
from tests.support import (
    OUR,
    THEIRS,
    invoke_cli,
    post_callback,
    serve,
    sms_callback,
    voximplant_config,
    wait_until,
)

OLD = "2026-01-05 10:00:00"


def customer(i: int) -> str:
    return f"4479111{i % 40:05d}"


def two_way_item(i: int, *, direction: str = "IN", at: str = OLD) -> dict[str, Any]:
    inbound = direction == "IN"
    return {
        "message_id": 900000 + i,
        "source_number": customer(i) if inbound else OUR,
        "destination_number": OUR if inbound else customer(i),
        "direction": direction,
        "fragments": 1,
        "cost": 0.05,
        "status_id": 1,
        "error_message": None,
        "processed_date": at,
        "transaction_id": 700000 + i,
        "text": f"message {i}",
    }


@pytest.fixture
def vox_config(config: Config, fake_api: FakeVoximplant) -> Config:
    return voximplant_config(config, fake_api.url)


def sync(config: Config, *args: str) -> Result:
    return invoke_cli(config, "history", "sync", *args)


def history_requests(
    fake_api: FakeVoximplant, method: str = "GetSmsHistory"
) -> list[dict[str, str]]:
    return [r.params for r in fake_api.requests if r.method == method]


def stored(config: Config) -> list:
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(threads.c.our_number, threads.c.their_number, messages).join(
                    threads, threads.c.id == messages.c.thread_id
                )
            ).all()
    finally:
        engine.dispose()


@pytest.mark.parametrize(("size", "pages"), [(1000, 1), (1001, 2)])
def test_sync_pages_by_1000_across_the_boundary(vox_config, fake_api, size, pages):
    fake_api.history.extend(
        two_way_item(i, direction="IN" if i % 3 else "OUT") for i in range(size)
    )

    result = sync(vox_config)

    assert result.exit_code == 0, result.output
    asked = history_requests(fake_api)
    assert [(p["count"], p["offset"]) for p in asked] == [
        ("1000", str(1000 * n)) for n in range(pages)
    ]
    assert "to_date" in asked[0]
    assert "from_date" not in asked[0]
    rows = stored(vox_config)
    assert len(rows) == size
    assert len({r.provider_message_id for r in rows}) == size
    first_in = next(r for r in rows if r.provider_message_id == "900001")
    assert (first_in.our_number, first_in.their_number, first_in.direction) == (
        OUR,
        customer(1),
        "in",
    )
    assert (first_in.text, first_in.status) == ("message 1", "received")
    first_out = next(r for r in rows if r.provider_message_id == "900000")
    assert (first_out.our_number, first_out.their_number, first_out.status) == (
        OUR,
        customer(0),
        "sent",
    )
    assert f"GetSmsHistory: {size} in the window, {size} imported, 0 already there" in (
        result.output
    )

    again = sync(vox_config)
    assert again.exit_code == 0, again.output
    assert len(stored(vox_config)) == size
    assert history_requests(fake_api)[-1]["from_date"] < history_requests(fake_api)[-1]["to_date"]


def test_an_interrupted_sync_resumes_at_the_page_it_had_not_stored(vox_config, fake_api):
    fake_api.history.extend(two_way_item(i) for i in range(1001))
    fake_api.error_next(2, method="GetSmsHistory", after=1)

    first = sync(vox_config)

    assert first.exit_code == 1
    assert "GetSmsHistory stopped at offset 1000: 2: GetSmsHistory: Internal error" in (
        first.output
    )
    assert "run the command again to resume" in first.output
    assert len(stored(vox_config)) == 1000

    second = sync(vox_config)

    assert second.exit_code == 0, second.output
    assert "GetSmsHistory: resuming at item 1000" in second.output
    offsets = [p["offset"] for p in history_requests(fake_api)]
    assert offsets == ["0", "1000", "1000"]
    windows = {(p.get("from_date"), p["to_date"]) for p in history_requests(fake_api)}
    assert len(windows) == 1
    rows = stored(vox_config)
    assert len(rows) == 1001
    assert len({r.provider_message_id for r in rows}) == 1001


def test_a2p_history_lands_in_threads_with_its_delivery_status(vox_config, fake_api):
    fake_api.a2p_history.extend(
        {
            "message_id": 810000 + i,
            "source_number": "ShopNews",
            "destination_number": int(customer(i)),
            "fragments": 1,
            "cost": 0.04,
            "status_id": 1,
            "error_message": None,
            "processing_date": OLD,
            "transaction_id": 820000 + i,
            "delivery_status": status,
            "text": None,
        }
        for i, status in enumerate(["DELIVERED", "REJECTED", "QUEUED"])
    )

    result = sync(vox_config, "--since", "2026-01-01")

    assert result.exit_code == 0, result.output
    assert history_requests(fake_api, "A2PGetSmsHistory")[0]["from_date"] == "2026-01-01 00:00:00"
    rows = sorted(stored(vox_config), key=lambda r: r.provider_message_id)
    assert [(r.our_number, r.their_number, r.status, r.provider) for r in rows] == [
        ("ShopNews", customer(0), "delivered", "voximplant-a2p"),
        ("ShopNews", customer(1), "failed", "voximplant-a2p"),
        ("ShopNews", customer(2), "sent", "voximplant-a2p"),
    ]


def test_messages_we_already_hold_are_not_imported_twice(vox_config, fake_api):
    app = create_app(vox_config)
    services = app.extensions["responder"]
    with serve(app) as url:
        assert post_callback(url, sms_callback(1, "HOURS")).status_code == 200
        wait_until(lambda: fake_api.sent)
        wait_until(lambda: any(r.status == "sent" for r in stored(vox_config)))
    services.sender.stop()
    services.engine.dispose()
    inbound = two_way_item(1, direction="IN", at=fake_api.history[0]["processed_date"])
    inbound.update(message_id=123, source_number=THEIRS, text="HOURS")
    fake_api.history.append(inbound)

    result = sync(vox_config)

    assert result.exit_code == 0, result.output
    assert "GetSmsHistory: 2 in the window, 0 imported, 2 already there" in result.output
    rows = stored(vox_config)
    assert sorted((r.direction, r.provider_message_id) for r in rows) == [
        ("in", "123"),
        ("out", str(fake_api.history[0]["message_id"])),
    ]


def test_bad_credentials_stop_the_sync_with_a_clear_error(config, fake_api):
    wrong = config.with_changes(
        voximplant=make_account(other_key_pair()), voximplant_api_url=fake_api.url
    )

    result = sync(wrong)

    assert result.exit_code == 1
    assert "GetSmsHistory stopped at offset 0: 100: GetSmsHistory: Authorization failed" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_a_bad_date_is_refused(vox_config, fake_api):
    result = sync(vox_config, "--since", "yesterday")

    assert result.exit_code == 2
    assert "'yesterday' does not match the formats" in result.output
    assert fake_api.requests == []
    engine = make_engine(vox_config.database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == 0
    engine.dispose()


def test_two_syncs_importing_one_message_at_once_store_it_once(config):
    engines = [make_engine(config.database_url, data_dir=config.data_dir) for _ in range(2)]
    upgrade(engines[0])
    now = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

    def item(message_id: str) -> HistoryMessage:
        return HistoryMessage(
            "voximplant", message_id, "out", OUR, THEIRS, f"text {message_id}", "sent", now
        )

    with engines[0].begin() as conn:
        assert import_message(conn, item("900001"), now)  # the thread exists from here on
    second: dict[str, Any] = {}

    def import_in_second_sync() -> None:
        with engines[1].begin() as conn:
            if conn.dialect.name == "postgresql":
                second["pid"] = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            second["added"] = import_message(conn, item("900002"), now)

    try:
        with engines[0].begin() as first:
            assert import_message(first, item("900002"), now)
            runner = threading.Thread(target=import_in_second_sync)
            runner.start()
            if first.dialect.name == "postgresql":
                # The second sync's insert waits for ours; on SQLite its BEGIN waits instead.
                wait_until(
                    lambda: (
                        "pid" in second
                        and first.execute(
                            text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"),
                            {"pid": second["pid"]},
                        ).scalar()
                    )
                )
        runner.join(30)
        assert second["added"] is False
        with engines[0].connect() as conn:
            ids = conn.execute(select(messages.c.provider_message_id)).scalars().all()
        assert sorted(ids) == ["900001", "900002"]
    finally:
        for engine in engines:
            engine.dispose()
