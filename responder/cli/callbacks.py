"""`responder callbacks`: refused requests kept in quarantine, replaying them, and the inbox."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from responder.quarantine import ReplayError, replay
from responder.services import current_services
from responder.store.db import reading
from responder.store.inbox import MAX_ATTEMPTS, parked, retry_parked, summary
from responder.store.quarantine import (
    QuarantinedCallback,
    count_quarantined,
    find_quarantined,
    list_quarantined,
)


@click.group()
def callbacks() -> None:
    """Callback requests that failed verification or parsing; callbacks queued in the inbox."""


def _when(kept: QuarantinedCallback) -> str:
    return kept.received_at.strftime("%Y-%m-%d %H:%M:%S")


@callbacks.command("failed")
@click.option("--limit", default=50, show_default=True, help="How many to list, newest first.")
@click.option("--show", "show_id", type=int, help="Everything kept about one request.")
@with_appcontext
def list_failed(limit: int, show_id: int | None) -> None:
    """The refused requests kept, with the check that failed and why."""
    engine = current_services().engine
    if show_id is not None:
        _show(_get(show_id))
        return
    rows = list_quarantined(engine, limit=limit)
    if not rows:
        click.echo("no refused callbacks kept")
        return
    total = count_quarantined(engine)
    click.echo(
        f"{'id':>6}  {'received (UTC)':<19}  {'check':<8} {'status':>6}  {'replayed':<8}  reason"
    )
    for kept in rows:
        replayed = "-" if kept.replay_result is None else str(kept.replay_result.get("status"))
        click.echo(
            f"{kept.id:>6}  {_when(kept):<19}  {kept.failed_check:<8} {kept.status_code:>6}  "
            f"{replayed:<8}  {kept.reason}"
        )
    if total > len(rows):
        click.echo(f"({len(rows)} of {total} shown; --limit for more)")
    click.echo("replay one with: responder callbacks replay ID")


def _get(quarantine_id: int) -> QuarantinedCallback:
    kept = find_quarantined(current_services().engine, quarantine_id)
    if kept is None:
        raise click.ClickException(f"no quarantined callback with id {quarantine_id}")
    return kept


def _show(kept: QuarantinedCallback) -> None:
    click.echo(f"id:           {kept.id}")
    click.echo(f"received:     {kept.received_at.isoformat(timespec='seconds')}")
    click.echo(f"request id:   {kept.request_id or '-'}")
    click.echo(f"from:         {kept.remote_addr or '-'}")
    click.echo(f"route:        {kept.route}")
    click.echo(f"answered:     {kept.status_code}")
    click.echo(f"failed check: {kept.failed_check}: {kept.reason}")
    click.echo("checks:")
    for check in kept.checks:
        mark = "ok  " if check.get("ok") else "FAIL"
        where = f" element {check['index']}" if "index" in check else ""
        detail = f": {check['detail']}" if check.get("detail") else ""
        click.echo(f"  {mark} {check['check']}{where}{detail}")
    click.echo("headers:")
    for name, value in kept.headers.items():
        click.echo(f"  {name}: {value}")
    cut = f" (cut from {kept.body_size})" if kept.truncated else ""
    click.echo(f"body: {len(kept.body)} bytes{cut}")
    click.echo(kept.body.decode("utf-8", errors="replace"))
    if kept.replay_result is not None and kept.replayed_at is not None:
        click.echo(f"replayed {kept.replayed_at.isoformat(timespec='seconds')}:")
        click.echo(json.dumps(kept.replay_result, indent=2, ensure_ascii=False))


@callbacks.command("replay")
@click.argument("quarantine_id", metavar="ID", type=int)
@with_appcontext
def replay_one(quarantine_id: int) -> None:
    """Run a kept request through intake again, with the configuration as it is now."""
    kept = _get(quarantine_id)
    try:
        result = replay(current_services(), kept)
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from None
    counts = ", ".join(
        f"{result.get(k, 0)} {k}" for k in ("accepted", "duplicates", "ignored", "rejected")
    )
    if result.get("error"):
        click.echo(
            f"callback {kept.id} still refused ({result.get('failed_check', 'body')}): "
            f"{result['error']}" + (f" [{counts}]" if "accepted" in result else ""),
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"callback {kept.id} replayed: {counts}")


@callbacks.command("inbox")
@click.option("--retry", is_flag=True, help="Try the parked callbacks again.")
@with_appcontext
def inbox_status(retry: bool) -> None:
    """Callbacks answered in queue mode and not processed yet; those parked after failing."""
    services = current_services()
    engine = services.inbox
    if retry:
        click.echo(f"{retry_parked(engine)} parked callback(s) will be tried again")
        return
    found = summary(engine)
    with reading(engine) as conn:
        stuck = parked(conn)
    click.echo(f"inbox: {found.waiting} waiting, {found.parked} parked")
    if found.oldest is not None:
        age = (services.clock() - found.oldest).total_seconds()
        click.echo(f"oldest: received {age:.0f} s ago")
    for row in stuck:
        click.echo(
            f"parked: callback {row.callback_id} of account {row.account_id}, failed "
            f"{row.attempts} times; last error: {row.last_error}"
        )
    if stuck:
        click.echo(
            f"(parked after {MAX_ATTEMPTS} failed attempts; `responder callbacks inbox --retry` "
            "tries them again)"
        )
