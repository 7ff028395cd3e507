"""`responder threads`: list, show, trace one message, export and purge conversations."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import click
from flask.cli import with_appcontext

from responder.cli.arguments import number_argument
from responder.errors import InvalidNumberError
from responder.numbers import normalise_number
from responder.services import current_services
from responder.store.db import reading
from responder.store.retention import EXPORT_COLUMNS, iter_messages, purge_older_than
from responder.store.threads import find_threads_with, inbox_page, message_history, thread_page


@click.group()
def threads() -> None:
    """Conversations, one per (our number, their number)."""


@threads.command("list")
@click.option("--limit", default=50, show_default=True, help="How many threads to list.")
@with_appcontext
def list_threads(limit: int) -> None:
    """Threads by last activity, newest first."""
    with reading(current_services().engine) as conn:
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
    normalised = number_argument(number)
    with reading(current_services().engine) as conn:
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
                text = m["text"] if m["text"] is not None else "(text not stored)"
                click.echo(f"  {at} #{m['id']} {arrow} [{m['status']}]{extra} {text}")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> timedelta:
    """'90d', '12h', '30m', '45s' or '2w' as a timedelta; click.BadParameter otherwise."""
    value = text.strip().lower()
    number, unit = value[:-1], value[-1:]
    if unit not in _UNITS or not number.isdigit() or int(number) == 0:
        raise click.BadParameter(f"expected a duration such as 90d, 12h or 30m (got {text!r})")
    return timedelta(seconds=int(number) * _UNITS[unit])


@threads.command("purge")
@click.option("--older-than", "older_than", required=True, help="Age, e.g. 90d, 12h, 2w.")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@with_appcontext
def purge_threads(older_than: str, dry_run: bool) -> None:
    """Delete messages, their history and emptied threads older than --older-than.

    Messages still waiting to be sent are kept, and so are opt-outs and the consent ledger.
    """
    services = current_services()
    cutoff = services.clock() - parse_age(older_than)
    report = purge_older_than(services.engine, cutoff, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{verb} {report.messages} messages ({report.events} status events), "
        f"{report.threads} threads, {report.seen_callbacks} callback ids and "
        f"{report.quarantined} quarantined callbacks older than "
        f"{cutoff.isoformat(timespec='seconds')}"
    )


@threads.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-",
              help="File to write; standard output by default.")  # fmt: skip
@click.option("--since", type=click.DateTime(), help="Only messages from this UTC time on.")
@click.option("--number", help="Only the threads of this number (theirs or ours).")
@with_appcontext
def export_threads(fmt: str, output: str, since: datetime | None, number: str | None) -> None:
    """Every message with its thread's numbers, oldest first, as CSV or JSON lines."""
    if number is not None:
        try:
            number = normalise_number(number)
        except InvalidNumberError as exc:
            raise click.BadParameter(str(exc), param_hint="--number") from None
    since_utc = since.replace(tzinfo=UTC) if since is not None else None
    rows = iter_messages(current_services().engine, since=since_utc, number=number)
    count = 0
    with click.open_file(output, "w", encoding="utf-8") as out:
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _text(v) for k, v in row.items()})
                count += 1
        else:
            for row in rows:
                out.write(json.dumps({k: _json(v) for k, v in row.items()}, ensure_ascii=False))
                out.write("\n")
                count += 1
    click.echo(f"exported {count} messages", err=True)


@threads.command("trace")
@click.argument("message_id", type=int)
@with_appcontext
def trace_message(message_id: int) -> None:
    """Every state change of one message with its time, from received or queued to the end."""
    with reading(current_services().engine) as conn:
        events = message_history(conn, message_id)
    if not events:
        raise click.ClickException(f"no message with id {message_id}")
    for event in events:
        at = event["at"].isoformat(timespec="milliseconds")
        detail = f"  {event['detail']}" if event["detail"] else ""
        click.echo(f"{at}  {event['status']:<10}{detail}")


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _text(value: object) -> object:
    return "" if value is None else _json(value)
