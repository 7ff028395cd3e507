"""The Management API methods an SMS responder uses, with typed arguments and results."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from responder.errors import ErrorKind
from responder.secret import Secret
from responder.voximplant.errors import VoximplantApiError
from responder.voximplant.results import (
    A2PSendResult,
    A2PSmsHistoryItem,
    AccountInfo,
    Page,
    PhoneNumber,
    SmsHistoryItem,
    SmsSent,
    parse_a2p_history_item,
    parse_a2p_send,
    parse_account_info,
    parse_page,
    parse_phone_number,
    parse_sms_history_item,
    parse_sms_sent,
)
from responder.voximplant.transport import ApiTransport
from responder.voximplant.wire import as_int

MAX_A2P_DESTINATIONS = 100
MAX_HISTORY_COUNT = 1000
DIRECTIONS = ("in", "out")

T = TypeVar("T")


class VoximplantClient(ApiTransport):
    """Typed Management API calls on top of the signed transport (`call` stays available)."""

    def send_sms_message(
        self, source: str, destination: str, sms_body: str, *, store_body: bool | None = None
    ) -> SmsSent:
        """Send a two-way SMS from our number *source*; raise VoximplantApiError if refused."""
        answer = self.call(
            "SendSmsMessage",
            {
                "source": _number(source),
                "destination": _number(destination),
                "sms_body": sms_body,
                "store_body": store_body,
            },
        )
        _expect_result_one("SendSmsMessage", answer)
        return parse_sms_sent(answer)

    def a2p_send_sms(
        self,
        src_number: str,
        dst_numbers: Sequence[str],
        text: str,
        *,
        store_body: bool | None = None,
    ) -> A2PSendResult:
        """Send one-way SMS from a sender ID to up to 100 numbers; some may fail on their own."""
        if isinstance(dst_numbers, str):
            dst_numbers = [dst_numbers]
        if not 1 <= len(dst_numbers) <= MAX_A2P_DESTINATIONS:
            raise ValueError(
                f"A2PSendSms takes 1 to {MAX_A2P_DESTINATIONS} destinations "
                f"(got {len(dst_numbers)})"
            )
        answer = self.call(
            "A2PSendSms",
            {
                "src_number": src_number,
                "dst_numbers": [_number(n) for n in dst_numbers],
                "text": text,
                "store_body": store_body,
            },
        )
        if "result" not in answer and "failed" not in answer:
            raise VoximplantApiError(
                "answer has neither result nor failed", kind=ErrorKind.UNKNOWN, method="A2PSendSms"
            )
        return parse_a2p_send(answer)

    def control_sms(self, phone_number: str, command: Literal["enable", "disable"]) -> None:
        """Enable or disable SMS (sending and receiving) on one of our numbers."""
        if command not in ("enable", "disable"):
            raise ValueError(f"command must be 'enable' or 'disable' (got {command!r})")
        answer = self.call(
            "ControlSms", {"phone_number": _number(phone_number), "command": command}
        )
        _expect_result_one("ControlSms", answer)

    def get_sms_history(
        self,
        *,
        source_number: str | None = None,
        destination_number: str | None = None,
        direction: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        message_id: Sequence[str | int] | None = None,
        count: int | None = None,
        offset: int | None = None,
    ) -> Page[SmsHistoryItem]:
        """One page (at most 1000 items) of two-way SMS history, filtered as asked."""
        if direction is not None and direction.lower() not in DIRECTIONS:
            raise ValueError(f"direction must be 'in' or 'out' (got {direction!r})")
        answer = self.call(
            "GetSmsHistory",
            {
                "source_number": _optional_number(source_number),
                "destination_number": _optional_number(destination_number),
                "direction": direction.upper() if direction else None,
                "from_date": from_date,
                "to_date": to_date,
                "message_id": list(message_id) if message_id is not None else None,
                "count": _history_count(count),
                "offset": _offset(offset),
            },
        )
        return parse_page(answer, "GetSmsHistory", parse_sms_history_item)

    def a2p_get_sms_history(
        self,
        *,
        source_number: str | None = None,
        destination_number: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        delivery_status: int | None = None,
        count: int | None = None,
        offset: int | None = None,
    ) -> Page[A2PSmsHistoryItem]:
        """One page of A2P SMS history; *delivery_status* is 1 QUEUED … 5 DELIVERED … 8 UNKNOWN."""
        answer = self.call(
            "A2PGetSmsHistory",
            {
                "source_number": source_number,
                "destination_number": _optional_number(destination_number),
                "from_date": from_date,
                "to_date": to_date,
                "delivery_status": delivery_status,
                "count": _history_count(count),
                "offset": _offset(offset),
            },
        )
        return parse_page(answer, "A2PGetSmsHistory", parse_a2p_history_item)

    def get_phone_numbers(
        self,
        *,
        phone_id: int | Sequence[int] | None = None,
        phone_number: str | Sequence[str] | None = None,
        sms_supported: bool | None = None,
        count: int | None = None,
        offset: int | None = None,
    ) -> Page[PhoneNumber]:
        """One page of the numbers attached to the account."""
        if isinstance(phone_number, str):
            phone_number = [phone_number]
        answer = self.call(
            "GetPhoneNumbers",
            {
                "phone_id": _ids(phone_id),
                "phone_number": [_number(n) for n in phone_number] if phone_number else None,
                "sms_supported": sms_supported,
                "count": count,
                "offset": _offset(offset),
            },
        )
        return parse_page(answer, "GetPhoneNumbers", parse_phone_number)

    def iter_phone_numbers(
        self, *, page_size: int = 100, sms_supported: bool | None = None
    ) -> Iterator[PhoneNumber]:
        """Every attached number, fetched page by page."""
        return _walk(
            lambda offset: self.get_phone_numbers(
                sms_supported=sms_supported, count=page_size, offset=offset
            )
        )

    def iter_sms_history(
        self, *, page_size: int = 1000, **filters: Any
    ) -> Iterator[SmsHistoryItem]:
        """Every two-way SMS matching *filters* (as for get_sms_history), page by page."""
        return _walk(lambda offset: self.get_sms_history(count=page_size, offset=offset, **filters))

    def get_account_info(self) -> AccountInfo:
        """The account's settings, callback URL and salt included."""
        answer = self.call("GetAccountInfo", {})
        info = answer.get("result")
        if not isinstance(info, dict):
            raise VoximplantApiError(
                "answer has no account object", kind=ErrorKind.PERMANENT, method="GetAccountInfo"
            )
        return parse_account_info(info)

    def set_account_info(
        self,
        *,
        callback_url: str | None = None,
        callback_salt: str | Secret | None = None,
        store_inbound_sms: bool | None = None,
        store_outbound_sms: bool | None = None,
    ) -> None:
        """Change the account-wide callback URL and salt, or whether SMS texts are kept."""
        if isinstance(callback_salt, str):
            callback_salt = Secret(callback_salt)  # kept out of any error text
        params = {
            "callback_url": callback_url,
            "callback_salt": callback_salt,
            "store_inbound_sms": store_inbound_sms,
            "store_outbound_sms": store_outbound_sms,
        }
        if all(value is None for value in params.values()):
            raise ValueError("set_account_info needs at least one setting to change")
        _expect_result_one("SetAccountInfo", self.call("SetAccountInfo", params))

    def set_phone_number_info(
        self,
        *,
        phone_number: str | Sequence[str] | None = None,
        phone_id: int | Sequence[int] | Literal["all"] | None = None,
        incoming_sms_callback_url: str | None = None,
        auto_charge: bool | None = None,
    ) -> None:
        """Change per-number settings, such as the URL that receives this number's inbound SMS."""
        if (phone_number is None) == (phone_id is None):
            raise ValueError("give exactly one of phone_number and phone_id")
        if incoming_sms_callback_url is None and auto_charge is None:
            raise ValueError("set_phone_number_info needs at least one setting to change")
        if isinstance(phone_number, str):
            phone_number = [phone_number]
        params = {
            "phone_number": [_number(n) for n in phone_number] if phone_number else None,
            "phone_id": phone_id if isinstance(phone_id, str) else _ids(phone_id),
            "incoming_sms_callback_url": incoming_sms_callback_url,
            "auto_charge": auto_charge,
        }
        _expect_result_one("SetPhoneNumberInfo", self.call("SetPhoneNumberInfo", params))


