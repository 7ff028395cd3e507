"""Import Voximplant's SMS history (two-way and A2P) into threads, a page of 1000 at a time.

Each page and the sync's new offset are stored in one transaction, so a sync stopped at any
point resumes at the first page it had not stored. The window's end is fixed when a sync
starts, so later messages cannot shift the offsets of a resumed one; the next sync picks them
up. Message ids make a repeated import harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from responder.errors import ResponderError
from responder.numbers import callback_number
from responder.services import Services
from responder.store import history as store
from responder.store.history import HistoryMessage, HistorySync
from responder.voximplant.api import MAX_HISTORY_COUNT, VoximplantClient
from responder.voximplant.errors import VoximplantApiError
from responder.voximplant.results import A2PSmsHistoryItem, Page, SmsHistoryItem

TWO_WAY = "GetSmsHistory"
A2P = "A2PGetSmsHistory"
METHODS = (TWO_WAY, A2P)
# A new sync starts this long before the last one ended: messages can be listed late.
OVERLAP = timedelta(hours=1)
_A2P_FAILED = ("ABORTED", "REJECTED", "FAILED", "EXPIRED")


class HistorySyncError(ResponderError):
    """A sync that had to stop; what it stored so far stays, and a rerun resumes."""


@dataclass
class SyncReport:
    """One method's sync: how much it saw and stored."""

    method: str
    total: int = 0
    imported: int = 0
    skipped: int = 0
    resumed_at: int = 0


def begin_sync(services: Services, method: str, since: datetime | None) -> tuple[HistorySync, bool]:
    """The sync to run: an unfinished one for the same window, else a new one; True if resumed."""
    now = services.clock()
    with services.engine.begin() as conn:
        unfinished = store.find_unfinished_sync(conn, method)
        if unfinished is not None and (since is None or since == unfinished.from_date):
            return unfinished, True
        if since is None:
            last = store.find_last_finished_sync(conn, method)
            since = last.to_date - OVERLAP if last is not None else None
        return store.start_sync(conn, method, since, now, now), False


def run_sync(
    services: Services,
    client: VoximplantClient,
    sync: HistorySync,
    *,
    page_size: int = MAX_HISTORY_COUNT,
    on_page: Callable[[int, int], None] = lambda done, total: None,
) -> SyncReport:
    """Fetch and store every page from the sync's offset on; *on_page* gets (items, total)."""
    report = SyncReport(sync.method, total=sync.total or 0, resumed_at=sync.next_offset)
    offset = sync.next_offset
    while True:
        try:
            page = _fetch(client, sync, page_size, offset)
        except VoximplantApiError as exc:
            raise HistorySyncError(
                f"{sync.method} stopped at offset {offset}: {exc}; "
                "the pages before it are stored, run the command again to resume"
            ) from None
        now = services.clock()
        imported = skipped = 0
        thread_ids: dict[tuple[str, str], int] = {}
        with services.engine.begin() as conn:
            for item in page.items:
                message = _to_message(sync.method, item)
                if message is None or not store.import_message(
                    conn, message, now, thread_ids=thread_ids
                ):
                    skipped += 1
                else:
                    imported += 1
            offset += len(page.items)
            done = not page.items or offset >= page.total_count
            store.save_progress(
                conn,
                sync.id,
                next_offset=offset,
                total=page.total_count,
                imported=imported,
                skipped=skipped,
                finished_at=now if done else None,
            )
        report.total = page.total_count
        report.imported += imported
        report.skipped += skipped
        on_page(len(page.items), page.total_count)
        if done:
            return report


def _fetch(
    client: VoximplantClient, sync: HistorySync, count: int, offset: int
) -> Page[SmsHistoryItem] | Page[A2PSmsHistoryItem]:
    window: dict[str, Any] = {"from_date": sync.from_date, "to_date": sync.to_date}
    if sync.method == TWO_WAY:
        return client.get_sms_history(count=count, offset=offset, **window)
    return client.a2p_get_sms_history(count=count, offset=offset, **window)


def _to_message(method: str, item: SmsHistoryItem | A2PSmsHistoryItem) -> HistoryMessage | None:
    """Our form of a history item; None for one without the ids and numbers a thread needs."""
    if not (item.message_id and item.source_number and item.destination_number):
        return None
    at = item.processed_at
    if at is None:
        return None
    source = callback_number(item.source_number)
    destination = callback_number(item.destination_number)
    if isinstance(item, A2PSmsHistoryItem):
        status = _a2p_status(item)
        return HistoryMessage(
            provider="voximplant-a2p",
            provider_message_id=item.message_id,
            direction="out",
            our_number=item.source_number,  # a sender ID, kept as given
            their_number=destination,
            text=item.text,
            status=status,
            at=at,
            fragments=item.fragments,
            error_text=item.error_message,
        )
    inbound = item.direction == "in"
    return HistoryMessage(
        provider="voximplant",
        provider_message_id=item.message_id,
        direction="in" if inbound else "out",
        our_number=destination if inbound else source,
        their_number=source if inbound else destination,
        text=item.text,
        status="received" if inbound else ("failed" if item.status_id == 2 else "sent"),
        at=at,
        fragments=item.fragments,
        error_text=item.error_message,
    )


def _a2p_status(item: A2PSmsHistoryItem) -> str:
    delivery = (item.delivery_status or "").upper()
    if delivery == "DELIVERED":
        return "delivered"
    if delivery in _A2P_FAILED or item.status_id == 2:
        return "failed"
    return "sent"
