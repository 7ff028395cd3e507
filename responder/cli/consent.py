"""`responder consent`: the opt-out list and each number's consent history; settings for checks."""

from __future__ import annotations

from dataclasses import replace

import click
from flask.cli import NoAppException, with_appcontext

from responder.cli.arguments import number_argument
from responder.cli.context import configured
from responder.compliance.optout import Keyword, change_consent
from responder.compliance.settings import ComplianceSettings
from responder.errors import ResponderError
from responder.services import current_services
from responder.store.consent import ACCOUNT_WIDE, consent_history, opted_out_pairs
from responder.store.db import reading


def configured_compliance() -> ComplianceSettings:
    """The running configuration's compliance settings, or the defaults when there is none."""
    try:
        config = configured()
    except (NoAppException, ResponderError):
        return ComplianceSettings()
    return config.compliance if config is not None else ComplianceSettings()


def _ours(number: str) -> str:
    return "all our numbers" if number == ACCOUNT_WIDE else number


@click.group()
def consent() -> None:
    """Opt-outs: who is opted out, and every opt-out and opt-in received."""


@consent.command("list")
@with_appcontext
def list_opt_outs() -> None:
    """Every number opted out now, newest first."""
    with reading(current_services().engine) as conn:
        rows = opted_out_pairs(conn)
    if not rows:
        click.echo("nobody is opted out")
        return
    click.echo(f"{'theirs':<16} {'from':<16} opted out at")
    for row in rows:
        ours = _ours(row["our_number"])
        at = row["opted_out_at"].strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{row['their_number']:<16} {ours:<16} {at}")


@consent.command("show")
@click.argument("number")
@with_appcontext
def show_consent(number: str) -> None:
    """The consent ledger of NUMBER: every opt-out and opt-in with the text that caused it."""
    theirs = number_argument(number)
    with reading(current_services().engine) as conn:
        history = consent_history(conn, theirs)
        now_out = opted_out_pairs(conn, theirs)
    if not history:
        click.echo(f"{theirs}: no opt-out or opt-in received")
        return
    for entry in history:
        at = entry["at"].strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{at} {entry['action']:<8} to {_ours(entry['our_number'])} ({entry['scope']} scope, "
            f"rules {entry['ruleset_version'] or '-'}): {entry['text']!r}"
        )
    if now_out:
        froms = ", ".join(_ours(r["our_number"]) for r in now_out)
        click.echo(f"{theirs} is opted out of {froms}")
    else:
        click.echo(f"{theirs} is not opted out")


NUMBER_HELP = "Only from this number of ours; without it, from every number of ours."


def _record(keyword: Keyword, number: str, ours: str | None, note: str) -> None:
    theirs = number_argument(number)
    our_number = number_argument(ours) if ours else None
    svc = current_services()
    settings = replace(svc.config.compliance, scope="number" if our_number else "account")
    with svc.engine.begin() as conn:
        result = change_consent(
            conn, settings, keyword, our_number or ACCOUNT_WIDE, theirs, note, svc.clock()
        )
    where = f"from {our_number}" if our_number else "from all our numbers"
    if keyword is Keyword.OPT_OUT:
        state = "opted out" if result.changed else "was already opted out"
        extra = f"; {len(result.cancelled)} waiting message(s) failed" if result.cancelled else ""
    else:
        state = "opted back in" if result.changed else "was not opted out"
        extra = ""
    click.echo(f"{theirs} {state} {where} (ledger entry {result.ledger_id}){extra}")


@consent.command("opt-out")
@click.argument("number")
@click.option("--ours", help=NUMBER_HELP)
@click.option("--note", default="recorded by an operator", show_default=True,
              help="How the request came in, kept in the ledger.")  # fmt: skip
@with_appcontext
def record_opt_out(number: str, ours: str | None, note: str) -> None:
    """Opt NUMBER out on a request made another way (phone, email, in person); no SMS is sent."""
    _record(Keyword.OPT_OUT, number, ours, note)


@consent.command("opt-in")
@click.argument("number")
@click.option("--ours", help=NUMBER_HELP)
@click.option("--note", default="recorded by an operator", show_default=True,
              help="How the consent was given, kept in the ledger.")  # fmt: skip
@with_appcontext
def record_opt_in(number: str, ours: str | None, note: str) -> None:
    """Opt NUMBER back in when they gave consent another way; no SMS is sent."""
    _record(Keyword.OPT_IN, number, ours, note)
