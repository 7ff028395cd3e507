"""One message per provider message id: a partial unique index replaces the plain one.

Rows that would break it keep everything but the repeated id: a webhook's "HTTP 200" was
stored as if it were a message id, and two history syncs running at once could import one
message twice (the later copy loses the id; the first keeps it, and its history says which).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_HAS_ID = sa.text("provider_message_id IS NOT NULL")


def upgrade() -> None:
    # A webhook's answer is in its event history ("webhook id HTTP 200"); it names no message.
    op.execute("UPDATE messages SET provider_message_id = NULL WHERE provider = 'webhook'")
    op.execute(
        "UPDATE messages SET provider_message_id = NULL "
        "WHERE provider_message_id IS NOT NULL AND EXISTS ("
        " SELECT 1 FROM messages AS earlier"
        " WHERE earlier.provider = messages.provider"
        " AND earlier.provider_message_id = messages.provider_message_id"
        " AND earlier.id < messages.id)"
    )
    op.drop_index("ix_messages_provider_id", "messages")
    op.create_index(
        "ux_messages_provider_id",
        "messages",
        ["provider", "provider_message_id"],
        unique=True,
        sqlite_where=_HAS_ID,
        postgresql_where=_HAS_ID,
    )


def downgrade() -> None:
    op.drop_index("ux_messages_provider_id", "messages")
    op.create_index("ix_messages_provider_id", "messages", ["provider", "provider_message_id"])
