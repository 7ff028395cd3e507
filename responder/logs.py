"""Logging to stdout, one line per event, with known secrets masked."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from responder.config import Config

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    """Replaces any configured secret that slips into a log line with ***."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            masked = message
            for secret in self.secrets:
                masked = masked.replace(secret, "***")
            if masked != message:
                record.msg, record.args = masked, None
        return True


def secrets_of(config: Config) -> list[str]:
    found = [config.callback_salt, config.api_key, config.callback_token, config.admin_password]
    values = [s.reveal() for s in found if s is not None]
    if config.voximplant is not None:
        values.append(config.voximplant.private_key.reveal())
    if config.secret_key.reveal():
        values.append(config.secret_key.reveal())
    return values


def configure_logging(
    config: Config, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Send responder's logs to *stream* (stdout) once per process, masking *config*'s secrets."""
    root = logging.getLogger("responder")
    root.setLevel(level)
    handler = next((h for h in root.handlers if getattr(h, "_responder", False)), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stdout)
        handler._responder = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
        root.propagate = True
    elif isinstance(handler, logging.StreamHandler):
        handler.setStream(stream or sys.stdout)
    for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
        handler.removeFilter(old)
    handler.addFilter(RedactingFilter(secrets_of(config)))
