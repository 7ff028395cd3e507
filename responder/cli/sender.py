"""`responder sender run`: the outbox sender as a process of its own."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import click
from flask.cli import with_appcontext

from responder.cli.context import services
from responder.logs import configure_logging
from responder.sender import Sender

log = logging.getLogger(__name__)


@click.group()
def sender() -> None:
    """The outbox sender."""


@sender.command("run")
@with_appcontext
def run_sender() -> None:
    """Send queued messages until SIGTERM or SIGINT, finishing the send in flight."""
    # A worker process: its log is all it says, JSON events on stdout like the web's.
    configure_logging(services().config, stream=sys.stdout)
    worker = Sender(services())

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the send in flight, then stopping", signum)
        worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()
