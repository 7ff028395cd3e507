"""`responder sender run`: the outbox sender as a process of its own."""

from __future__ import annotations

import signal
from types import FrameType

import click
from flask.cli import with_appcontext

from responder.cli.context import services
from responder.sender import Sender


@click.group()
def sender() -> None:
    """The outbox sender."""


@sender.command("run")
@with_appcontext
def run_sender() -> None:
    """Send queued messages until SIGTERM or SIGINT, finishing the send in flight."""
    worker = Sender(services())

    def stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"signal {signum}: finishing the send in flight, then stopping", err=True)
        worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()
