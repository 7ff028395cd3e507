"""Schema migrations: the shipped revisions build tables.py, and upgrading keeps every row."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from responder.errors import SchemaError
from responder.migrations import alembic_config, current_revision, head_revision, upgrade
from responder.store.db import make_engine
from responder.store.rows import utc
from responder.store.tables import metadata
from tests.processes import responder, service_env

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Engine:
    engine = make_engine(database_url, data_dir=tmp_path)
    yield engine
    engine.dispose()


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_the_migrations_have_exactly_one_head():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert script.get_base() == "0001"


def test_migrated_schema_equals_the_tables_of_the_code(engine):
    assert upgrade(engine) == (None, head_revision())
    assert schema_differences(engine) == []


def test_the_queries_that_matter_have_their_indexes(engine):
    upgrade(engine)
    found = {
        table: {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes(table)}
        for table in ("messages", "threads", "outbox")
    }
    assert ("thread_id", "id") in found["messages"]  # a thread page
    assert ("last_activity_at", "id") in found["threads"]  # the inbox by last activity
    assert ("due_at",) in found["outbox"]  # due outbox rows
    assert ("created_at",) in found["messages"]  # purge by age
    assert ("their_number",) in found["threads"]  # threads of a number


def test_upgrading_again_changes_nothing(engine):
    upgrade(engine)
    assert upgrade(engine) == (head_revision(), head_revision())


def first_schema_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows for every table and column of revision 0001, with NULLs, Unicode and big numbers."""
    at = [T0 + timedelta(minutes=i, microseconds=i) for i in range(10)]
    threads = [
        {
            "id": 1,
            "our_number": "447443332211",
            "their_number": "447443332212",
            "created_at": at[0],
            "last_activity_at": at[5],
            "last_text": "Thanks — see you at 9 🙂",
            "unread": 2,
            "state": "asked_name",
            "state_expires_at": at[9],
            "saved": '{"name": "Zoë"}',
            "tags": '["vip", "repair"]',
            "paused_until": at[8],
        },
        {
            "id": 2,
            "our_number": "447443332211",
            "their_number": "380501234567",
            "created_at": at[1],
            "last_activity_at": at[1],
            "last_text": None,
            "unread": 0,
            "state": None,
            "state_expires_at": None,
            "saved": "{}",
            "tags": "[]",
            "paused_until": None,
        },
    ]
    full = {
        "ruleset_version": "3f2a9c",
        "reply_to_id": None,
        "callback_id": None,
        "provider": None,
        "provider_message_id": None,
        "encoding": None,
        "segments": None,
        "fragments": None,
        "attempts": 0,
        "error_code": None,
        "error_text": None,
        "trace": None,
        "rule_id": None,
    }
    messages = [
        {
            **full,
            "id": 1,
            "thread_id": 1,
            "direction": "in",
            "kind": "inbound",
            "text": "HOURS please",
            "status": "handled",
            "callback_id": 9_007_199_254_740_993,  # beyond a double's exact integers
            "trace": '{"matched": "hours"}',
            "created_at": at[2],
            "updated_at": at[2],
        },
        {
            **full,
            "id": 2,
            "thread_id": 1,
            "direction": "out",
            "kind": "reply",
            "text": "We are open 9:00–17:00 ✓",
            "status": "sent",
            "rule_id": "hours",
            "reply_to_id": 1,
            "provider": "voximplant",
            "provider_message_id": "58113",
            "encoding": "UCS-2",
            "segments": 1,
            "fragments": 1,
            "attempts": 2,
            "created_at": at[2],
            "updated_at": at[3],
        },
        {
            **full,
            "id": 3,
            "thread_id": 1,
            "direction": "out",
            "kind": "reply",
            "text": "x" * 1200,
            "status": "failed",
            "rule_id": "order-status",
            "reply_to_id": 1,
            "attempts": 6,
            "error_code": "retry_limit",
            "error_text": "SendSmsMessage: internal error (HTTP 503)",
            "created_at": at[4],
            "updated_at": at[5],
        },
        {
            **full,
            "id": 4,
            "thread_id": 2,
            "direction": "out",
            "kind": "manual",
            "text": "",
            "status": "queued",
            "ruleset_version": None,
            "created_at": at[6],
            "updated_at": at[6],
        },
    ]
    events = [
        {"id": 1, "message_id": 1, "status": "received", "detail": None, "at": at[2]},
        {"id": 2, "message_id": 1, "status": "handled", "detail": "rule hours", "at": at[2]},
        {"id": 3, "message_id": 2, "status": "queued", "detail": None, "at": at[2]},
        {"id": 4, "message_id": 2, "status": "sent", "detail": "voximplant id 58113", "at": at[3]},
        {"id": 5, "message_id": 3, "status": "failed", "detail": "retry_limit", "at": at[5]},
        {"id": 6, "message_id": 4, "status": "queued", "detail": None, "at": at[6]},
    ]
    seen = [
        {
            "account_id": 1234567,
            "callback_id": 9_007_199_254_740_993,
            "message_id": 1,
            "received_at": at[2],
        },
        {"account_id": 7654321, "callback_id": 1, "message_id": None, "received_at": at[7]},
    ]
    outbox = [
        {
            "id": 1,
            "message_id": 4,
            "due_at": at[6],
            "lease_until": at[7],
            "lease_owner": "web-1:4242:7f",
            "created_at": at[6],
        },
    ]
    return {
        "threads": threads,
        "messages": messages,
        "message_events": events,
        "seen_callbacks": seen,
        "outbox": outbox,
    }


