"""Broadcasts with their recipients, and history sync progress.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default="0", nullable=False),
        _at("created_at", nullable=False),
        _at("finished_at"),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
        sa.UniqueConstraint("key", name="uq_broadcasts_key"),
    )
    op.create_table(
        "broadcast_recipients",
        sa.Column("broadcast_id", Id, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("their_number", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message_id", Id),
        sa.Column("provider_message_id", sa.String(64)),
        sa.Column("error_code", sa.String(32)),
        sa.Column("error_text", sa.Text()),
        _at("sending_at"),
        _at("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name="fk_broadcast_recipients_broadcast_id_broadcasts",
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "their_number", name="pk_broadcast_recipients"),
    )
    op.create_index(
        "ix_broadcast_recipients_status",
        "broadcast_recipients",
        ["broadcast_id", "status", "position"],
    )
    op.create_table(
        "history_syncs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        _at("from_date"),
        _at("to_date", nullable=False),
        sa.Column("next_offset", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer()),
        sa.Column("imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        _at("started_at", nullable=False),
        _at("finished_at"),
        sa.PrimaryKeyConstraint("id", name="pk_history_syncs"),
    )


def downgrade() -> None:
    op.drop_table("history_syncs")
    op.drop_index("ix_broadcast_recipients_status", "broadcast_recipients")
    op.drop_table("broadcast_recipients")
    op.drop_table("broadcasts")
