"""`responder db`: bring the database to the current schema."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from responder.cli.context import services
from responder.store.db import create_schema


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def upgrade() -> None:
    """Create or upgrade every table; safe to run on every release."""
    create_schema(services().engine)
    click.echo("database is up to date")
