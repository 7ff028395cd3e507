"""Dashboard: an index for hits per rule (count and last time by rule id, per day).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_rule", "messages", ["rule_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_rule", "messages")