def read_rows(engine: Engine, table: str, columns: list[str]) -> list[dict[str, Any]]:
    reflected = MetaData()
    reflected.reflect(engine, only=[table])
    t = reflected.tables[table]
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(*t.primary_key.columns)).mappings().all()
    return [
        {c: utc(row[c]) if isinstance(row[c], datetime) else row[c] for c in columns}
        for row in rows
    ]


def fill(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.begin() as conn:
        for table, values in rows.items():
            conn.execute(insert(reflected.tables[table]), values)


def test_first_schema_filled_and_upgraded_keeps_every_row(engine):
    assert upgrade(engine, "0001") == (None, "0001")
    rows = first_schema_rows()
    fill(engine, rows)

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []
    for table, expected in rows.items():
        assert read_rows(engine, table, list(expected[0])) == expected, table
    # Columns added later start empty on the old rows.
    with engine.connect() as conn:
        assert conn.execute(text("SELECT request_id FROM messages")).scalars().all() == [None] * 4


def test_repeated_provider_ids_are_cleared_before_they_become_unique(engine):
    upgrade(engine, "0006")
    rows = first_schema_rows()
    base = rows["messages"][1]  # a sent reply, voximplant id 58113
    rows["messages"] += [
        # The same provider message imported twice by two history syncs at once.
        {**base, "id": 5, "kind": "imported", "reply_to_id": None, "rule_id": None},
        # Another provider's id may equal ours; webhook answers were stored as if ids.
        {**base, "id": 6, "provider": "alphasms"},
        {
            **base,
            "id": 7,
            "kind": "webhook",
            "provider": "webhook",
            "provider_message_id": "HTTP 200",
        },
        {
            **base,
            "id": 8,
            "kind": "webhook",
            "provider": "webhook",
            "provider_message_id": "HTTP 200",
        },
    ]
    fill(engine, rows)

    upgrade(engine)

    assert schema_differences(engine) == []
    kept = read_rows(engine, "messages", ["id", "provider", "provider_message_id"])
    assert [(r["id"], r["provider"], r["provider_message_id"]) for r in kept] == [
        (1, None, None),
        (2, "voximplant", "58113"),
        (3, None, None),
        (4, None, None),
        (5, "voximplant", None),
        (6, "alphasms", "58113"),
        (7, "webhook", None),
        (8, "webhook", None),
    ]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE messages SET provider_message_id = '58113' WHERE id = 5"))


def test_a_database_made_before_migrations_is_adopted(engine):
    # Such a database has the first schema's tables and no alembic_version table.
    upgrade(engine, "0001")
    rows = first_schema_rows()
    fill(engine, rows)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    assert current_revision(engine) is None

    assert upgrade(engine) == ("0001", head_revision())
    assert read_rows(engine, "threads", list(rows["threads"][0])) == rows["threads"]
    assert schema_differences(engine) == []


def test_many_processes_starting_at_once_migrate_once(database_url, tmp_path):
    engines = [make_engine(database_url, data_dir=tmp_path) for _ in range(4)]
    results: list[tuple[str | None, str | None]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            results.append(upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=start, args=(e,)) for e in engines]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    for e in engines:
        e.dispose()
    assert errors == []
    head = head_revision()
    assert sorted(results, key=lambda r: r[0] or "") == [(None, head)] + [(head, head)] * 3


def test_a_database_from_a_newer_release_is_refused_with_a_reason(engine):
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="schema revision 9999, which this version"):
        upgrade(engine)


def test_db_upgrade_command_reports_what_it_did(tmp_path, rules_dir, database_url, engine):
    env = service_env(tmp_path / "data", rules_dir, DATABASE_URL=database_url)
    head = head_revision()
    first = responder(env, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert f"database schema upgraded from nothing to {head}" in first.stderr
    assert first.stdout == f"database is up to date (schema revision {head})\n"
    again = responder(env, "db", "upgrade")
    assert again.stdout == first.stdout
    assert "upgraded" not in again.stderr
    current = responder(env, "db", "current")
    assert current.stdout == f"database: {head}; this version: {head} (up to date)\n"

    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    refused = responder(env, "db", "upgrade")
    assert refused.returncode == 1
    assert "Error: the database is at schema revision 9999" in refused.stderr
    assert "Traceback" not in refused.stderr
