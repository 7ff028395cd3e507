"""The dashboard blueprint object, shared by the modules that add its pages."""

from __future__ import annotations

from flask import Blueprint, current_app

from responder.services import Services

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)


def services() -> Services:
    return current_app.extensions["responder"]  # type: ignore[no-any-return]
