"""Retention and privacy from the command line: purge by age, export, one message's history."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import click
import pytest

from responder import create_app
from responder.cli.threads import parse_age
from responder.services import Services
from tests.processes import config_env, responder
from tests.support import post_callback, serve, sms_callback, wait_until

OLD_PERSON = "447443330001"
NEW_PERSON = "447443330002"
WAITING_PERSON = "447443330003"


@pytest.fixture
def env(config) -> dict[str, str]:
    return config_env(config)


def statuses(url: str, services: Services, number: str) -> list[str]:
    from responder.store.threads import find_thread, thread_page

    with services.engine.connect() as conn:
        thread = find_thread(conn, "447443332211", number)
        return [m["status"] for m in thread_page(conn, thread.id)] if thread else []


@pytest.fixture
def history(config) -> dict[str, datetime]:
    """A conversation from today, one 120 days old, and a reply from then still waiting."""
    now = datetime.now(UTC)
    old = now - timedelta(days=120)
    app = create_app(config)
    services: Services = app.extensions["responder"]
    with serve(app) as url:

        def post(callback_id: int, number: str, text: str) -> None:
            assert post_callback(url, sms_callback(callback_id, text, source=number)).ok

        post(1, NEW_PERSON, "order 77")
        wait_until(lambda: "sent" in statuses(url, services, NEW_PERSON))
        services.clock = lambda: old
        post(2, OLD_PERSON, "hours")
        post(3, OLD_PERSON, "order 12")
        wait_until(lambda: statuses(url, services, OLD_PERSON).count("sent") == 2)
        services.sender.stop()
        post(4, WAITING_PERSON, "hours")  # nobody sends it: it stays in the outbox
    services.engine.dispose()
    return {"now": now, "old": old}


def test_purge_deletes_what_is_older_and_keeps_waiting_replies(env, history):
    dry = responder(env, "threads", "purge", "--older-than", "90d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(
        "would delete 5 messages (12 status events), 1 threads, 3 callback ids and "
        "0 quarantined callbacks older than "
    )
    done = responder(env, "threads", "purge", "--older-than", "90d")
    assert done.stdout.startswith(
        "deleted 5 messages (12 status events), 1 threads, 3 callback ids and "
    )
    gone = responder(env, "threads", "show", OLD_PERSON)
    assert gone.stderr.endswith(f"Error: no thread with {OLD_PERSON}\n")
    waiting = responder(env, "threads", "show", WAITING_PERSON).stdout
    assert "[queued]" in waiting  # the reply not sent yet is kept, its question is not
    assert "[sent]" in responder(env, "threads", "show", NEW_PERSON).stdout
    unclear = responder(env, "threads", "purge", "--older-than", "90")
    assert unclear.returncode == 2
    assert "expected a duration such as 90d, 12h or 30m (got '90')" in unclear.stderr
    again = responder(env, "threads", "purge", "--older-than", "90d")
    assert again.stdout.startswith("deleted 0 messages (0 status events), 0 threads, 0 callback")


@pytest.mark.parametrize("age", ["90", "d", "0d", "ninety days", "-5d", "5y"])
def test_an_unclear_age_is_refused(age):
    with pytest.raises(click.BadParameter, match="expected a duration such as 90d, 12h or 30m"):
        parse_age(age)


def test_ages_in_each_unit():
    assert [parse_age(a) for a in ("45s", "30m", "12h", "90d", "2w")] == [
        timedelta(seconds=45),
        timedelta(minutes=30),
        timedelta(hours=12),
        timedelta(days=90),
        timedelta(weeks=2),
    ]


def test_export_writes_every_message_as_json_lines_and_csv(env, history, tmp_path):
    result = responder(env, "threads", "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.stderr.endswith(f"exported {len(rows)} messages\n")
    assert [(r["their_number"], r["direction"], r["status"]) for r in rows] == [
        (NEW_PERSON, "in", "handled"),
        (NEW_PERSON, "out", "sent"),
        (OLD_PERSON, "in", "handled"),
        (OLD_PERSON, "out", "sent"),
        (OLD_PERSON, "in", "handled"),
        (OLD_PERSON, "out", "sent"),
        (WAITING_PERSON, "in", "handled"),
        (WAITING_PERSON, "out", "queued"),
    ]
    assert rows[1]["text"] == f"Order 77 is on its way, {NEW_PERSON}."
    assert datetime.fromisoformat(rows[2]["created_at"]) == history["old"]

    target = tmp_path / "export.csv"
    since = history["now"].strftime("%Y-%m-%d")
    result = responder(
        env, "threads", "export", "--format", "csv", "-o", str(target), "--since", since
    )
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["their_number"], r["text"]) for r in table] == [
        (NEW_PERSON, "order 77"),
        (NEW_PERSON, f"Order 77 is on its way, {NEW_PERSON}."),
    ]
    assert table[0]["provider"] == ""  # NULLs are empty cells

    only = responder(env, "threads", "export", "--number", "+44 7443 330003")
    assert [json.loads(line)["their_number"] for line in only.stdout.splitlines()] == [
        WAITING_PERSON,
        WAITING_PERSON,
    ]


def test_trace_shows_every_state_change_of_one_message(env, history):
    rows = [json.loads(line) for line in responder(env, "threads", "export").stdout.splitlines()]
    reply = next(r for r in rows if r["their_number"] == NEW_PERSON and r["direction"] == "out")
    result = responder(env, "threads", "trace", str(reply["id"]))
    assert result.returncode == 0, result.stderr
    states = [line.split()[1] for line in result.stdout.splitlines()]
    assert states == ["queued", "sending", "sent"]
    inbound = responder(env, "threads", "trace", str(rows[0]["id"])).stdout.splitlines()
    assert [line.split()[1] for line in inbound] == ["received", "handled"]
    missing = responder(env, "threads", "trace", "999999")
    assert missing.returncode == 1
    assert missing.stderr.endswith("Error: no message with id 999999\n")
