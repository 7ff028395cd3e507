"""Logging to stdout: one JSON event per line (or plain text), known secrets masked everywhere."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from gunicorn import glogging  # type: ignore[import-untyped]

from responder.config import Config
from responder.request_ids import current_request_id

MASK = "***"
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s"

# Everything a LogRecord carries by itself; any other attribute came in through extra={...}.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "rid",
}
# The few gunicorn access-log atoms worth keeping; the rest holds every header and environ key.
_ACCESS_FIELDS = {
    "remote_addr": "h",
    "method": "m",
    "path": "U",
    "status": "s",
    "bytes": "B",
    "duration_s": "L",
    "user_agent": "a",
}


class Redactor:
    """Masks every configured secret (and each line of a PEM key) in text."""

    def __init__(self) -> None:
        self.secrets: tuple[str, ...] = ()

    def use(self, secrets: Iterable[str]) -> None:
        found: set[str] = set()
        for secret in secrets:
            found.add(secret.strip())
            # A PEM key may leak one base64 line at a time (wrapped output, a partial dump).
            found.update(line.strip() for line in secret.splitlines() if "-----" not in line)
        # Longest first, so a whole key is masked before any of its lines.
        self.secrets = tuple(sorted((s for s in found if len(s) >= 4), key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


# Process-wide, like logging itself: gunicorn's own handlers use the same secrets as ours.
REDACT = Redactor()


class _Settings:
    log_format = "json"


_SETTINGS = _Settings()


def secrets_of(config: Config) -> list[str]:
    """Every secret value in *config*, for masking."""
    found = [
        config.callback_salt,
        config.api_key,
        config.callback_token,
        config.admin_password,
        config.metrics_token,
    ]
    values = [s.reveal() for s in found if s is not None]
    if config.voximplant is not None:
        values.append(config.voximplant.private_key.reveal())
    if config.secret_key.reveal():
        values.append(config.secret_key.reveal())
    return values


def _clean(value: Any) -> Any:
    """A JSON-ready copy of *value* with secrets masked in every string."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return REDACT(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return REDACT(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, event, request_id and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            event.update(_access_fields(record.args))
        else:
            event["event"] = record.getMessage()
            request_id = getattr(record, "request_id", None) or current_request_id()
            if request_id:
                event["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in event and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            event["exc"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        return json.dumps(_clean(event), ensure_ascii=False, default=str)


def _access_fields(atoms: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, atom in _ACCESS_FIELDS.items():
        value = atoms.get(atom)
        if value not in (None, "-"):
            fields[name] = value
    if str(fields.get("status", "")).isdigit():
        fields["status"] = int(str(fields["status"]))
    if "duration_s" in fields:
        fields["duration_s"] = float(fields["duration_s"])
    fields["event"] = f"{fields.get('method', '-')} {fields.get('path', '-')} {atoms.get('s')}"
    request_id = atoms.get("{x-request-id}o")
    if request_id not in (None, "-"):
        fields["request_id"] = request_id
    return fields


class TextFormatter(logging.Formatter):
    """The human-readable line, for a terminal; secrets masked all the same."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or current_request_id()
        record.rid = f" [{request_id}]" if request_id else ""
        return REDACT(super().format(record))


def make_formatter() -> logging.Formatter:
    return JsonFormatter() if _SETTINGS.log_format == "json" else TextFormatter()


def configure_logging(
    config: Config, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Send responder's logs to *stream* (stdout) once per process, masking *config*'s secrets."""
    REDACT.use(secrets_of(config))
    _SETTINGS.log_format = config.log_format
    root = logging.getLogger("responder")
    root.setLevel(level)
    handler = next((h for h in root.handlers if getattr(h, "_responder", False)), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stdout)
        handler._responder = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = True
    elif isinstance(handler, logging.StreamHandler):
        handler.setStream(stream or sys.stdout)
    handler.setFormatter(make_formatter())
    _adopt_gunicorn_handlers()


def _adopt_gunicorn_handlers() -> None:
    # Inside gunicorn its own loggers write the same way ours do (and mask the same secrets).
    for name in ("gunicorn.error", "gunicorn.access"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(make_formatter())


class GunicornLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, writing JSON (or text) events to stdout like the service does."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if cfg.errorlog == "-":
            for handler in self.error_log.handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                    handler.setStream(sys.stdout)
        _adopt_gunicorn_handlers()
