"""Typed results of Management API calls, parsed leniently from the JSON answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from responder.secret import Secret
from responder.voximplant.wire import (
    as_bool,
    as_decimal,
    as_int,
    as_list,
    as_text,
    parse_datetime,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class SmsSent:
    """SendSmsMessage accepted the message; older answers carry no message_id."""

    message_id: str | None
    fragments_count: int | None


@dataclass(frozen=True)
class A2PSent:
    """One destination an A2PSendSms request was accepted for."""

    destination_number: str
    message_id: str | None


@dataclass(frozen=True)
class A2PFailure:
    """One destination an A2PSendSms request was refused for."""

    destination_number: str
    error_code: int | None
    error_description: str


@dataclass(frozen=True)
class A2PSendResult:
    """Per-destination outcome of A2PSendSms."""

    sent: list[A2PSent]
    failed: list[A2PFailure]
    fragments_count: int | None


@dataclass(frozen=True)
class SmsHistoryItem:
    """One two-way SMS from GetSmsHistory; numbers are always strings, direction lower-case."""

    message_id: str | None
    source_number: str | None
    destination_number: str | None
    direction: str | None
    fragments: int | None
    cost: Decimal | None
    status_id: int | None  # 1 success, 2 error, 3 waiting
    error_message: str | None
    processed_at: datetime | None
    transaction_id: str | None
    text: str | None


@dataclass(frozen=True)
class A2PSmsHistoryItem:
    """One A2P SMS from A2PGetSmsHistory; delivery_status is a name such as DELIVERED."""

    message_id: str | None
    source_number: str | None
    destination_number: str | None
    fragments: int | None
    cost: Decimal | None
    status_id: int | None
    error_message: str | None
    processed_at: datetime | None
    transaction_id: str | None
    delivery_status: str | None
    text: str | None


@dataclass(frozen=True)
class PhoneNumber:
    """A number attached to the account, with what matters for SMS."""

    phone_id: int | None
    phone_number: str
    is_sms_supported: bool
    is_sms_enabled: bool
    incoming_sms_callback_url: str | None
    country_code: str | None
    category_name: str | None
    deactivated: bool
    canceled: bool
    purchased_at: datetime | None
    next_renewal: date | None


@dataclass(frozen=True)
class AccountInfo:
    """GetAccountInfo's answer; the salt and API key stay wrapped (api_key only without JWT)."""

    account_id: int | None
    account_name: str | None
    account_email: str | None
    callback_url: str | None
    callback_salt: Secret | None
    api_key: Secret | None
    a2p_sms_enabled: bool | None
    store_inbound_sms: bool | None
    balance: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the size of the whole listing."""

    items: list[T]
    total_count: int


def parse_sms_sent(answer: dict[str, Any]) -> SmsSent:
    return SmsSent(as_text(answer.get("message_id")), as_int(answer.get("fragments_count")))


def parse_a2p_send(answer: dict[str, Any]) -> A2PSendResult:
    sent = [
        # Older answers name the id transaction_id.
        A2PSent(
            as_text(item.get("destination_number")) or "",
            as_text(item.get("message_id")) or as_text(item.get("transaction_id")),
        )
        for item in _objects(answer.get("result"), "A2PSendSms result")
    ]
    failed = [
        A2PFailure(
            as_text(item.get("destination_number")) or "",
            as_int(item.get("error_code")),
            str(item.get("error_description") or item.get("error_message") or ""),
        )
        for item in _objects(answer.get("failed"), "A2PSendSms failed")
    ]
    return A2PSendResult(sent, failed, as_int(answer.get("fragments_count")))


def parse_sms_history_item(item: dict[str, Any]) -> SmsHistoryItem:
    direction = as_text(item.get("direction"))
    return SmsHistoryItem(
        message_id=as_text(item.get("message_id")),
        source_number=as_text(item.get("source_number")),
        destination_number=as_text(item.get("destination_number")),
        direction=direction.lower() if direction else None,
        fragments=as_int(item.get("fragments")),
        cost=as_decimal(item.get("cost")),
        status_id=as_int(item.get("status_id")),
        error_message=as_text(item.get("error_message")),
        processed_at=parse_datetime(item.get("processed_date")),
        transaction_id=as_text(item.get("transaction_id")),
        text=_optional_str(item.get("text")),
    )


def parse_a2p_history_item(item: dict[str, Any]) -> A2PSmsHistoryItem:
    return A2PSmsHistoryItem(
        message_id=as_text(item.get("message_id")),
        source_number=as_text(item.get("source_number")),
        destination_number=as_text(item.get("destination_number")),
        fragments=as_int(item.get("fragments")),
        cost=as_decimal(item.get("cost")),
        status_id=as_int(item.get("status_id")),
        error_message=as_text(item.get("error_message")),
        processed_at=parse_datetime(item.get("processing_date") or item.get("processed_date")),
        transaction_id=as_text(item.get("transaction_id")),
        delivery_status=as_text(item.get("delivery_status")),
        text=_optional_str(item.get("text")),
    )


def parse_phone_number(item: dict[str, Any]) -> PhoneNumber:
    renewal = parse_datetime(item.get("phone_next_renewal"))
    return PhoneNumber(
        phone_id=as_int(item.get("phone_id")),
        phone_number=as_text(item.get("phone_number")) or "",
        is_sms_supported=bool(as_bool(item.get("is_sms_supported"))),
        is_sms_enabled=bool(as_bool(item.get("is_sms_enabled"))),
        incoming_sms_callback_url=as_text(item.get("incoming_sms_callback_url")),
        country_code=as_text(item.get("phone_country_code")),
        category_name=as_text(item.get("category_name")),
        deactivated=bool(as_bool(item.get("deactivated"))),
        canceled=bool(as_bool(item.get("canceled"))),
        purchased_at=parse_datetime(item.get("phone_purchase_date")),
        next_renewal=renewal.date() if renewal else None,
    )


def parse_account_info(info: dict[str, Any]) -> AccountInfo:
    salt = as_text(info.get("callback_salt"))
    api_key = as_text(info.get("api_key"))
    return AccountInfo(
        account_id=as_int(info.get("account_id")),
        account_name=as_text(info.get("account_name")),
        account_email=as_text(info.get("account_email")),
        callback_url=as_text(info.get("callback_url")),
        callback_salt=Secret(salt) if salt else None,
        api_key=Secret(api_key) if api_key else None,
        a2p_sms_enabled=as_bool(info.get("a2p_sms_enabled")),
        store_inbound_sms=as_bool(info.get("store_inbound_sms")),
        balance=as_decimal(info.get("balance")),
        currency=as_text(info.get("currency")),
    )


def parse_page(
    answer: dict[str, Any], what: str, parse_item: Callable[[dict[str, Any]], T]
) -> Page[T]:
    """The items of `result` and `total_count` (the page size when the total is missing)."""
    items = [parse_item(item) for item in _objects(answer.get("result"), what)]
    total = as_int(answer.get("total_count"))
    return Page(items, len(items) if total is None else total)


def _objects(value: object, what: str) -> list[dict[str, Any]]:
    """The JSON objects of a list field; anything else in it is logged and skipped."""
    found = []
    for item in as_list(value):
        if isinstance(item, dict):
            found.append(item)
        else:
            log.warning("%s: skipped an item that is not an object (%s)", what, type(item).__name__)
    return found


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
