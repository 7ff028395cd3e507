"""`responder alphasms`: check the AlphaSMS account balance and the price of one SMS."""

from __future__ import annotations

import os
from decimal import Decimal

import click
from flask import current_app, has_app_context
from flask.cli import with_appcontext

from responder.cli.arguments import number_argument
from responder.providers.alphasms import (
    AlphaSmsClient,
    AlphaSmsError,
    AlphaSmsSettings,
    read_alphasms_settings,
)


@click.group()
def alphasms() -> None:
    """The AlphaSMS gateway (alphasms.ua)."""


@alphasms.command("balance")
def balance() -> None:
    """Show the account balance."""
    client, _ = _client()
    try:
        amount = client.balance()
    except AlphaSmsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"AlphaSMS balance: {_plain(amount)}")


@alphasms.command("price")
@click.argument("number")
def price(number: str) -> None:
    """Show the price of one SMS to NUMBER (international format)."""
    normalised = number_argument(number)
    client, settings = _client()
    try:
        found = client.price(normalised, sender=settings.sender)
    except AlphaSmsError as exc:
        raise click.ClickException(str(exc)) from None
    currency = f" {found.currency}" if found.currency else ""
    click.echo(f"Price of one SMS to +{normalised}: {_plain(found.amount)}{currency}")


@alphasms.command("status")
@click.option("--limit", default=500, show_default=True, help="How many messages to ask about.")
@with_appcontext
def status(limit: int) -> None:
    """Poll the delivery state of messages sent through AlphaSMS and record changes."""
    from responder.alphasms.delivery import poll_delivery
    from responder.services import current_services

    client, _ = _client()
    found = current_services()
    try:
        report = poll_delivery(found.engine, client, found.clock, limit=limit)
    except AlphaSmsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"checked {report.checked}: {report.delivered} delivered, {report.failed} failed, "
        f"{report.pending} still on their way"
    )
    for line in report.unknown:
        click.echo(f"no status for {line}", err=True)


def _client() -> tuple[AlphaSmsClient, AlphaSmsSettings]:
    settings = _settings()
    return settings.make_client(), settings


def _settings() -> AlphaSmsSettings:
    """The running app's AlphaSMS settings when there is one, else the environment's."""
    if has_app_context():
        services = current_app.extensions.get("responder")
        config = getattr(services, "config", None)
        if config is not None and hasattr(config, "alphasms"):
            if config.alphasms is None:
                raise click.ClickException(_NOT_CONFIGURED)
            return config.alphasms  # type: ignore[no-any-return]
    settings, problems = read_alphasms_settings(os.environ)
    if problems:
        listed = "\n  ".join(problems)
        raise click.ClickException(f"AlphaSMS is not configured correctly:\n  {listed}")
    if settings is None:
        raise click.ClickException(_NOT_CONFIGURED)
    return settings


_NOT_CONFIGURED = "AlphaSMS is not configured: set ALPHASMS_API_KEY and ALPHASMS_SENDER"


def _plain(amount: Decimal) -> str:
    """A decimal without float noise or exponent: 31.168300000000002 -> 31.1683."""
    rounded = amount.quantize(Decimal("0.000001")).normalize()
    return format(rounded, "f")
