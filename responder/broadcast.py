"""One-way broadcasts with A2PSendSms: read the list, filter, send in chunks, resume safely.

A chunk's recipients are marked `sending` (committed) before the request goes out, and get
their result after it. A run that stops in between leaves them `sending`; the next run looks
them up in A2PGetSmsHistory and records what it finds. Those it cannot find become `unknown`
and are never sent again automatically: a second copy is worse than a missing one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from responder.compliance.optout import is_opted_out
from responder.compliance.quiet import hold_until
from responder.errors import InvalidNumberError, ResponderError
from responder.numbers import digits_only, normalise_number
from responder.services import Services
from responder.sms.segments import SegmentCount, count_segments
from responder.store import broadcasts as store
from responder.store.broadcasts import Broadcast
from responder.store.threads import append_message, get_or_create_thread
from responder.voximplant.api import MAX_A2P_DESTINATIONS, VoximplantClient
from responder.voximplant.errors import VoximplantApiError
from responder.voximplant.results import A2PSendResult

PROVIDER = "voximplant-a2p"
MAX_TEXT_CHARS = 1600
# How far before a chunk's request its messages may show up in the history (clock skew).
HISTORY_SLACK = timedelta(minutes=5)
# A chunk left `sending` this long ago is no longer waited on by any run (it was killed).
MIN_STALE = timedelta(minutes=1)


_PHONE_LIKE = re.compile(r"\+?[\d\s().-]+")


class BroadcastError(ResponderError):
    """A broadcast that cannot start or had to stop; str() says what to do."""


@dataclass
class Recipients:
    """The destinations of a list file: valid unique numbers in order, and what was dropped."""

    numbers: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    duplicates: int = 0


def read_recipients(lines: Iterable[str]) -> Recipients:
    """One number per line (first field of a CSV line); blank lines and # comments skipped."""
    found = Recipients()
    seen: set[str] = set()
    for raw in lines:
        entry = raw.split(",", 1)[0].split(";", 1)[0].strip().strip('"')
        if not entry or entry.startswith("#"):
            continue
        try:
            number = normalise_number(entry)
        except InvalidNumberError:
            found.invalid.append(entry)
            continue
        if number in seen:
            found.duplicates += 1
            continue
        seen.add(number)
        found.numbers.append(number)
    return found


def normalise_sender(sender: str) -> str:
    """A sender ID as given, or a phone number as digits (as the threads of our numbers hold it)."""
    text = sender.strip()
    if _PHONE_LIKE.fullmatch(text) and digits_only(text):
        return digits_only(text)
    return text


def check_message(sender: str, text: str) -> SegmentCount:
    """The text's segment count; BroadcastError for a text or sender A2PSendSms refuses."""
    if not sender.strip() or len(sender) > 32:
        raise BroadcastError("--from must be the sender ID (1 to 32 characters)")
    if not text.strip():
        raise BroadcastError("the message text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise BroadcastError(
            f"A2PSendSms takes at most {MAX_TEXT_CHARS} characters (the text has {len(text)})"
        )
    return count_segments(text)


def broadcast_key(sender: str, text: str, numbers: Sequence[str]) -> str:
    """The same sender, text and list give the same key, whatever the list's order."""
    digest = hashlib.sha256()
    for part in (sender, text, *sorted(numbers)):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def opted_out(conn: Connection, services: Services, sender: str, number: str) -> bool:
    """True when *number* opted out of the sender or of any of our configured numbers."""
    return any(is_opted_out(conn, ours, number) for ours in (sender, *services.config.our_numbers))


@dataclass
class RunReport:
    """What a run did, for the summary line."""

    reconciled_sent: int = 0
    reconciled_unknown: int = 0
    opted_out: int = 0
    held: int = 0
    held_until: datetime | None = None  # when the last quiet window among them ends
    sent: int = 0
    failed: int = 0
    unknown: int = 0


