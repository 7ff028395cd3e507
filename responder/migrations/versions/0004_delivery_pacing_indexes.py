"""Durable delivery: outbox claim times and uncertain attempts, send gates, query indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("uncertain_since", sa.DateTime(timezone=True)))
    op.create_table(
        "send_gates",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("open_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("strikes", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_send_gates"),
    )
    op.create_index("ix_threads_their_number", "threads", ["their_number"])
    op.create_index("ix_messages_created", "messages", ["created_at"])
    op.create_index("ix_messages_status", "messages", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_status", "messages")
    op.drop_index("ix_messages_created", "messages")
    op.drop_index("ix_threads_their_number", "threads")
    op.drop_table("send_gates")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("uncertain_since")
        batch.drop_column("claimed_at")
