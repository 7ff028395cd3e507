"""`responder voximplant`: our numbers, SMS on/off, callback URL and salt, and a setup doctor."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext

from responder.cli.arguments import number_argument
from responder.config import Config
from responder.services import current_services
from responder.voximplant.api import VoximplantClient
from responder.voximplant.doctor import api_fix, run_checks
from responder.voximplant.errors import VoximplantApiError

# Voximplant's guide allows 40 characters and its error 399 says "below 40": stay below.
SALT_MAX_LEN = 39
AUTO_SALT_LEN = 32
_SALT_ALPHABET = string.ascii_letters + string.digits


@contextmanager
def voximplant_client(config: Config) -> Iterator[VoximplantClient]:
    """A Management API client for the configured service account; CLI errors when there is none."""
    if config.voximplant is None:
        raise click.ClickException(
            "Voximplant is not configured: set VOXIMPLANT_CREDENTIALS to the service account's "
            "credentials.json (a path or the JSON itself)"
        )
    with VoximplantClient(
        config.voximplant_api_url, config.voximplant, timeout=config.send_timeout_s
    ) as client:
        yield client


def refused(exc: VoximplantApiError) -> click.ClickException:
    """The CLI error for an API refusal: Voximplant's code and text, and what to do."""
    return click.ClickException(f"Voximplant refused the request: {exc}\n  fix: {api_fix(exc)}")


@click.group()
def voximplant() -> None:
    """The Voximplant account: numbers, SMS, callback settings."""


@voximplant.command("numbers")
@with_appcontext
def numbers() -> None:
    """A table of our numbers: SMS supported, SMS enabled, callback URL."""
    with voximplant_client(current_services().config) as client:
        try:
            account = client.get_account_info()
            found = list(client.iter_phone_numbers())
        except VoximplantApiError as exc:
            raise refused(exc) from None
    if not found:
        click.echo("no numbers are attached to this account")
        return
    click.echo(f"{'number':<16} {'SMS supported':<14} {'SMS enabled':<12} callback URL")
    for n in found:
        callback = n.incoming_sms_callback_url or (
            f"{account.callback_url} (account)" if account.callback_url else "-"
        )
        click.echo(
            f"{n.phone_number:<16} {_yes(n.is_sms_supported):<14} "
            f"{_yes(n.is_sms_enabled):<12} {callback}"
        )


@voximplant.command("enable-sms")
@click.argument("number")
@with_appcontext
def enable_sms(number: str) -> None:
    """Turn SMS on for NUMBER (ControlSms enable)."""
    _control(number, "enable")


@voximplant.command("disable-sms")
@click.argument("number")
@with_appcontext
def disable_sms(number: str) -> None:
    """Turn SMS off for NUMBER (ControlSms disable)."""
    _control(number, "disable")


def _control(raw: str, command: str) -> None:
    number = number_argument(raw)
    with voximplant_client(current_services().config) as client:
        try:
            _require_attached(client, number)
            client.control_sms(number, "enable" if command == "enable" else "disable")
        except VoximplantApiError as exc:
            raise refused(exc) from None
    click.echo(f"SMS {command}d on {number}")


def _require_attached(client: VoximplantClient, number: str) -> None:
    if not client.get_phone_numbers(phone_number=number).items:
        raise click.ClickException(
            f"{number} is not one of this account's numbers; "
            "`responder voximplant numbers` lists them"
        )


@voximplant.command("set-callback")
@click.argument("url")
@click.option("--number", help="Set the URL for this number only (its inbound SMS callback).")
@click.option(
    "--salt",
    metavar="auto|VALUE",
    help=f"Also set the account's callback salt; 'auto' makes one of {AUTO_SALT_LEN} characters.",
)
@with_appcontext
def set_callback(url: str, number: str | None, salt: str | None) -> None:
    """Point Voximplant's callbacks at URL, account-wide or for one number."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.ClickException(f"URL must be an http(s) URL (got {url!r})")
    if parts.scheme == "http":
        click.echo("warning: a plain http callback URL sends the messages unencrypted", err=True)
    new_salt = _salt(salt)
    target = number_argument(number) if number else None
    with voximplant_client(current_services().config) as client:
        try:
            if target is not None:
                _require_attached(client, target)
                client.set_phone_number_info(phone_number=target, incoming_sms_callback_url=url)
                if new_salt is not None:
                    client.set_account_info(callback_salt=new_salt)
            else:
                client.set_account_info(callback_url=url, callback_salt=new_salt)
        except VoximplantApiError as exc:
            raise refused(exc) from None
    click.echo(f"callback URL for {target or 'the account'} set to {url}")
    if new_salt is not None:
        click.echo("callback salt changed; set it in the service's environment and restart it:")
        click.echo(f"VOXIMPLANT_CALLBACK_SALT={new_salt}")


def _salt(salt: str | None) -> str | None:
    if salt is None:
        return None
    if salt == "auto":
        return "".join(secrets.choice(_SALT_ALPHABET) for _ in range(AUTO_SALT_LEN))
    if not salt or len(salt) > SALT_MAX_LEN:
        raise click.ClickException(
            f"--salt must be 1 to {SALT_MAX_LEN} characters, or 'auto' (got {len(salt)})"
        )
    return salt


@voximplant.command("doctor")
@click.option("--number", "numbers_", multiple=True, help="Check this number (repeatable).")
@click.option("--url", help="This deployment's public address (default RESPONDER_PUBLIC_URL).")
@with_appcontext
def doctor(numbers_: tuple[str, ...], url: str | None) -> None:
    """Check the account setup, one PASS/FAIL line each, with how to fix each failure."""
    config = current_services().config
    wanted = tuple(number_argument(n) for n in numbers_)
    with voximplant_client(config) as client:
        checks = run_checks(config, client, numbers=wanted, public_url=url)
    for check in checks:
        click.echo(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        if not check.ok and check.fix:
            click.echo(f"      fix: {check.fix}")
    failed = sum(not c.ok for c in checks)
    if failed:
        raise click.ClickException(f"{failed} of {len(checks)} checks failed")
    click.echo(f"all {len(checks)} checks passed")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
