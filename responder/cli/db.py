"""`responder db`: bring the database to the current schema, and say where it is."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from responder.migrations import current_revision, head_revision
from responder.services import current_services
from responder.store.db import create_schema


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def upgrade() -> None:
    """Create or upgrade the schema to the newest revision; safe to run on every release."""
    # The app has migrated as it started (and logged what it did); make sure nothing is left.
    _, after = create_schema(current_services().engine)
    click.echo(f"database is up to date (schema revision {after})")


@db.command("current")
@with_appcontext
def current() -> None:
    """The schema revision of the database and the one this version needs."""
    at = current_revision(current_services().engine)
    head = head_revision()
    state = "up to date" if at == head else "needs `responder db upgrade`"
    click.echo(f"database: {at or 'empty'}; this version: {head} ({state})")
