"""`responder threads`: list conversations and show one."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from responder.cli.context import services
from responder.errors import InvalidNumberError
from responder.numbers import normalise_number
from responder.store.db import reading
from responder.store.threads import find_threads_with, inbox_page, thread_page


@click.group()
def threads() -> None:
    """Conversations, one per (our number, their number)."""


@threads.command("list")
@click.option("--limit", default=50, show_default=True, help="How many threads to list.")
@with_appcontext
def list_threads(limit: int) -> None:
    """Threads by last activity, newest first."""
    with reading(services().engine) as conn:
        rows = inbox_page(conn, limit=limit)
    if not rows:
        click.echo("no threads yet")
        return
    click.echo(f"{'ours':<16} {'theirs':<16} {'last activity':<20} {'unread':>6}  last text")
    for t in rows:
        when = t.last_activity_at.strftime("%Y-%m-%d %H:%M:%S")
        text = (t.last_text or "").replace("\n", " ")[:50]
        click.echo(f"{t.our_number:<16} {t.their_number:<16} {when:<20} {t.unread:>6}  {text}")


@threads.command("show")
@click.argument("number")
@click.option("--limit", default=100, show_default=True, help="How many recent messages.")
@with_appcontext
def show_thread(number: str, limit: int) -> None:
    """Every message of the threads with NUMBER (theirs or ours)."""
    try:
        normalised = normalise_number(number)
    except InvalidNumberError as exc:
        raise click.ClickException(str(exc)) from None
    with reading(services().engine) as conn:
        found = find_threads_with(conn, normalised)
        if not found:
            raise click.ClickException(f"no thread with {normalised}")
        for thread in found:
            click.echo(
                f"thread {thread.our_number} <-> {thread.their_number}"
                + (f"  state={thread.state}" if thread.state else "")
            )
            for m in thread_page(conn, thread.id, limit=limit):
                arrow = "<-" if m["direction"] == "in" else "->"
                at = m["created_at"].strftime("%Y-%m-%d %H:%M:%S")
                extra = f" rule={m['rule_id']}" if m["rule_id"] else ""
                if m["error_text"]:
                    extra += f" error={m['error_code']}: {m['error_text']}"
                click.echo(f"  {at} {arrow} [{m['status']}]{extra} {m['text']}")
