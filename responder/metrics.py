"""Prometheus metrics: counters where things happen, queue gauges from the database.

The /metrics endpoint that serves them is responder/metrics_endpoint.py.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Select, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from responder.store.db import reading
from responder.store.inbox import summary
from responder.store.rows import utc
from responder.store.tables import message_events, messages, metadata, outbox

if TYPE_CHECKING:
    from responder.services import Services

log = logging.getLogger(__name__)

# Provider calls take tens of milliseconds to the send timeout (10 s by default).
PROVIDER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A callback's reply normally leaves within a second; retries stretch that to hours.
REPLY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0)
# The compliance tables, read once that part of the schema exists: who is opted out now, and
# the ledger of every opt-out and opt-in.
OPT_OUTS_TABLE = "opt_outs"
LEDGER_TABLE = "consent_ledger"
# Outbox rows that are not SMS to a person (rule actions posting JSON to a URL).
NOT_REPLIES = frozenset({"webhook"})
# Outbound rows the sender never sends: history imports and broadcasts (sent by the command).
NOT_FROM_THE_SENDER = NOT_REPLIES | {"imported", "broadcast"}
# Read from the database at scrape time, so a sender in another process (a PaaS `worker`) is
# counted too: replies whose status changed within RECENT, by status, and the callback-to-sent
# time of the newest LATENCY_SAMPLE of them. The window and the sample bound a scrape's cost.
RECENT = timedelta(hours=1)
LATENCY_SAMPLE = 1000
LATENCY_QUANTILES = (0.5, 0.9, 0.99)
REPLY_STATUSES = ("queued", "sending", "errored", "held", "sent", "delivered", "failed")
# A reply in one of these was sent once (failed here: the handset never got it).
AFTER_SENDING = ("sent", "delivered", "failed")


class Metrics:
    """The counters and histograms of one process; in multiprocess mode, files under a folder."""

    def __init__(self, multiproc_dir: Path | None = None) -> None:
        if multiproc_dir is not None and values.ValueClass is values.MutexValue:
            # prometheus_client picks its storage when first imported, from the environment.
            log.warning(
                "PROMETHEUS_MULTIPROC_DIR was set after start-up; metrics of this process only"
            )
            multiproc_dir = None
        if multiproc_dir is not None:
            # Each process writes its own files there as soon as a metric exists.
            multiproc_dir.mkdir(parents=True, exist_ok=True)
        self.multiproc_dir = multiproc_dir
        # Multiprocess values live in files, so the metrics belong to no registry of their own.
        registry = None if multiproc_dir is not None else CollectorRegistry()
        self.registry = registry
        self.callbacks = Counter(
            "responder_callbacks",
            "Callback elements received, by outcome (malformed: the whole body was unusable).",
            ["outcome"],
            registry=registry,
        )
        self._callback_outcomes: dict[str, Counter] = {}
        self.quarantined = Counter(
            "responder_quarantined_callbacks",
            "Callback requests kept in quarantine, by the check that failed.",
            ["check"],
            registry=registry,
        )
        self.rule_hits = Counter(
            "responder_rule_hits",
            "Inbound messages answered by each rule.",
            ["rule_id"],
            registry=registry,
        )
        self.replies = Counter(
            "responder_replies",
            "Outbound messages by status: queued, sent, errored (will retry), failed.",
            ["status"],
            registry=registry,
        )
        self.provider_latency = Histogram(
            "responder_provider_send_seconds",
            "Time the provider took to accept or refuse one message.",
            ["provider", "result"],
            buckets=PROVIDER_BUCKETS,
            registry=registry,
        )
        self.reply_latency = Histogram(
            "responder_reply_latency_seconds",
            "From the callback being stored to the provider accepting its reply.",
            buckets=REPLY_BUCKETS,
            registry=registry,
        )
        self.alerts = Counter(
            "responder_sender_alerts",
            "Conditions an operator must act on, e.g. insufficient_funds (the outbox is held).",
            ["reason"],
            registry=registry,
        )

    def count_callback(self, outcome: str) -> None:
        """Count one callback element by its outcome (accepted, duplicate, ..., malformed)."""
        child = self._callback_outcomes.get(outcome)
        if child is None:  # labels() takes a lock and checks its values on every call
            child = self._callback_outcomes.setdefault(outcome, self.callbacks.labels(outcome))
        child.inc()

    def alert(self, reason: str) -> None:
        """Count a condition that needs an operator (the log says what to do)."""
        self.alerts.labels(reason).inc()

    def observe_send(self, provider: str, seconds: float, *, accepted: bool) -> None:
        """One provider call: how long it took and whether the provider took the message."""
        result = "accepted" if accepted else "refused"
        self.provider_latency.labels(provider, result).observe(max(0.0, seconds))

    def observe_reply(
        self,
        kind: str,
        status: str,
        created_at: datetime | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        """An outbound message reached *status*; a sent one adds its callback-to-sent time."""
        if kind in NOT_REPLIES:
            return
        self.replies.labels(status).inc()
        if status == "sent" and created_at is not None and sent_at is not None:
            self.reply_latency.observe(max(0.0, (sent_at - created_at).total_seconds()))


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time, so every process's work is counted."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        services = self.services
        up = GaugeMetricFamily(
            "responder_database_up", "1 when the last scrape could read the database."
        )
        try:
            gauges = list(self._read(services))
        except SQLAlchemyError as exc:
            log.warning("metrics: cannot read the database: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _read(self, services: Services) -> Iterator[Metric]:
        now = services.clock()
        with reading(services.engine) as conn:
            depth, oldest = conn.execute(
                select(func.count(), func.min(outbox.c.created_at)).select_from(outbox)
            ).one()
            consent = list(_consent_gauges(conn))
            recent = list(_recent_reply_gauges(conn, now))
        queued = summary(services.inbox)
        yield _pause_gauge(services, now)
        gauge = GaugeMetricFamily("responder_outbox_depth", "Messages waiting in the outbox.")
        gauge.add_metric([], depth)
        yield gauge
        age = GaugeMetricFamily(
            "responder_outbox_oldest_age_seconds",
            "Age of the oldest message waiting in the outbox (0 when it is empty).",
        )
        oldest_at = utc(oldest)
        age.add_metric([], 0 if oldest_at is None else (now - oldest_at).total_seconds())
        yield age
        waiting = GaugeMetricFamily(
            "responder_inbox_depth",
            "Callbacks answered in queue mode and not processed yet, parked ones included.",
        )
        waiting.add_metric([], queued.waiting)
        yield waiting
        parked = GaugeMetricFamily(
            "responder_inbox_parked",
            "Queued callbacks parked after failing; `responder callbacks inbox --retry`.",
        )
        parked.add_metric([], queued.parked)
        yield parked
        yield from recent
        yield from consent


def recent_replies_query(since: datetime) -> Select[str, int]:
    """Replies whose status changed since *since*, counted by status (ix_messages_status)."""
    return (
        select(messages.c.status, func.count())
        .where(messages.c.status.in_(REPLY_STATUSES))
        .where(messages.c.updated_at >= since)
        .where(messages.c.direction == "out")
        .where(messages.c.kind.not_in(NOT_FROM_THE_SENDER))
        .group_by(messages.c.status)
    )


def recent_sends_query(since: datetime) -> Select[datetime, datetime]:
    """(stored, sent) times of the newest replies sent since *since*, at most LATENCY_SAMPLE."""
    return (
        select(messages.c.created_at, message_events.c.at)
        .join_from(messages, message_events, message_events.c.message_id == messages.c.id)
        .where(messages.c.status.in_(AFTER_SENDING))
        .where(messages.c.updated_at >= since)
        .where(messages.c.direction == "out")
        .where(messages.c.kind.not_in(NOT_FROM_THE_SENDER))
        .where(message_events.c.status == "sent")
        .order_by(messages.c.updated_at.desc())
        .limit(LATENCY_SAMPLE)
    )


def _recent_reply_gauges(conn: Connection, now: datetime) -> Iterator[Metric]:
    since = now - RECENT
    counts = dict.fromkeys(REPLY_STATUSES, 0)
    counts.update({status: n for status, n in conn.execute(recent_replies_query(since))})
    replies = GaugeMetricFamily(
        "responder_replies_last_hour",
        "Replies whose status changed in the last hour, by status now (from the database: "
        "every sender process counts).",
        labels=["status"],
    )
    for status, n in counts.items():
        replies.add_metric([status], n)
    yield replies
    seconds = sorted(
        max(0.0, (sent - stored).total_seconds())
        for stored, sent in (
            (utc(row.created_at), utc(row.at)) for row in conn.execute(recent_sends_query(since))
        )
        if stored is not None and sent is not None
    )
    name = "responder_reply_latency_last_hour_seconds"
    latency = SummaryMetricFamily(
        name,
        f"From the callback being stored to the provider accepting the reply, over the newest "
        f"{LATENCY_SAMPLE} replies sent in the last hour (from the database).",
    )
    for q in LATENCY_QUANTILES:
        value = seconds[min(len(seconds) - 1, int(q * len(seconds)))] if seconds else math.nan
        latency.add_sample(name, {"quantile": str(q)}, value)
    latency.add_sample(name + "_count", {}, len(seconds))
    latency.add_sample(name + "_sum", {}, sum(seconds))
    yield latency


def _consent_gauges(conn: Connection) -> Iterator[Metric]:
    """Opt-outs now and consent events so far, once the compliance tables exist."""
    wanted = [n for n in (OPT_OUTS_TABLE, LEDGER_TABLE) if n in metadata.tables]
    existing = set(inspect(conn).get_table_names()) & set(wanted) if wanted else set()
    if OPT_OUTS_TABLE in existing:
        count = select(func.count()).select_from(metadata.tables[OPT_OUTS_TABLE])
        gauge = GaugeMetricFamily("responder_opt_outs", "Numbers opted out now.")
        gauge.add_metric([], conn.execute(count).scalar_one())
        yield gauge
    if LEDGER_TABLE in existing:
        ledger = metadata.tables[LEDGER_TABLE]
        rows = conn.execute(select(ledger.c.action, func.count()).group_by(ledger.c.action)).all()
        events = GaugeMetricFamily(
            "responder_consent_events",
            "Opt-outs and opt-ins recorded in the consent ledger since the start.",
            labels=["action"],
        )
        counts = {"opt_out": 0, "opt_in": 0, **{action: n for action, n in rows}}
        for action, n in sorted(counts.items()):
            events.add_metric([action], n)
        yield events


def _pause_gauge(services: Services, now: datetime) -> Metric:
    from responder.store.pacing import find_pause

    pause = find_pause(services.engine, now)
    gauge = GaugeMetricFamily(
        "responder_sending_paused_seconds",
        "Seconds until every sender resumes (rate limit or insufficient funds); 0 when sending.",
        labels=["reason"],
    )
    if pause is None:
        gauge.add_metric([""], 0)
    else:
        reason = "insufficient_funds" if "funds" in pause.reason else "rate_limited"
        gauge.add_metric([reason], (pause.until - now).total_seconds())
    return gauge
