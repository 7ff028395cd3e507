"""`responder consent`: the opt-out list and each number's consent history; settings for checks."""

from __future__ import annotations

import click
from flask import current_app, has_app_context
from flask.cli import NoAppException, ScriptInfo, with_appcontext

from responder.cli.context import services
from responder.compliance.settings import ComplianceSettings
from responder.errors import InvalidNumberError, ResponderError
from responder.numbers import normalise_number
from responder.store.consent import ACCOUNT_WIDE, consent_history, opted_out_pairs
from responder.store.db import reading


def configured_compliance() -> ComplianceSettings:
    """The running configuration's compliance settings, or the defaults when there is none."""
    if has_app_context():
        return current_app.extensions["responder"].config.compliance  # type: ignore[no-any-return]
    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx is not None else None
    if info is None:
        return ComplianceSettings()
    try:
        app = info.load_app()
    except (NoAppException, ResponderError):
        return ComplianceSettings()
    return app.extensions["responder"].config.compliance  # type: ignore[no-any-return]


@click.group()
def consent() -> None:
    """Opt-outs: who is opted out, and every opt-out and opt-in received."""


@consent.command("list")
@with_appcontext
def list_opt_outs() -> None:
    """Every number opted out now, newest first."""
    with reading(services().engine) as conn:
        rows = opted_out_pairs(conn)
    if not rows:
        click.echo("nobody is opted out")
        return
    click.echo(f"{'theirs':<16} {'from':<16} opted out at")
    for row in rows:
        ours = "all our numbers" if row["our_number"] == ACCOUNT_WIDE else row["our_number"]
        at = row["opted_out_at"].strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{row['their_number']:<16} {ours:<16} {at}")


@consent.command("show")
@click.argument("number")
@with_appcontext
def show_consent(number: str) -> None:
    """The consent ledger of NUMBER: every opt-out and opt-in with the text that caused it."""
    try:
        theirs = normalise_number(number)
    except InvalidNumberError as exc:
        raise click.ClickException(str(exc)) from None
    with reading(services().engine) as conn:
        history = consent_history(conn, theirs)
        now_out = opted_out_pairs(conn, theirs)
    if not history:
        click.echo(f"{theirs}: no opt-out or opt-in received")
        return
    for entry in history:
        at = entry["at"].strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{at} {entry['action']:<8} to {entry['our_number']} ({entry['scope']} scope, "
            f"rules {entry['ruleset_version'] or '-'}): {entry['text']!r}"
        )
    if now_out:
        froms = ", ".join(
            "all our numbers" if r["our_number"] == ACCOUNT_WIDE else r["our_number"]
            for r in now_out
        )
        click.echo(f"{theirs} is opted out of {froms}")
    else:
        click.echo(f"{theirs} is not opted out")
