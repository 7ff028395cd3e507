"""The configuration at hand for commands that also run without an app (rules, consent)."""

from __future__ import annotations

import click
from flask import has_app_context
from flask.cli import ScriptInfo

from responder.config import Config
from responder.services import Services, current_services


def configured() -> Config | None:
    """The configuration of the current app, else of the one `responder` would load; None
    when there is none. Raises NoAppException or ResponderError when it cannot be loaded."""
    if has_app_context():
        return current_services().config
    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx is not None else None
    if info is None:
        return None
    services: Services = info.load_app().extensions["responder"]
    return services.config