def _expect_result_one(method: str, answer: dict[str, Any]) -> None:
    if as_int(answer.get("result")) != 1:
        # Neither an error nor a success: Voximplant may have acted on the request.
        raise VoximplantApiError(
            f"answer without result 1 (got {answer.get('result')!r})",
            kind=ErrorKind.UNKNOWN,
            method=method,
        )


def _walk(fetch: Callable[[int], Page[T]]) -> Iterator[T]:
    offset = 0
    while True:
        page = fetch(offset)
        yield from page.items
        offset += len(page.items)
        if not page.items or offset >= page.total_count:
            return


def _number(number: str) -> str:
    # Voximplant writes numbers as international digits without '+'.
    return number.strip().lstrip("+")


def _optional_number(number: str | None) -> str | None:
    return None if number is None else _number(number)


def _ids(ids: int | Sequence[int] | None) -> list[int] | None:
    if ids is None:
        return None
    return [ids] if isinstance(ids, int) else list(ids)


def _history_count(count: int | None) -> int | None:
    if count is not None and not 1 <= count <= MAX_HISTORY_COUNT:
        raise ValueError(f"count must be 1 to {MAX_HISTORY_COUNT} (got {count})")
    return count


def _offset(offset: int | None) -> int | None:
    if offset is not None and offset < 0:
        raise ValueError(f"offset must not be negative (got {offset})")
    return offset
