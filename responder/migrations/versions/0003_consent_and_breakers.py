"""Compliance: the consent ledger, the opt-out list, each thread's loop breaker.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("consent_ledger"):
        op.create_table(
            "consent_ledger",
            sa.Column("id", Id, autoincrement=True, nullable=False),
            sa.Column("their_number", sa.String(32), nullable=False),
            sa.Column("our_number", sa.String(32), nullable=False),
            sa.Column("action", sa.String(20), nullable=False),
            sa.Column("scope", sa.String(10), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("ruleset_version", sa.String(64)),
            sa.Column("message_id", Id),
            _at("at", nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_consent_ledger"),
        )
        op.create_index("ix_consent_ledger_their", "consent_ledger", ["their_number", "id"])
    if not inspector.has_table("opt_outs"):
        op.create_table(
            "opt_outs",
            sa.Column("our_number", sa.String(32), nullable=False),
            sa.Column("their_number", sa.String(32), nullable=False),
            sa.Column("ledger_id", Id, nullable=False),
            _at("opted_out_at", nullable=False),
            sa.PrimaryKeyConstraint("our_number", "their_number", name="pk_opt_outs"),
        )
        op.create_index("ix_opt_outs_their", "opt_outs", ["their_number"])
    if not inspector.has_table("breakers"):
        op.create_table(
            "breakers",
            sa.Column("thread_id", Id, autoincrement=False, nullable=False),
            _at("opened_at", nullable=False),
            _at("open_until", nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("trips", sa.Integer(), server_default="1", nullable=False),
            sa.ForeignKeyConstraint(
                ["thread_id"], ["threads.id"], name="fk_breakers_thread_id_threads"
            ),
            sa.PrimaryKeyConstraint("thread_id", name="pk_breakers"),
        )


def downgrade() -> None:
    op.drop_table("breakers")
    op.drop_table("opt_outs")
    op.drop_table("consent_ledger")
