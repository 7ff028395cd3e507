"""The quick path of callback parsing gives what marshmallow's load gives, for any element."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from responder.schemas import _CALLBACK, _SMS_ITEM, _LoadingSchema

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "sms_inbound", "447700900123", "x" * 33, "y" * 101, "-1", "12.5"]),
)
JSON_VALUES = st.one_of(JSON_SCALARS, st.lists(JSON_SCALARS, max_size=2))


def elements(schema: _LoadingSchema) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from([*schema.schema.load_fields, "other", "callbackId"])
    return st.dictionaries(keys, JSON_VALUES, max_size=6)


def outcome(load: Any, element: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "loaded", load(element)
    except ValidationError as exc:
        return "refused", exc.messages


@pytest.mark.parametrize("schema", [_CALLBACK, _SMS_ITEM], ids=["callback", "sms item"])
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_quick_load_matches_marshmallow(schema: _LoadingSchema, data: st.DataObject) -> None:
    element = data.draw(elements(schema))
    assert outcome(schema.load, element) == outcome(schema.schema.load, element)


@pytest.mark.parametrize(
    ("schema", "element"),
    [
        (_CALLBACK, {"callback_id": 7, "account_id": 1, "type": "sms_inbound", "hash": "ab"}),
        (_CALLBACK, {"callback_id": 7, "account_id": 1, "type": "sms_inbound"}),
        (_SMS_ITEM, {"source_number": "1", "destination_number": "2", "sms_body": ""}),
    ],
)
def test_well_typed_elements_load_the_same(schema: _LoadingSchema, element: dict) -> None:
    loaded = schema.load(element)
    assert loaded == schema.schema.load(element)
    assert set(loaded) == set(schema.schema.load_fields)
