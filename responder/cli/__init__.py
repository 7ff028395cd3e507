"""The `responder` command: a Flask CLI group with the service's own commands."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from responder.cli.db import db
from responder.cli.sender import sender
from responder.cli.simulate import simulate
from responder.cli.threads import threads


def _create_app() -> object:
    from responder import create_app
    from responder.errors import ConfigError, SchemaError

    try:
        # A command's own output goes to stdout; the service's log lines go to stderr here.
        return create_app(start_sender=False, log_stream=sys.stderr)
    except (ConfigError, SchemaError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def cli() -> None:
    """responder: an SMS auto-responder for Voximplant."""


cli.add_command(threads)
cli.add_command(db)
cli.add_command(sender)
cli.add_command(simulate)


def _add_optional() -> None:
    # Command groups that live in their own modules; each is self-contained.
    from importlib import import_module

    for module, name in (
        ("responder.cli.rules", "rules"),
        ("responder.cli.callbacks", "callbacks"),
        ("responder.cli.segments", "segments"),
        ("responder.cli.alphasms", "alphasms"),
        ("responder.cli.voximplant", "voximplant"),
        ("responder.cli.send", "send"),
        ("responder.cli.broadcast", "broadcast"),
        ("responder.cli.history", "history"),
        ("responder.cli.consent", "consent"),
    ):
        try:
            cli.add_command(getattr(import_module(module), name))
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_add_optional()
