"""`responder history sync`: Voximplant's SMS history into our threads, resumable."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click
from flask.cli import with_appcontext

from responder.cli.voximplant import voximplant_client
from responder.history import METHODS, HistorySyncError, begin_sync, run_sync
from responder.services import current_services

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]


@click.group()
def history() -> None:
    """Voximplant's SMS history."""


@history.command("sync")
@click.option(
    "--since",
    type=click.DateTime(formats=DATE_FORMATS),
    help="Start of the window (UTC). Default: where the last sync ended, else everything.",
)
@with_appcontext
def sync(since: datetime | None) -> None:
    """Import GetSmsHistory and A2PGetSmsHistory into threads, skipping what is there already."""
    found = current_services()
    start = since.replace(tzinfo=UTC) if since is not None else None
    with voximplant_client(found.config) as client:
        for method in METHODS:
            current, resumed = begin_sync(found, method, start)
            if resumed:
                click.echo(f"{method}: resuming at item {current.next_offset}", err=True)
            with click.progressbar(
                length=current.total or 0,
                label=method,
                file=sys.stderr,
                show_pos=True,
            ) as bar:
                bar.update(current.next_offset)

                def advance(items: int, total: int, bar: Any = bar) -> None:
                    bar.length = total
                    bar.update(items)

                try:
                    report = run_sync(found, client, current, on_page=advance)
                except HistorySyncError as exc:
                    raise click.ClickException(str(exc)) from None
            click.echo(
                f"{method}: {report.total} in the window, {report.imported} imported, "
                f"{report.skipped} already there"
            )
