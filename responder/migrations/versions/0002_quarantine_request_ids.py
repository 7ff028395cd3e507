"""Quarantined callback requests; the request id that caused each message.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A database made by create_all before migrations existed may have these already.
    inspector = sa.inspect(op.get_bind())
    if "request_id" not in {c["name"] for c in inspector.get_columns("messages")}:
        with op.batch_alter_table("messages") as batch:
            batch.add_column(sa.Column("request_id", sa.String(64)))
    if inspector.has_table("quarantined_callbacks"):
        return
    op.create_table(
        "quarantined_callbacks",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("remote_addr", sa.String(64)),
        sa.Column("route", sa.String(20), nullable=False),
        sa.Column("failed_check", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True)),
        sa.Column("replay_result", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_quarantined_callbacks"),
    )


def downgrade() -> None:
    op.drop_table("quarantined_callbacks")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("request_id")
