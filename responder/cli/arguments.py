"""Command-line values in our terms: a phone number given as an argument, or the CLI error."""

from __future__ import annotations

import click

from responder.errors import InvalidNumberError
from responder.numbers import normalise_number


def number_argument(raw: str) -> str:
    """*raw* as a digits-only E.164 number, or a ClickException saying why it is not one."""
    try:
        return normalise_number(raw)
    except InvalidNumberError as exc:
        raise click.ClickException(str(exc)) from None