class BroadcastRun:
    """Sends one stored broadcast; `run` may be called again after an interruption."""

    def __init__(
        self,
        services: Services,
        client: VoximplantClient,
        broadcast: Broadcast,
        *,
        chunk_size: int = MAX_A2P_DESTINATIONS,
        progress: Callable[[int], None] = lambda n: None,
    ) -> None:
        if not 1 <= chunk_size <= MAX_A2P_DESTINATIONS:
            raise ValueError(f"chunk_size must be 1 to {MAX_A2P_DESTINATIONS}")
        self.services = services
        self.client = client
        self.broadcast = broadcast
        self.chunk_size = chunk_size
        self.progress = progress
        self.count = count_segments(broadcast.text)
        self.report = RunReport()

    def run(self) -> RunReport:
        """Reconcile an interrupted chunk, drop opted-out recipients, hold those in their quiet
        hours, then send the rest; the broadcast is finished when nobody is left waiting."""
        self.reconcile()
        self.drop_opted_out()
        self.hold_quiet()
        engine = self.services.engine
        while True:
            with engine.begin() as conn:
                chunk = store.next_pending(conn, self.broadcast.id, self.chunk_size)
                if not chunk:
                    if not self.report.held:
                        store.finish(conn, self.broadcast.id, self.services.clock())
                    return self.report
                if not store.claim_chunk(conn, self.broadcast.id, chunk, self._now()):
                    # Raised inside the transaction, so the partial claim is rolled back.
                    raise BroadcastError(
                        "another run of this broadcast is sending right now; let it finish"
                    )
            self._send_chunk(chunk)

    def reconcile(self) -> None:
        """Settle recipients left `sending` by an interrupted run, from the A2P history."""
        with self.services.engine.begin() as conn:
            flight = store.in_flight(conn, self.broadcast.id)
        if not flight:
            return
        now = self._now()
        stale = max(MIN_STALE, timedelta(seconds=4 * self.services.config.send_timeout_s))
        recent = [
            f.sending_at
            for f in flight
            if f.status == store.SENDING and f.sending_at is not None and now - f.sending_at < stale
        ]
        if recent:
            after = max(recent) + stale
            raise BroadcastError(
                "another run of this broadcast may be waiting for Voximplant's answer right now; "
                f"if it was stopped, run the same command again after {after:%H:%M:%S} UTC"
            )
        times = [f.sending_at for f in flight if f.sending_at is not None]
        since = (min(times) if times else self.broadcast.created_at) - HISTORY_SLACK
        found: dict[str, str | None] = {}
        offset = 0
        try:
            while True:
                page = self.client.a2p_get_sms_history(
                    source_number=self.broadcast.sender, from_date=since, count=1000, offset=offset
                )
                for item in page.items:
                    if item.destination_number:
                        found[digits_only(item.destination_number)] = item.message_id
                offset += len(page.items)
                if not page.items or offset >= page.total_count:
                    break
        except VoximplantApiError as exc:
            raise BroadcastError(
                f"cannot check which messages of the interrupted chunk went out: {exc}; "
                "nothing was sent, run the command again later"
            ) from None
        now = self._now()
        with self.services.engine.begin() as conn:
            for number in (f.their_number for f in flight):
                if number in found:
                    self._record(conn, number, "sent", now, provider_message_id=found[number])
                    self.report.reconciled_sent += 1
                else:
                    self._mark_unknown(
                        conn, number, now, "interrupted while sending; not in the A2P history"
                    )
                    self.report.reconciled_unknown += 1
        self.progress(len(flight))

    def hold_quiet(self) -> None:
        """Recipients in their quiet hours wait for a later run (pending again then)."""
        quiet = self.services.config.compliance.quiet
        now = self._now()
        held: list[str] = []
        with self.services.engine.begin() as conn:
            store.release_held(conn, self.broadcast.id, now)
            for number in store.next_pending(conn, self.broadcast.id, self.broadcast.recipients):
                until = hold_until(number, "broadcast", now, quiet)
                if until is not None:
                    held.append(number)
                    latest = self.report.held_until
                    self.report.held_until = until if latest is None else max(latest, until)
            if held:
                store.set_status(conn, self.broadcast.id, held, store.HELD, now)
        self.report.held = len(held)

    def drop_opted_out(self) -> None:
        with self.services.engine.begin() as conn:
            pending = store.next_pending(conn, self.broadcast.id, self.broadcast.recipients)
            out = [n for n in pending if opted_out(conn, self.services, self.broadcast.sender, n)]
            if out:
                store.set_status(conn, self.broadcast.id, out, store.OPTED_OUT, self._now())
        self.report.opted_out = len(out)
        self.progress(len(out))

    def _send_chunk(self, chunk: list[str]) -> None:
        try:
            result = self.client.a2p_send_sms(self.broadcast.sender, chunk, self.broadcast.text)
        except VoximplantApiError as exc:
            # Voximplant answered with a refusal: nothing was sent, so the chunk can wait.
            # No answer at all: the chunk may have gone out, and the next run looks it up.
            refused = exc.code is not None
            status = store.PENDING if refused else store.INTERRUPTED
            with self.services.engine.begin() as conn:
                store.set_status(conn, self.broadcast.id, chunk, status, self._now())
            if refused:
                raise BroadcastError(
                    f"Voximplant refused the chunk: {exc}; fix that and run the same command "
                    "again to resume"
                ) from None
            raise BroadcastError(
                f"interrupted: {exc}; the chunk may have been sent. Run the same command again: "
                "it checks the A2P history first and sends nobody a second copy"
            ) from None
        self._record_result(chunk, result)
        self.progress(len(chunk))

    def _record_result(self, chunk: list[str], result: A2PSendResult) -> None:
        sent = {digits_only(s.destination_number): s.message_id for s in result.sent}
        failed = {digits_only(f.destination_number): f for f in result.failed}
        now = self._now()
        with self.services.engine.begin() as conn:
            for number in chunk:
                if number in sent:
                    self._record(
                        conn,
                        number,
                        "sent",
                        now,
                        provider_message_id=sent[number],
                        fragments=result.fragments_count,
                    )
                    self.report.sent += 1
                elif number in failed:
                    failure = failed[number]
                    code = None if failure.error_code is None else str(failure.error_code)
                    self._record(
                        conn,
                        number,
                        "failed",
                        now,
                        error_code=code,
                        error_text=failure.error_description or "refused by Voximplant",
                    )
                    self.report.failed += 1
                else:
                    self._mark_unknown(conn, number, now, "not in Voximplant's answer")
                    self.report.unknown += 1

    def _record(
        self, conn: Connection, number: str, status: str, now: datetime, **values: object
    ) -> None:
        """The result in the recipient's thread and on the broadcast, in one transaction."""
        thread = get_or_create_thread(conn, self.broadcast.sender, number, now)
        message_id = append_message(
            conn,
            thread,
            now,
            direction="out",
            kind="broadcast",
            text=self.broadcast.text,
            status=status,
            provider=PROVIDER,
            encoding=self.count.encoding,
            segments=self.count.segments,
            attempts=1,
            **values,
        )
        store.set_status(
            conn,
            self.broadcast.id,
            [number],
            store.SENT if status == "sent" else store.FAILED,
            now,
            message_id=message_id,
            provider_message_id=values.get("provider_message_id"),
            error_code=values.get("error_code"),
            error_text=values.get("error_text"),
        )

    def _mark_unknown(self, conn: Connection, number: str, now: datetime, why: str) -> None:
        """No proof either way that *number* got the text: it is never sent again by itself."""
        store.set_status(conn, self.broadcast.id, [number], store.UNKNOWN, now, error_text=why)

    def _now(self) -> datetime:
        return self.services.clock()
