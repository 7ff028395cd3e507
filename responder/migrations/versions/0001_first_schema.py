"""The first released schema: threads, messages and their events, seen callbacks, the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A big integer that SQLite still treats as its rowid alias (as in responder.store.tables).
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "threads",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("our_number", sa.String(32), nullable=False),
        sa.Column("their_number", sa.String(32), nullable=False),
        _at("created_at", nullable=False),
        _at("last_activity_at", nullable=False),
        sa.Column("last_text", sa.Text()),
        sa.Column("unread", sa.Integer(), server_default="0", nullable=False),
        sa.Column("state", sa.String(100)),
        _at("state_expires_at"),
        sa.Column("saved", sa.Text(), server_default="{}", nullable=False),
        sa.Column("tags", sa.Text(), server_default="[]", nullable=False),
        _at("paused_until"),
        sa.PrimaryKeyConstraint("id", name="pk_threads"),
        sa.UniqueConstraint(
            "our_number", "their_number", name="uq_threads_our_number_their_number"
        ),
    )
    op.create_index(
        "ix_threads_last_activity",
        "threads",
        [sa.text("last_activity_at DESC"), sa.text("id DESC")],
    )
    op.create_table(
        "messages",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("thread_id", Id, nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rule_id", sa.String(200)),
        sa.Column("ruleset_version", sa.String(64)),
        sa.Column("reply_to_id", Id),
        sa.Column("callback_id", sa.BigInteger()),
        sa.Column("provider", sa.String(20)),
        sa.Column("provider_message_id", sa.String(64)),
        sa.Column("encoding", sa.String(8)),
        sa.Column("segments", sa.Integer()),
        sa.Column("fragments", sa.Integer()),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_code", sa.String(32)),
        sa.Column("error_text", sa.Text()),
        sa.Column("trace", sa.Text()),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name="fk_messages_thread_id_threads"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_thread", "messages", ["thread_id", "id"])
    op.create_index("ix_messages_provider_id", "messages", ["provider", "provider_message_id"])
    op.create_table(
        "message_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("message_id", Id, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text()),
        _at("at", nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_message_events_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_message_events"),
    )
    op.create_index("ix_message_events_message", "message_events", ["message_id", "id"])
    op.create_table(
        "seen_callbacks",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("callback_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", Id),
        _at("received_at", nullable=False),
        sa.PrimaryKeyConstraint("account_id", "callback_id", name="pk_seen_callbacks"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("message_id", Id, nullable=False),
        _at("due_at", nullable=False),
        _at("lease_until"),
        sa.Column("lease_owner", sa.String(64)),
        _at("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_outbox_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_due", "outbox", ["due_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("seen_callbacks")
    op.drop_table("message_events")
    op.drop_table("messages")
    op.drop_table("threads")
