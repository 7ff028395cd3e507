"""Management API wire formats: request parameters out, loosely typed answer fields in."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from responder.secret import Secret

API_DATETIME = "%Y-%m-%d %H:%M:%S"


def encode_params(params: Mapping[str, object]) -> dict[str, str]:
    """Form fields for *params*: None dropped, lists ';'-joined, booleans lower-case, UTC times."""
    return {name: encode_value(value) for name, value in params.items() if value is not None}


def encode_value(value: object) -> str:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return encode_value(value.value)
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return ";".join(encode_value(item) for item in value)
    raise TypeError(f"cannot send a {type(value).__name__} as a Management API parameter")


def format_datetime(value: datetime) -> str:
    """The API's `yyyy-MM-dd HH:mm:ss` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(API_DATETIME)


def parse_datetime(value: object) -> datetime | None:
    """A UTC datetime from `YYYY-MM-DD HH:mm:ss` or a bare `YYYY-MM-DD` (both occur); else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for pattern in (API_DATETIME, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def as_text(value: object) -> str | None:
    """A string from a field that may arrive as a string or a JSON number (ids, phone numbers)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def as_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    return None


def as_decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def as_list(value: object) -> list[Any]:
    """A list from a field that may be a list, a single object, or missing."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]
