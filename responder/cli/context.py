"""How CLI commands reach the running configuration: the app's Services."""

from __future__ import annotations

from flask import current_app

from responder.services import Services


def services() -> Services:
    return current_app.extensions["responder"]  # type: ignore[no-any-return]
