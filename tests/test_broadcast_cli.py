"""`responder broadcast` against the fake Management API: chunks, filters, results, resuming."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select

from responder import create_app
from responder.compliance.optout import Keyword, change_consent
from responder.config import Config
from responder.store.db import make_engine
from responder.store.tables import broadcasts, messages, threads
from tests.fakes.keys import make_account, other_key_pair, write_credentials
from tests.fakes.voximplant_api import FakeVoximplant
from tests.processes import BIN, ROOT, config_env
from tests.support import (
    invoke_cli,
    voximplant_config,
    wait_until,
    without_quiet_hours,
)

SENDER = "ShopNews"
TEXT = "Spring sale: 20% off everything this weekend."


def number(i: int) -> str:
    return f"4479111{i:05d}"


@pytest.fixture
def vox_config(config: Config, fake_api: FakeVoximplant) -> Config:
    return without_quiet_hours(voximplant_config(config, fake_api.url))


def recipients_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "list.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def broadcast(
    config: Config, path: Path, *extra: str, text: str = TEXT, now: datetime | None = None
) -> Result:
    args = ["broadcast", "--from", SENDER, "--to-file", str(path), *extra, text]
    return invoke_cli(config, *args, now=now)


def sent_destinations(fake_api: FakeVoximplant) -> list[str]:
    """Each destination the fake accepted a message for, once per message."""
    return [str(item["destination_number"]) for item in fake_api.a2p_history]


def requested_destinations(fake_api: FakeVoximplant) -> list[str]:
    """Each destination of every A2PSendSms request, answered or not."""
    found: list[str] = []
    for request in a2p_requests(fake_api):
        found.extend(request.params["dst_numbers"].split(";"))
    return found


def a2p_requests(fake_api: FakeVoximplant) -> list:
    return [r for r in fake_api.requests if r.method == "A2PSendSms"]


def thread_messages(config: Config) -> dict[str, list]:
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(threads.c.their_number, messages)
                .join(threads, threads.c.id == messages.c.thread_id)
                .where(threads.c.our_number == SENDER)
                .order_by(messages.c.id)
            ).all()
    finally:
        engine.dispose()
    found: dict[str, list] = {}
    for row in rows:
        found.setdefault(row.their_number, []).append(row)
    return found


def opt_out_of(config: Config, their_number: str) -> None:
    app = create_app(config, start_sender=False)
    services = app.extensions["responder"]
    with services.engine.begin() as conn:
        change_consent(
            conn, config.compliance, Keyword.OPT_OUT, SENDER, their_number, "STOP", services.clock()
        )
    services.engine.dispose()


def test_dry_run_prints_counts_segments_and_billing_and_sends_nothing(
    vox_config, fake_api, tmp_path
):
    path = recipients_file(
        tmp_path,
        ["# customers", number(1), "+44 7911 100002", number(1), "12345", "", number(3), "nope"],
    )
    opt_out_of(vox_config, number(3))

    result = broadcast(vox_config, path, "--dry-run", text="Распродажа " * 10)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "recipients: 3",
        "invalid: 2",
        "duplicates: 1",
        "opted out: 1",
        "to send: 2",
        "segments per message: 2 (UCS-2)",
        "messages billed: 4",
    ]
    assert fake_api.requests == []
    engine = make_engine(vox_config.database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(broadcasts)).scalar_one() == 0
    engine.dispose()


def test_broadcast_sends_in_chunks_of_100_and_records_each_result(vox_config, fake_api, tmp_path):
    numbers = [number(i) for i in range(250)]
    path = recipients_file(tmp_path, [*numbers, "000", number(5)])
    opt_out_of(vox_config, number(7))
    fake_api.a2p_failing.add(number(9))

    result = broadcast(vox_config, path)

    assert result.exit_code == 0, result.output
    sizes = [len(r.params["dst_numbers"].split(";")) for r in a2p_requests(fake_api)]
    assert sizes == [100, 100, 49]
    assert all(r.params["src_number"] == SENDER for r in a2p_requests(fake_api))
    assert Counter(requested_destinations(fake_api)) == Counter(
        n for n in numbers if n != number(7)
    )
    assert "skipped: 1 invalid, 1 duplicate(s), 1 opted out" in result.output
    assert "sent 248, failed 1, opted out 1, unknown 0" in result.output
    by_number = thread_messages(vox_config)
    assert number(7) not in by_number
    failed = by_number[number(9)]
    assert [(m.status, m.error_code, m.kind) for m in failed] == [("failed", "385", "broadcast")]
    ok = by_number[number(0)]
    assert [(m.status, m.text, m.provider) for m in ok] == [("sent", TEXT, "voximplant-a2p")]
    assert ok[0].provider_message_id is not None

    again = broadcast(vox_config, path)
    assert again.exit_code == 0, again.output
    assert "nothing sent" in again.output
    assert len(a2p_requests(fake_api)) == 3


def test_dropped_answer_is_settled_from_the_history_without_a_second_copy(
    vox_config, fake_api, tmp_path
):
    numbers = [number(i) for i in range(30)]
    path = recipients_file(tmp_path, numbers)
    fake_api.drop_next(processed=True, method="A2PSendSms")

    first = broadcast(vox_config, path, "--chunk-size", "10")

    assert first.exit_code == 1
    assert "interrupted" in first.output
    assert "run the same command again" in first.output.lower()
    assert "Traceback" not in first.output
    assert len(a2p_requests(fake_api)) == 1

    second = broadcast(vox_config, path, "--chunk-size", "10")

    assert second.exit_code == 0, second.output
    assert "interrupted chunk: 10 found sent in the history, 0 unknown" in second.output
    assert "sent 30, failed 0, opted out 0, unknown 0" in second.output
    assert Counter(sent_destinations(fake_api)) == Counter(numbers)
    assert all(
        len(ms) == 1 and ms[0].status == "sent" for ms in thread_messages(vox_config).values()
    )


def test_a_chunk_that_may_have_been_sent_is_never_resent(vox_config, fake_api, tmp_path):
    numbers = [number(i) for i in range(15)]
    path = recipients_file(tmp_path, numbers)
    fake_api.drop_next(processed=False, method="A2PSendSms")

    assert broadcast(vox_config, path, "--chunk-size", "10").exit_code == 1
    second = broadcast(vox_config, path, "--chunk-size", "10")

    assert second.exit_code == 0, second.output
    assert "sent 5, failed 0, opted out 0, unknown 10" in second.output
    assert Counter(requested_destinations(fake_api)) == Counter(numbers)  # the lost chunk once
    assert Counter(sent_destinations(fake_api)) == Counter(numbers[10:])
    assert len(a2p_requests(fake_api)) == 2


def test_refused_chunk_waits_and_is_sent_once_after_the_fix(vox_config, fake_api, tmp_path):
    numbers = [number(i) for i in range(12)]
    path = recipients_file(tmp_path, numbers)
    fake_api.account["a2p_sms_enabled"] = False

    refused = broadcast(vox_config, path)

    assert refused.exit_code == 1
    assert "Voximplant refused the chunk: 509: A2PSendSms: A2P SMS is disabled" in refused.output
    fake_api.account["a2p_sms_enabled"] = True
    fixed = broadcast(vox_config, path)
    assert fixed.exit_code == 0, fixed.output
    assert "sent 12, failed 0" in fixed.output
    assert Counter(sent_destinations(fake_api)) == Counter(numbers)


def test_bad_credentials_stop_the_broadcast_with_a_clear_error(config, fake_api, tmp_path):
    path = recipients_file(tmp_path, [number(1)])
    # Outside quiet hours whatever the time of day: a held recipient would send nothing.
    wrong = without_quiet_hours(
        config.with_changes(
            voximplant=make_account(other_key_pair()), voximplant_api_url=fake_api.url
        )
    )

    result = broadcast(wrong, path)

    assert result.exit_code == 1
    assert "100: A2PSendSms: Authorization failed" in result.output
    assert "Traceback" not in result.output


def test_bad_input_is_refused_before_anything_is_sent(vox_config, fake_api, tmp_path):
    empty = recipients_file(tmp_path, ["12345", "abc"])
    assert "holds no valid number (2 invalid)" in broadcast(vox_config, empty).output
    long_text = broadcast(vox_config, empty, text="x" * 1601)
    assert "at most 1600 characters" in long_text.output
    assert long_text.exit_code == 1
    missing = invoke_cli(vox_config, "broadcast", "--from", SENDER, "--to-file", "/nope", "hi")
    assert missing.exit_code == 2
    assert fake_api.requests == []


def test_a_killed_broadcast_resumes_without_a_second_copy(vox_config, fake_api, tmp_path):
    numbers = [number(i) for i in range(25)]
    path = recipients_file(tmp_path, numbers)
    fake_api.answer_late_next(60.0, method="A2PSendSms")
    env = config_env(
        vox_config,
        VOXIMPLANT_CREDENTIALS=str(write_credentials(tmp_path / "credentials.json")),
        VOXIMPLANT_API_URL=fake_api.url,
        RESPONDER_CALLBACK_TOKEN="abcdefghij0123456789",
        RESPONDER_QUIET_HOURS="off",
    )
    args = [str(BIN / "responder"), "broadcast", "--from", SENDER, "--to-file", str(path)]
    process = subprocess.Popen(
        [*args, "--chunk-size", "10", TEXT],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: len(fake_api.a2p_history) == 10, timeout=60)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)

    too_soon = broadcast(vox_config, path, "--chunk-size", "10")
    assert too_soon.exit_code == 1
    assert "another run of this broadcast may be waiting for Voximplant's answer" in (
        too_soon.output
    )
    assert len(a2p_requests(fake_api)) == 1

    later = datetime.now(UTC) + timedelta(minutes=5)
    resumed = broadcast(vox_config, path, "--chunk-size", "10", now=later)

    assert resumed.exit_code == 0, resumed.output
    assert "interrupted chunk: 10 found sent in the history, 0 unknown" in resumed.output
    assert "sent 25, failed 0, opted out 0, unknown 0" in resumed.output
    assert Counter(sent_destinations(fake_api)) == Counter(numbers)
    assert sorted(thread_messages(vox_config)) == sorted(numbers)


def test_recipients_in_their_quiet_hours_wait_for_a_later_run(config, fake_api, tmp_path):
    quiet_config = config.with_changes(
        provider="voximplant", voximplant=make_account(), voximplant_api_url=fake_api.url
    )
    new_york = "12124567890"
    numbers = [number(i) for i in range(5)]
    path = recipients_file(tmp_path, [*numbers, new_york])
    evening = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # 23:00 in London, 18:00 in New York

    dry = broadcast(quiet_config, path, "--dry-run", now=evening)
    assert "in their quiet hours now (held for a later run): 5" in dry.output
    assert "to send: 1" in dry.output

    first = broadcast(quiet_config, path, now=evening)

    assert first.exit_code == 0, first.output
    assert requested_destinations(fake_api) == [new_york]
    assert (
        "5 recipient(s) are in their quiet hours; run the same command again after "
        "2026-11-30 08:00 UTC" in first.output
    )
    assert "sent 1, failed 0, opted out 0, unknown 0, held 5" in first.output

    morning = broadcast(quiet_config, path, now=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))

    assert morning.exit_code == 0, morning.output
    assert "sent 6, failed 0, opted out 0, unknown 0" in morning.output
    assert Counter(requested_destinations(fake_api)) == Counter([*numbers, new_york])
    assert "nothing sent" in broadcast(quiet_config, path).output


def test_a_numeric_sender_is_kept_as_digits(vox_config, fake_api, tmp_path):
    path = recipients_file(tmp_path, [number(1)])

    result = invoke_cli(
        vox_config, "broadcast", "--from", "+44 7443 332211", "--to-file", str(path), TEXT
    )

    assert result.exit_code == 0, result.output
    assert a2p_requests(fake_api)[0].params["src_number"] == "447443332211"
