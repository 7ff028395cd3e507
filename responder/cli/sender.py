"""`responder sender`: run the outbox sender as a process of its own, see it, lift a hold."""

from __future__ import annotations

import logging
import signal
import sys
from datetime import timedelta
from types import FrameType

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from responder.logs import configure_logging
from responder.sender import Sender
from responder.services import current_services
from responder.store.db import reading
from responder.store.outbox import depth, next_due
from responder.store.pacing import find_pause, lift_pause
from responder.store.rows import utc
from responder.store.tables import outbox

log = logging.getLogger(__name__)


@click.group()
def sender() -> None:
    """The outbox sender."""


@sender.command("run")
@with_appcontext
def run_sender() -> None:
    """Send queued messages until SIGTERM or SIGINT, finishing the send in flight."""
    # A worker process: its log is all it says, JSON events on stdout like the web's.
    services = current_services()
    configure_logging(services.config, stream=sys.stdout)
    worker = Sender(services)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the send in flight, then stopping", signum)
        worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()


@sender.command("status")
@with_appcontext
def sender_status() -> None:
    """The outbox: how many wait, how many are due or being sent, the oldest, any pause."""
    services = current_services()
    engine, now = services.engine, services.clock()
    with reading(engine) as conn:
        waiting = depth(conn)
        due = conn.execute(
            select(func.count()).where(outbox.c.due_at <= now).where(outbox.c.lease_until.is_(None))
        ).scalar_one()
        leased = conn.execute(
            select(func.count()).where(outbox.c.lease_until.is_not(None))
        ).scalar_one()
        oldest = utc(conn.execute(select(func.min(outbox.c.created_at))).scalar_one())
    click.echo(f"outbox: {waiting} waiting, {due} due now, {leased} being sent")
    if oldest is not None:
        click.echo(f"oldest: queued {_ago(now - oldest)} ago")
    upcoming = next_due(engine)
    if upcoming is not None and upcoming > now:
        click.echo(f"next: in {_ago(upcoming - now)}")
    pause = find_pause(engine, now)
    if pause is not None:
        click.echo(
            f"PAUSED for {_ago(pause.until - now)} more: {pause.reason} "
            "(`responder sender resume` lifts it)"
        )


@sender.command("resume")
@with_appcontext
def sender_resume() -> None:
    """Lift a pause of all sending at once, e.g. right after topping up the account."""
    services = current_services()
    pause = lift_pause(services.engine, services.clock())
    if pause is None:
        click.echo("sending is not paused")
    else:
        click.echo(f"sending resumed (it was paused: {pause.reason})")


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
