"""AlphaSMS reply bodies in every layout seen, and delivery codes mapped to our words."""

from __future__ import annotations

import pytest

from responder.alphasms import DeliveryState, parse_pairs, state_for_code


@pytest.mark.parametrize(
    ("body", "pairs"),
    [
        pytest.param(
            "id:84523377 sms_count:1",
            [("id", "84523377"), ("sms_count", "1")],
            id="docs-one-line",
        ),
        pytest.param("id:2\nsms_count:1\n", [("id", "2"), ("sms_count", "1")], id="lines"),
        pytest.param("id:2\r\nsms_count:1\r\n", [("id", "2"), ("sms_count", "1")], id="crlf"),
        pytest.param("\ufeffbalance:31.5\n", [("balance", "31.5")], id="bom"),
        pytest.param(
            "status:Out of touch code:5 status_time:2011-11-15T15:22:26+0200",
            [
                ("status", "Out of touch"),
                ("code", "5"),
                ("status_time", "2011-11-15T15:22:26+0200"),
            ],
            id="spaces-and-colons-in-values",
        ),
        pytest.param(
            "status:Оператор не поддерживается\ncode:95\nstatus_time:2024/10/12",
            [
                ("status", "Оператор не поддерживается"),
                ("code", "95"),
                ("status_time", "2024/10/12"),
            ],
            id="localised-status",
        ),
        pytest.param(
            "errors:Wrong login/password", [("errors", "Wrong login/password")], id="error"
        ),
        pytest.param(
            "errors:Bad id: 12 errors:Unknown command",
            [("errors", "Bad id: 12"), ("errors", "Unknown command")],
            id="two-errors-one-line",
        ),
        pytest.param(
            "errors:First\nerrors:Second\n",
            [("errors", "First"), ("errors", "Second")],
            id="two-errors-lines",
        ),
        pytest.param("price:1.2 currency:UAH", [("price", "1.2"), ("currency", "UAH")], id="price"),
        pytest.param("ID:7 SMS_COUNT:2", [("id", "7"), ("sms_count", "2")], id="upper-case"),
        pytest.param(
            "note:new field id:9", [("note", "new field"), ("id", "9")], id="unknown-key-first"
        ),
        pytest.param("<html>\n<body>Bad gateway</body>\n", [], id="not-pairs"),
        pytest.param("", [], id="empty"),
    ],
)
def test_reply_layouts_parse_to_the_same_pairs(body: str, pairs: list[tuple[str, str]]) -> None:
    assert parse_pairs(body) == pairs


@pytest.mark.parametrize(
    ("code", "state", "final"),
    [
        (0, DeliveryState.QUEUED, False),
        (1, DeliveryState.QUEUED, False),
        (2, DeliveryState.SENT, False),
        (3, DeliveryState.DELIVERED, True),
        (5, DeliveryState.SENT, False),
        (10, DeliveryState.FAILED, True),
        (50, DeliveryState.FAILED, True),
        (95, DeliveryState.FAILED, True),
        (96, DeliveryState.FAILED, True),
        (99, DeliveryState.FAILED, True),
        (116, DeliveryState.DELIVERED, True),
        (42, DeliveryState.UNKNOWN, False),
        (None, DeliveryState.UNKNOWN, False),
    ],
)
def test_delivery_codes_map_to_our_words(
    code: int | None, state: DeliveryState, final: bool
) -> None:
    assert state_for_code(code) == (state, final)
