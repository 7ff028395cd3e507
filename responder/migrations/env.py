"""Alembic environment: migrations run on the connection `responder db upgrade` hands over."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from responder.config import normalise_database_url
from responder.store.db import make_engine
from responder.store.tables import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot alter most of a table in place; batch mode copies the table instead.
        render_as_batch=True,
        # Both databases can roll DDL back: a failed upgrade leaves the schema as it was.
        transactional_ddl=True,
        compare_type=True,
    )


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("give the database as -x url=... or in DATABASE_URL")
    return normalise_database_url(url)


def run_offline() -> None:
    context.configure(
        url=_url(), target_metadata=metadata, render_as_batch=True, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # responder.migrations.upgrade holds the lock and the transaction on this connection.
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
