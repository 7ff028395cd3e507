"""`responder broadcast`: one text to a list of numbers with A2PSendSms, resumable."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from responder.broadcast import (
    BroadcastError,
    BroadcastRun,
    Recipients,
    broadcast_key,
    check_message,
    normalise_sender,
    opted_out,
    read_recipients,
)
from responder.cli.voximplant import voximplant_client
from responder.compliance.quiet import hold_until
from responder.services import current_services
from responder.store import broadcasts as store
from responder.store.db import reading
from responder.voximplant.api import MAX_A2P_DESTINATIONS

SETTLED = (store.SENT, store.FAILED, store.OPTED_OUT, store.UNKNOWN)


@click.command("broadcast")
@click.option("--from", "sender", required=True, help="The A2P sender ID to send from.")
@click.option(
    "--to-file",
    "to_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recipients, one number per line (or the first column of a CSV).",
)
@click.option("--dry-run", is_flag=True, help="Only print the counts and what would be billed.")
@click.option(
    "--chunk-size",
    default=MAX_A2P_DESTINATIONS,
    show_default=True,
    type=click.IntRange(1, MAX_A2P_DESTINATIONS),
    help="Destinations per A2PSendSms request.",
)
@click.argument("text")
@with_appcontext
def broadcast(sender: str, to_file: Path, dry_run: bool, chunk_size: int, text: str) -> None:
    """Send TEXT to every number in the file; run it again to resume an interrupted one."""
    found = current_services()
    sender = normalise_sender(sender)
    try:
        count = check_message(sender, text)
    except BroadcastError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        lines = to_file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {to_file}: {exc}") from None
    recipients = read_recipients(lines)
    key = broadcast_key(sender, text, recipients.numbers)
    if dry_run:
        _dry_run(sender, recipients, key, count.segments, count.encoding)
        return
    if not recipients.numbers:
        raise click.ClickException(
            f"{to_file} holds no valid number ({len(recipients.invalid)} invalid)"
        )
    with found.engine.begin() as conn:
        existing = store.find_broadcast(conn, key)
        if existing is None:
            existing = store.create_broadcast(
                conn,
                key=key,
                sender=sender,
                text=text,
                numbers=recipients.numbers,
                invalid=len(recipients.invalid),
                duplicates=recipients.duplicates,
                now=found.clock(),
            )
            done = 0
        else:
            done = sum(n for s, n in store.counts(conn, existing.id).items() if s in SETTLED)
    if existing.finished_at is not None:
        click.echo(
            f"this broadcast finished at {existing.finished_at:%Y-%m-%d %H:%M:%S}; nothing sent"
        )
        _summary(existing.id)
        return
    if done:
        click.echo(
            f"resuming: {done} of {existing.recipients} recipients already settled", err=True
        )
    with (
        voximplant_client(found.config) as client,
        click.progressbar(
            length=existing.recipients, label="broadcast", file=sys.stderr, show_pos=True
        ) as bar,
    ):
        bar.update(done)
        run = BroadcastRun(found, client, existing, chunk_size=chunk_size, progress=bar.update)
        try:
            report = run.run()
        except BroadcastError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(
        f"skipped: {len(recipients.invalid)} invalid, {recipients.duplicates} duplicate(s), "
        f"{report.opted_out} opted out"
    )
    if report.held and report.held_until is not None:
        click.echo(
            f"{report.held} recipient(s) are in their quiet hours; run the same command again "
            f"after {report.held_until:%Y-%m-%d %H:%M} UTC to send to them"
        )
    if report.reconciled_sent or report.reconciled_unknown:
        click.echo(
            f"interrupted chunk: {report.reconciled_sent} found sent in the history, "
            f"{report.reconciled_unknown} unknown"
        )
    _summary(existing.id)


def _summary(broadcast_id: int) -> None:
    with reading(current_services().engine) as conn:
        by_status = store.counts(conn, broadcast_id)
    click.echo(
        f"sent {by_status.get(store.SENT, 0)}, failed {by_status.get(store.FAILED, 0)}, "
        f"opted out {by_status.get(store.OPTED_OUT, 0)}, unknown {by_status.get(store.UNKNOWN, 0)}"
        + (f", held {by_status[store.HELD]}" if by_status.get(store.HELD) else "")
    )
    if by_status.get(store.UNKNOWN):
        click.echo(
            "unknown: the request may have reached Voximplant; they are not resent. "
            "Check `responder history sync` or the control panel before sending to them again.",
            err=True,
        )


def _dry_run(sender: str, recipients: Recipients, key: str, segments: int, encoding: str) -> None:
    found = current_services()
    done = 0
    with reading(found.engine) as conn:
        existing = store.find_broadcast(conn, key)
        if existing is None:
            pending = recipients.numbers
            earlier_out = 0
        else:
            pending = store.next_pending(conn, existing.id, existing.recipients)
            pending += store.next_pending(conn, existing.id, existing.recipients, status=store.HELD)
            by_status = store.counts(conn, existing.id)
            done = sum(n for s, n in by_status.items() if s in SETTLED)
            earlier_out = by_status.get(store.OPTED_OUT, 0)
        allowed = [n for n in pending if not opted_out(conn, found, sender, n)]
    out = len(pending) - len(allowed)
    now = found.clock()
    quiet = sum(
        hold_until(n, "broadcast", now, found.config.compliance.quiet) is not None for n in allowed
    )
    to_send = len(allowed) - quiet
    click.echo(f"recipients: {len(recipients.numbers)}")
    click.echo(f"invalid: {len(recipients.invalid)}")
    click.echo(f"duplicates: {recipients.duplicates}")
    click.echo(f"opted out: {earlier_out + out}")
    if quiet:
        click.echo(f"in their quiet hours now (held for a later run): {quiet}")
    if done:
        click.echo(f"already settled by an earlier run: {done}")
    click.echo(f"to send: {to_send}")
    click.echo(f"segments per message: {segments} ({encoding})")
    click.echo(f"messages billed: {to_send * segments}")
