"""SQLAlchemy Core tables: threads, messages and their history, seen callbacks, the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A big integer that SQLite still treats as its rowid alias.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _at(name: str, **kw: Any) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), **kw)


threads = Table(
    "threads",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("our_number", String(32), nullable=False),
    Column("their_number", String(32), nullable=False),
    _at("created_at", nullable=False),
    _at("last_activity_at", nullable=False),
    Column("last_text", Text),
    Column("unread", Integer, nullable=False, server_default="0"),
    # Conversation state set by rules; expired states are ignored when read.
    Column("state", String(100)),
    _at("state_expires_at"),
    Column("saved", Text, nullable=False, server_default="{}"),  # JSON object of saved answers
    Column("tags", Text, nullable=False, server_default="[]"),  # JSON list
    _at("paused_until"),  # automation paused (handoff to a human) until this time
    UniqueConstraint("our_number", "their_number"),
)
Index("ix_threads_last_activity", threads.c.last_activity_at.desc(), threads.c.id.desc())
Index("ix_threads_their_number", threads.c.their_number)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("thread_id", Id, ForeignKey("threads.id"), nullable=False),
    Column("direction", String(3), nullable=False),  # in | out
    Column("kind", String(20), nullable=False),  # inbound | reply | manual | forward | compliance
    Column("text", Text),
    Column("status", String(20), nullable=False),
    Column("rule_id", String(200)),
    Column("ruleset_version", String(64)),
    Column("reply_to_id", Id),  # the inbound message an automatic reply answers
    Column("callback_id", BigInteger),
    Column("provider", String(20)),
    Column("provider_message_id", String(64)),
    Column("encoding", String(8)),
    Column("segments", Integer),
    Column("fragments", Integer),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error_code", String(32)),
    Column("error_text", Text),
    Column("trace", Text),  # JSON decision trace of an inbound message
    # The callback request that caused it (X-Request-Id), so the sender logs under the same id.
    Column("request_id", String(64)),
    _at("created_at", nullable=False),
    _at("updated_at", nullable=False),
)
Index("ix_messages_thread", messages.c.thread_id, messages.c.id)
# One row per provider message: concurrent history syncs cannot import one twice. Partial, as
# replies not yet sent have no id; both SQLite and PostgreSQL take the WHERE.
Index(
    "ux_messages_provider_id",
    messages.c.provider,
    messages.c.provider_message_id,
    unique=True,
    sqlite_where=messages.c.provider_message_id.is_not(None),
    postgresql_where=messages.c.provider_message_id.is_not(None),
)
Index("ix_messages_created", messages.c.created_at)  # retention: purge by age
Index("ix_messages_status", messages.c.status, messages.c.updated_at)  # delivery-status polling
Index("ix_messages_rule", messages.c.rule_id, messages.c.created_at)  # dashboard: hits per rule

message_events = Table(
    "message_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("detail", Text),
    _at("at", nullable=False),
)
Index("ix_message_events_message", message_events.c.message_id, message_events.c.id)

seen_callbacks = Table(
    "seen_callbacks",
    metadata,
    Column("account_id", BigInteger, nullable=False),
    Column("callback_id", BigInteger, nullable=False),
    Column("message_id", Id),
    _at("received_at", nullable=False),
    PrimaryKeyConstraint("account_id", "callback_id"),
)

# Callbacks answered in queue mode (RESPONDER_INTAKE=queue) and not processed yet. With SQLite
# the table lives in a file of its own (see store/inbox.py), so that answering a callback never
# waits for the write lock that processing holds; this one then stays empty.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, nullable=False),
    Column("callback_id", BigInteger, nullable=False),
    _at("received_at", nullable=False),
    Column("request_id", String(64)),
    Column("payload", Text, nullable=False),  # JSON: the callback's verified SMS items
    _at("lease_until"),  # being processed until then; afterwards another process may take it
    Column("attempts", Integer, nullable=False, server_default="0"),
    _at("not_before"),  # after a failed attempt: not tried again before this time
    Column("last_error", Text),
    UniqueConstraint("account_id", "callback_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False, unique=True),
    _at("due_at", nullable=False),
    _at("lease_until"),
    Column("lease_owner", String(64)),
    _at("created_at", nullable=False),
    _at("claimed_at"),  # when the current (or last) holder of the lease claimed it
    # Set when an attempt may have reached the provider unseen (timeout, crash): the provider's
    # history since then is checked before the message is sent again.
    _at("uncertain_since"),
)
Index("ix_outbox_due", outbox.c.due_at)

# Shared pacing of every sender process: '*' pauses all sending (rate limit, no funds),
# an our_number row holds that number's next free send slot, 'status-poll' the next poll.
send_gates = Table(
    "send_gates",
    metadata,
    Column("name", String(32), primary_key=True),
    _at("open_at", nullable=False),
    Column("reason", Text),
    Column("strikes", Integer, nullable=False, server_default="0"),  # rate limits in a row
)

# Callback requests that failed verification or parsing, kept (capped) so none is lost to a
# misconfiguration; never with the Authorization or Cookie headers or the URL's token.
quarantined_callbacks = Table(
    "quarantined_callbacks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _at("received_at", nullable=False),
    Column("request_id", String(64)),
    Column("remote_addr", String(64)),
    Column("route", String(20), nullable=False),  # plain | token
    Column("failed_check", String(20), nullable=False),  # token | hash | account | schema | body
    Column("reason", Text, nullable=False),
    Column("checks", Text, nullable=False),  # JSON list: what was checked and each result
    Column("status_code", Integer, nullable=False),  # what the request was answered
    Column("headers", Text, nullable=False),  # JSON object of the non-sensitive headers
    Column("body", LargeBinary, nullable=False),  # at most 64 KiB
    Column("body_size", Integer, nullable=False),  # the size received; larger means cut
    _at("replayed_at"),
    Column("replay_result", Text),  # JSON summary of the last replay
)

# The consent ledger: every opt-out and opt-in, append-only, with the exact text received.
consent_ledger = Table(
    "consent_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("their_number", String(32), nullable=False),
    Column("our_number", String(32), nullable=False),
    Column("action", String(20), nullable=False),  # opt_out | opt_in
    Column("scope", String(10), nullable=False),  # number | account
    Column("text", Text, nullable=False),  # exactly what they sent
    Column("ruleset_version", String(64)),
    Column("message_id", Id),  # the inbound message that carried it
    _at("at", nullable=False),
)
Index("ix_consent_ledger_their", consent_ledger.c.their_number, consent_ledger.c.id)

# Who is opted out now: one row per (our number, their number); our_number '*' is account-wide.
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("our_number", String(32), nullable=False),
    Column("their_number", String(32), nullable=False),
    Column("ledger_id", Id, nullable=False),
    _at("opted_out_at", nullable=False),
    PrimaryKeyConstraint("our_number", "their_number"),
)
Index("ix_opt_outs_their", opt_outs.c.their_number)

# The loop breaker of each thread: open until a time, and why it opened last.
breakers = Table(
    "breakers",
    metadata,
    Column("thread_id", Id, ForeignKey("threads.id"), primary_key=True, autoincrement=False),
    _at("opened_at", nullable=False),
    _at("open_until", nullable=False),
    Column("reason", Text, nullable=False),
    Column("trips", Integer, nullable=False, server_default="1"),
)

# `responder broadcast`: one row per broadcast (its key is the sender, text and recipient list)
# and one per recipient, so an interrupted broadcast resumes without sending anyone twice.
broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("sender", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("recipients", Integer, nullable=False),
    Column("invalid", Integer, nullable=False, server_default="0"),
    Column("duplicates", Integer, nullable=False, server_default="0"),
    _at("created_at", nullable=False),
    _at("finished_at"),
)

broadcast_recipients = Table(
    "broadcast_recipients",
    metadata,
    Column("broadcast_id", Id, ForeignKey("broadcasts.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("their_number", String(32), nullable=False),
    # pending | sending | sent | failed | opted_out | unknown (may have been sent; never resent)
    Column("status", String(20), nullable=False),
    Column("message_id", Id),  # the message recorded in the recipient's thread
    Column("provider_message_id", String(64)),
    Column("error_code", String(32)),
    Column("error_text", Text),
    _at("sending_at"),
    _at("updated_at", nullable=False),
    PrimaryKeyConstraint("broadcast_id", "their_number"),
)
Index(
    "ix_broadcast_recipients_status",
    broadcast_recipients.c.broadcast_id,
    broadcast_recipients.c.status,
    broadcast_recipients.c.position,
)

# `responder history sync`: one row per run and history method, with how far it got, so an
# interrupted sync resumes at its last page; to_date fixes the window so offsets stay valid.
history_syncs = Table(
    "history_syncs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("method", String(32), nullable=False),  # GetSmsHistory | A2PGetSmsHistory
    _at("from_date"),
    _at("to_date", nullable=False),
    Column("next_offset", Integer, nullable=False, server_default="0"),
    Column("total", Integer),
    Column("imported", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    _at("started_at", nullable=False),
    _at("finished_at"),
)
