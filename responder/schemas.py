"""Callback batches: raw JSON -> typed inbound SMS items, other callbacks, or located errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, validate

from responder.errors import CallbackError

MAX_BODY_BYTES = 1024 * 1024
SMS_INBOUND = "sms_inbound"


class _CallbackSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    callback_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=0))
    account_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=0))
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    hash = fields.String(load_default=None, allow_none=True)


class _PhoneNumber(fields.String):
    """A phone number as a string; JSON numbers are taken too (the API's own types drift)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class _SmsItemSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    source_number = _PhoneNumber(required=True, validate=validate.Length(min=1, max=32))
    destination_number = _PhoneNumber(required=True, validate=validate.Length(min=1, max=32))
    sms_body = fields.String(required=True, validate=validate.Length(max=10000))


@dataclass(frozen=True)
class _Plain:
    """What a schema field takes as it comes, with no conversion (see _LoadingSchema)."""

    name: str
    kind: type
    required: bool
    allow_none: bool
    default: Any
    validators: tuple[Callable[[Any], Any], ...]


class _LoadingSchema:
    """A schema built once (construction copies its fields, which costs more than a load),
    with its fields' plain forms for the quick path of load()."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.plain = tuple(_plain(name, field) for name, field in schema.load_fields.items())

    def load(self, element: dict[str, Any]) -> dict[str, Any]:
        """schema.load(element): quicker for an element that needs no conversion, which is
        how callbacks come (a fifth of a load); any other goes through marshmallow, which
        converts it or raises ValidationError with its messages."""
        loaded = self._as_it_is(element)
        if loaded is None:
            loaded = self.schema.load(element)
        return cast(dict[str, Any], loaded)

    def _as_it_is(self, element: dict[str, Any]) -> dict[str, Any] | None:
        """The element's fields, when each already has its loaded type and passes its
        validators; None when one does not."""
        loaded: dict[str, Any] = {}
        for field in self.plain:
            value = element.get(field.name, missing)
            if value is missing:
                if field.required:
                    return None
                value = field.default
            elif value is None:
                if not field.allow_none:
                    return None
            elif type(value) is not field.kind or not _passes(field.validators, value):
                return None
            loaded[field.name] = value
        return loaded


# Field classes whose load returns a value of this exact type unchanged.
_PLAIN_KINDS: tuple[tuple[type[fields.Field[Any]], type], ...] = (
    (fields.Integer, int),
    (fields.String, str),
)


def _plain(name: str, field: fields.Field[Any]) -> _Plain:
    kind = next((k for cls, k in _PLAIN_KINDS if isinstance(field, cls)), None)
    if kind is None or field.data_key is not None or callable(field.load_default):
        raise TypeError(f"field {name!r} has no plain form; load() would need marshmallow")
    return _Plain(
        name=name,
        kind=kind,
        required=field.required,
        allow_none=field.allow_none,
        default=None if field.load_default is missing else field.load_default,
        validators=tuple(field.validators),
    )


def _passes(validators: tuple[Callable[[Any], Any], ...], value: Any) -> bool:
    try:
        return all(validator(value) is not False for validator in validators)
    except ValidationError:
        return False


_CALLBACK = _LoadingSchema(_CallbackSchema())
_SMS_ITEM = _LoadingSchema(_SmsItemSchema())


@dataclass(frozen=True)
class SmsItem:
    source_number: str
    destination_number: str
    sms_body: str


@dataclass(frozen=True)
class Callback:
    """One element of a batch; *items* holds its inbound SMS (empty for other types)."""

    index: int
    callback_id: int
    account_id: int
    type: str
    hash: str | None
    items: tuple[SmsItem, ...]


@dataclass(frozen=True)
class Batch:
    """A parsed batch: good elements, and each bad one's error."""

    callbacks: list[Callback]
    errors: list[CallbackError]


def parse_body(raw: bytes) -> list[Any]:
    """Decode the request body to the list of callback elements, or raise CallbackError."""
    if not raw.strip():
        raise CallbackError("empty body: expected a JSON object with a 'callbacks' array")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise CallbackError("body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise CallbackError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise CallbackError(f"expected a JSON object at the top level (got {_kind(data)})")
    if "callbacks" not in data:
        raise CallbackError("missing 'callbacks': expected {\"callbacks\": [...]}")
    callbacks = data["callbacks"]
    if not isinstance(callbacks, list):
        raise CallbackError(f"'callbacks' must be an array (got {_kind(callbacks)})")
    if not callbacks:
        raise CallbackError("'callbacks' is empty: nothing to do")
    return callbacks


def parse_batch(raw: bytes) -> Batch:
    """Parse the whole body; a bad element becomes an error for that element only."""
    batch = Batch([], [])
    for index, element in enumerate(parse_body(raw)):
        try:
            batch.callbacks.append(parse_callback(index, element))
        except CallbackError as exc:
            batch.errors.append(exc)
    return batch


def parse_callback(index: int, element: Any) -> Callback:
    where = f"callbacks.{index}"
    if not isinstance(element, dict):
        raise CallbackError(f"{where}: expected an object (got {_kind(element)})", index)
    if "callback_id" not in element and "callbackId" in element:
        # One guide spells the id in camelCase; every schema uses snake_case.
        element = {**element, "callback_id": element["callbackId"]}
    try:
        head = _CALLBACK.load(element)
    except ValidationError as exc:
        raise CallbackError(f"{where}: {_describe(exc.messages)}", index) from None
    items: tuple[SmsItem, ...] = ()
    if head["type"] == SMS_INBOUND:
        items = _sms_items(element.get(SMS_INBOUND), f"{where}.{SMS_INBOUND}", index)
    return Callback(
        index=index,
        callback_id=head["callback_id"],
        account_id=head["account_id"],
        type=head["type"],
        hash=head["hash"],
        items=items,
    )


def _sms_items(payload: Any, where: str, index: int) -> tuple[SmsItem, ...]:
    """Accept the three shapes seen in the schema's history: nested object, flat, nested array."""
    if payload is None:
        raise CallbackError(
            f"{where}: missing (an sms_inbound callback carries the message)", index
        )
    if isinstance(payload, dict) and SMS_INBOUND in payload:
        where = f"{where}.{SMS_INBOUND}"
        payload = payload[SMS_INBOUND]
    elements = payload if isinstance(payload, list) else [payload]
    if not elements:
        raise CallbackError(f"{where}: empty array, no message in it", index)
    items = []
    for n, element in enumerate(elements):
        at = f"{where}.{n}" if isinstance(payload, list) else where
        if not isinstance(element, dict):
            raise CallbackError(f"{at}: expected an object (got {_kind(element)})", index)
        try:
            item = _SMS_ITEM.load(element)
        except ValidationError as exc:
            raise CallbackError(f"{at}: {_describe(exc.messages)}", index) from None
        items.append(SmsItem(**item))
    return tuple(items)


def _describe(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {_describe(value)}" for key, value in sorted(messages.items()))
    if isinstance(messages, list):
        return " ".join(str(m).rstrip(".").lower() for m in messages)
    return str(messages)


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
