"""/metrics under real gunicorn with several workers: every scrape sums up every worker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from responder.metrics import recent_replies_query, recent_sends_query
from responder.migrations import upgrade
from responder.store.db import make_engine
from tests.processes import gunicorn, sender_worker, service_env
from tests.support import API_KEY, SALT, batch, sms_callback, wait_until

TOKEN = "scrape-token-0123456789"


def scrape(url: str, token: str | None = None) -> dict[tuple[str, tuple], float]:
    """Every sample of one scrape, keyed by (name, sorted labels)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = requests.get(f"{url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def env(tmp_path, rules_dir, database_url) -> dict[str, str]:
    return service_env(
        tmp_path / "data",
        rules_dir,
        DATABASE_URL=database_url,
        VOXIMPLANT_CALLBACK_SALT=SALT,
        VOXIMPLANT_API_KEY=API_KEY,
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="1",
    )


def test_every_scrape_counts_the_work_of_every_worker(env):
    with gunicorn(env) as service:
        callback = f"{service.url}/voximplant/callback"
        texts = ["hours", "order 1", "open?", "order 2", "what?"]
        for callback_id, text in enumerate(texts, start=1):
            # A thread each, so that no per-thread limit holds a reply back.
            element = sms_callback(callback_id, text, source=f"4474433322{20 + callback_id}")
            assert requests.post(callback, data=batch(element), timeout=10).status_code == 200
        again = sms_callback(1, "hours", source="447443332221")
        requests.post(callback, data=batch(again), timeout=10)  # a duplicate
        requests.post(callback, data=batch(sms_callback(9, salt="guess")), timeout=10)
        requests.post(callback, data=b"not json", timeout=10)
        stop = requests.post(callback, data=batch(sms_callback(10, "STOP")), timeout=10)
        assert stop.json()["accepted"] == 1

        def all_sent() -> dict | None:
            samples = scrape(service.url)
            return samples if value(samples, "responder_outbox_depth") == 0 else None

        wait_until(all_sent, timeout=30, interval=0.2)
        # Three workers answer in turn; each scrape must show the same totals.
        scrapes = [scrape(service.url) for _ in range(9)]
    for samples in scrapes:
        assert value(samples, "responder_callbacks_total", outcome="accepted") == 6
        assert value(samples, "responder_callbacks_total", outcome="duplicate") == 1
        assert value(samples, "responder_callbacks_total", outcome="rejected") == 1
        assert value(samples, "responder_callbacks_total", outcome="malformed") == 1
        assert value(samples, "responder_quarantined_callbacks_total", check="hash") == 1
        assert value(samples, "responder_quarantined_callbacks_total", check="body") == 1
        assert value(samples, "responder_rule_hits_total", rule_id="hours") == 2
        assert value(samples, "responder_rule_hits_total", rule_id="order-status") == 2
        sent = value(samples, "responder_replies_total", status="sent")
        assert (
            sent == value(samples, "responder_replies_total", status="queued") == 6
        )  # five answers, one opt-out confirmation
        assert value(samples, "responder_reply_latency_seconds_count") == sent
        assert (
            value(
                samples, "responder_provider_send_seconds_count", provider="log", result="accepted"
            )
            == sent
        )
        assert value(samples, "responder_outbox_depth") == 0
        assert value(samples, "responder_outbox_oldest_age_seconds") == 0
        assert value(samples, "responder_database_up") == 1
        assert value(samples, "responder_opt_outs") == 1
        assert value(samples, "responder_consent_events", action="opt_out") == 1
        assert ("responder_consent_events", (("action", "opt_in"),)) in samples


def test_metrics_token_is_required_when_set(env):
    with gunicorn({**env, "RESPONDER_METRICS_TOKEN": TOKEN, "WEB_CONCURRENCY": "1"}) as service:
        refused = requests.get(f"{service.url}/metrics", timeout=10)
        assert refused.status_code == 401
        assert refused.json() == {"error": "a bearer token is required for /metrics"}
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        wrong = requests.get(
            f"{service.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10
        )
        assert wrong.status_code == 401
        samples = scrape(service.url, TOKEN)
        assert value(samples, "responder_database_up") == 1


def test_outbox_depth_and_age_show_a_stuck_queue(env):
    # A sender that is off leaves replies waiting: depth and age say so.
    with gunicorn({**env, "RESPONDER_SENDER": "off", "WEB_CONCURRENCY": "1"}) as service:
        callback = f"{service.url}/voximplant/callback"
        requests.post(callback, data=batch(sms_callback(1, "hours")), timeout=10)
        other = sms_callback(2, "order 7", source="447443332230")
        requests.post(callback, data=batch(other), timeout=10)

        def waiting() -> dict | None:
            samples = scrape(service.url)
            return samples if value(samples, "responder_outbox_oldest_age_seconds") > 0 else None

        samples = wait_until(waiting)
    assert value(samples, "responder_outbox_depth") == 2
    assert value(samples, "responder_replies_total", status="queued") == 2
    assert value(samples, "responder_replies_total", status="sent") == 0


def test_a_sender_in_a_worker_process_shows_in_the_webs_metrics(env):
    # The PaaS set-up: web only serves (RESPONDER_SENDER=off), `responder sender run` sends.
    with (
        gunicorn({**env, "RESPONDER_SENDER": "off", "WEB_CONCURRENCY": "1"}) as service,
        sender_worker(env) as worker,
    ):
        callback = f"{service.url}/voximplant/callback"
        answer = requests.post(callback, data=batch(sms_callback(1, "hours")), timeout=10)
        assert answer.json()["accepted"] == 1

        def sent() -> dict | None:
            samples = scrape(service.url)
            return samples if value(samples, "responder_replies_last_hour", status="sent") else None

        samples = wait_until(sent, timeout=30, interval=0.2)
    assert worker.process.returncode == 0, worker.stderr
    assert value(samples, "responder_replies_last_hour", status="sent") == 1
    assert value(samples, "responder_replies_last_hour", status="queued") == 0
    assert value(samples, "responder_reply_latency_last_hour_seconds_count") == 1
    median = value(samples, "responder_reply_latency_last_hour_seconds", quantile="0.5")
    assert median == value(samples, "responder_reply_latency_last_hour_seconds_sum") >= 0


def test_the_scrape_reads_replies_through_an_index(database_url, tmp_path):
    engine = make_engine(database_url, data_dir=tmp_path)
    upgrade(engine)
    since = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            explain = "EXPLAIN QUERY PLAN" if conn.dialect.name == "sqlite" else "EXPLAIN"
            if conn.dialect.name == "postgresql":
                # An empty table is read whole at any cost; ask whether an index can serve.
                conn.execute(text("SET LOCAL enable_seqscan = off"))
            for query in (recent_replies_query(since), recent_sends_query(since)):
                sql = query.compile(engine, compile_kwargs={"literal_binds": True})
                plan = " ".join(str(row[-1]) for row in conn.execute(text(f"{explain} {sql}")))
                assert "ix_messages_status" in plan, plan
    finally:
        engine.dispose()
