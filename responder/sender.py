"""The sender loop: claim due outbox rows -> provider.send -> record sent, retry or failed."""

from __future__ import annotations

import atexit
import logging
import os
import random
import socket
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from responder.compliance.sendtime import withhold_at_send
from responder.errors import ErrorKind, ProviderError
from responder.inbox import InboxLoop
from responder.providers.base import OutboundSms, SendResult, SmsProvider
from responder.request_ids import bound_request_id
from responder.services import Services
from responder.store.db import reading
from responder.store.outbox import (
    CHANNEL,
    Claim,
    claim_due,
    has_due,
    mark_failed,
    mark_retry,
    mark_sent,
    next_due,
    release,
)
from responder.store.pacing import (
    STATUS_POLL,
    find_pause,
    pause_all,
    reserve_slot,
    take_turn,
)
from responder.store.tables import messages
from responder.webhooks import WEBHOOK, WebhookPoster

log = logging.getLogger(__name__)

# Without a wake-up, look for due rows this often: rows queued by another process on SQLite
# (PostgreSQL senders LISTEN instead), a LISTEN connection that is down, a clock that jumped.
IDLE_POLL_S = 0.5
LISTEN_IDLE_POLL_S = 5.0
# On SQLite, the inbox is read this often for callbacks answered by another process: a read
# of an empty table costs little, and a reply waits for it.
INBOX_POLL_S = 0.02
# Wait for a per-number send slot at most this long while holding the claim; later slots
# put the message back in the queue, due at its slot.
MAX_SLOT_WAIT_S = 5.0
# Pauses of all sending: rate limits start short, missing money long; both double in a row.
RATE_LIMIT_PAUSE_S = (1.0, 60.0)
FUNDS_PAUSE_MAX_S = 900.0
# After an unanswered request, wait at least this many send timeouts before looking in the
# provider's history and sending again.
UNCERTAIN_WAIT_TIMEOUTS = 3
# The gateway's clock and ours differ a little: look this far back in its history.
HISTORY_SLACK = timedelta(minutes=2)
# AlphaSMS answers delivery codes one message per request: ask about this many per poll, so a
# poll never holds up sending for long, and about messages sent within this time only.
ALPHASMS_POLL_BATCH = 50
STATUS_LOOK_BACK = timedelta(days=3)


class Sender:
    """Sends queued messages until stopped; any number of Senders may share one database."""

    def __init__(
        self, services: Services, *, name: str | None = None, idle_poll_s: float | None = None
    ) -> None:
        self.services = services
        self.idle_poll_s = idle_poll_s
        self.owner = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        # Longer than everything one send may take: compliance check, history check, and the
        # send itself twice (a refused token is renewed and the request repeated once).
        config = services.config
        self.lease_s = config.lease_s
        self.concurrency = config.send_concurrency
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self._paused_until: datetime | None = None
        self._next_status_poll = 0.0
        self._alphasms_after = 0  # where the next AlphaSMS status poll goes on from
        self.webhooks = WebhookPoster()

    def start(self) -> None:
        """Run the loop in a daemon thread of this process; stopped cleanly when it exits."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self.run, name="responder-sender", daemon=True)
            self._thread.start()
            # gunicorn ends a worker with sys.exit: finish the send in flight before that.
            atexit.register(self.stop)

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask the loop to stop after the sends in flight, and wait for it."""
        self._stop.set()
        self._wake_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Send until stopped; returns after the sends in flight, with unsent claims handed back."""
        log.info("sender %s started with provider %s", self.owner, self.services.provider.name)
        listening = self._listen()
        inbox = None
        if self.services.config.intake_mode == "queue":
            # Queued callbacks are processed beside the sends, so replies never wait for them.
            poll = LISTEN_IDLE_POLL_S if listening else INBOX_POLL_S
            inbox = InboxLoop(self.services, self._stop, self.idle_poll_s or poll)
            inbox.start()
        while not self._stop.is_set():
            try:
                worked = self.run_once()
                self._poll_status()
            except Exception:  # the loop must survive a database hiccup
                log.exception("sender loop error; retrying shortly")
                worked = 0
            if not worked:
                default = LISTEN_IDLE_POLL_S if listening else IDLE_POLL_S
                self._wait(self.idle_poll_s or default)
        if inbox is not None:
            inbox.join(timeout=None)
        log.info("sender %s stopped", self.owner)

    def _wake_all(self) -> None:
        self.services.wakeup.set()
        self.services.inbox_wakeup.set()

    def run_once(self, limit: int = 10) -> int:
        """Claim and send what is due now; return how many messages were handled."""
        services = self.services
        now = services.clock()
        pause = find_pause(services.engine, now)
        if pause is not None:
            self._paused_until = pause.until
            return 0
        self._paused_until = None
        if not has_due(services.engine, now):
            return 0  # a read: on SQLite an idle sender never takes the write lock
        claims = claim_due(services.engine, self.owner, now, lease_s=self.lease_s, limit=limit)
        self._send_lanes(_lanes(claims))
        return len(claims)

    def _send_lanes(self, lanes: list[list[Claim]]) -> None:
        """Send up to RESPONDER_SEND_CONCURRENCY lanes at once; return when all are done.

        This thread sends too; the others are started per batch and joined before returning,
        so a stopping sender still finishes every send in flight.
        """
        width = min(self.concurrency, len(lanes))
        if width <= 1:
            for lane in lanes:
                self._send_lane(lane)
            return
        pending = iter(lanes)
        taking = threading.Lock()
        errors: list[Exception] = []

        def work() -> None:
            while True:
                with taking:
                    lane = next(pending, None)
                if lane is None:
                    return
                try:
                    self._send_lane(lane)
                except Exception as exc:  # handing back failed: raised below, after the rest
                    errors.append(exc)

        helpers = [
            threading.Thread(target=work, name="responder-send", daemon=True)
            for _ in range(width - 1)
        ]
        for helper in helpers:
            helper.start()
        work()
        for helper in helpers:
            helper.join()
        if errors:
            raise errors[0]

    def _send_lane(self, claims: list[Claim]) -> None:
        """Send claims one after another, handing back the rest once stopping or paused."""
        services = self.services
        for index, claim in enumerate(claims):
            if self._stop.is_set() or self._paused_until is not None:
                release(
                    services.engine,
                    claims[index:],
                    services.clock(),
                    due_at=self._paused_until,
                    reason="handed back unsent: "
                    + ("the sender stopped" if self._stop.is_set() else "sending is paused"),
                )
                return
            try:
                with bound_request_id(claim.request_id):
                    self.send_one(claim)
            except Exception:
                # The lease runs out and another sender takes the message back.
                log.exception("unexpected error sending message %s", claim.message_id)

    def send_one(self, claim: Claim) -> None:
        """Send one claimed message and record the outcome; never raises a ProviderError."""
        services = self.services
        now = services.clock()
        config = services.config
        if now - claim.created_at > timedelta(seconds=config.max_age_s):
            self._give_up(claim, "too_old", f"not sent within {config.max_age_s:g} s")
            return
        if withhold_at_send(services, claim):  # opted out since it was queued, or quiet hours
            return
        sms = OutboundSms(claim.outbox_id, claim.our_number, claim.their_number, claim.text)
        # A webhook row goes through the same claim, retry and failure steps as an SMS.
        provider = self.webhooks if claim.kind == WEBHOOK else services.provider
        if claim.uncertain_since is not None and self._sent_already(claim, sms, provider):
            return
        if config.rate_limit > 0 and claim.kind != WEBHOOK and not self._wait_for_slot(claim):
            return
        started = time.monotonic()
        try:
            result = provider.send(sms)
        except ProviderError as exc:
            services.metrics.observe_send(provider.name, time.monotonic() - started, accepted=False)
            self._record_failure(claim, exc, provider)
            return
        # The one window no protocol closes: the provider has accepted the message and this
        # process dies before the next statement commits. See docs/delivery.md.
        services.metrics.observe_send(provider.name, time.monotonic() - started, accepted=True)
        self._record_sent(claim, result, result.provider or provider.name)

    def _record_sent(self, claim: Claim, result: SendResult, provider: str, note: str = "") -> None:
        services = self.services
        note = note or result.detail or ""
        held = mark_sent(
            services.engine,
            claim,
            services.clock(),
            provider=provider,
            provider_message_id=result.provider_message_id,
            fragments=result.fragments,
            detail=note or None,
            keep_text=services.config.store_bodies,
            clear_strikes=claim.strikes > 0,  # none known when claimed: no write for them
        )
        if not held:
            log.warning(
                "message %s: the lease ran out during the send; another sender may send it too "
                "(raise RESPONDER_SEND_TIMEOUT's margin or look for a stalled process)",
                claim.message_id,
            )
        services.metrics.observe_reply(claim.kind, "sent", claim.created_at, services.clock())
        log.info(
            "message %s sent to %s via %s%s",
            claim.message_id,
            claim.their_number,
            provider,
            f" ({note})" if note else "",
        )

    def _sent_already(self, claim: Claim, sms: OutboundSms, provider: SmsProvider) -> bool:
        """After an attempt whose outcome we never saw, look in the provider's history first."""
        services = self.services
        lookup = _history_of(provider, sms)
        if lookup is None or claim.uncertain_since is None:
            return False  # nothing to ask: send again (at least once)
        since = claim.uncertain_since - HISTORY_SLACK
        try:
            found = lookup(sms, since)
        except ProviderError as exc:
            # Sending blind could deliver it twice: try again later, still uncertain.
            self._retry(claim, exc, count_attempt=False, uncertain_since=claim.uncertain_since)
            return True
        if not found:
            return False
        with reading(services.engine) as conn:
            known = {
                str(i)
                for i in conn.execute(
                    messages.select()
                    .with_only_columns(messages.c.provider_message_id)
                    .where(
                        messages.c.provider_message_id.in_([r.provider_message_id for r in found])
                    )
                ).scalars()
            }
        for result in found:
            if result.provider_message_id is None or result.provider_message_id not in known:
                self._record_sent(
                    claim,
                    result,
                    getattr(provider, "name", "provider"),
                    note="found in the provider's history after an attempt with no answer",
                )
                return True
        return False

    def _wait_for_slot(self, claim: Claim) -> bool:
        """Keep to RESPONDER_RATE_LIMIT for our number; False when the claim was handed back."""
        services = self.services
        now = services.clock()
        slot = reserve_slot(
            services.engine, claim.our_number, now, 1.0 / services.config.rate_limit
        )
        wait = (slot - now).total_seconds()
        if wait > MAX_SLOT_WAIT_S:
            release(services.engine, [claim], now, due_at=slot, reason="paced: rate limit")
            return False
        if wait > 0 and self._stop.wait(wait):
            release(services.engine, [claim], services.clock(), reason="the sender stopped")
            return False
        return True

    def _record_failure(self, claim: Claim, exc: ProviderError, provider: SmsProvider) -> None:
        config = self.services.config
        code = None if exc.code is None else str(exc.code)
        attempt = claim.attempts + 1
        uncertain = _maybe_processed(exc)
        sms = OutboundSms(claim.outbox_id, claim.our_number, claim.their_number, claim.text)
        can_look = _history_of(provider, sms) is not None
        if exc.kind is ErrorKind.FUNDS:
            self._hold_all(claim, exc)
            return
        if exc.kind is ErrorKind.RATE_LIMITED:
            self._slow_down(claim, exc)
            return
        if exc.kind is ErrorKind.TOKEN:
            # Refused even after the client signed a fresh one: sign anew for the next try too.
            _invalidate_token(provider, sms)
        if exc.kind is ErrorKind.UNKNOWN and not can_look:
            # The request may have reached the gateway and we cannot ask: never send twice.
            self._give_up(claim, "unknown", exc.message, code)
        elif not exc.retryable and exc.kind is not ErrorKind.UNKNOWN:
            self._give_up(claim, "rejected_by_provider", exc.message, code)
        elif attempt >= config.max_attempts:
            self._give_up(claim, "retry_limit", exc.message, code)
        else:
            if not uncertain:
                self._retry(claim, exc)
                return
            # Give a request that went unanswered time to show in the provider's history:
            # a gateway may still act on it after we stopped waiting.
            delay = max(
                self.retry_delay(attempt, exc), UNCERTAIN_WAIT_TIMEOUTS * config.send_timeout_s
            )
            since = claim.claimed_at or self.services.clock()
            self._retry(claim, exc, uncertain_since=since, delay_s=delay)
            return
        log.warning("message %s: %s (%s)", claim.message_id, exc, exc.kind.value)

    def _retry(
        self,
        claim: Claim,
        exc: ProviderError,
        *,
        count_attempt: bool = True,
        uncertain_since: datetime | None = None,
        delay_s: float | None = None,
    ) -> None:
        services = self.services
        now = services.clock()
        attempt = claim.attempts + (1 if count_attempt else 0)
        delay = delay_s if delay_s is not None else self.retry_delay(max(attempt, 1), exc)
        due_at = now + timedelta(seconds=delay)
        code = None if exc.code is None else str(exc.code)
        if due_at - claim.created_at > timedelta(seconds=services.config.max_age_s):
            self._give_up(claim, "too_old", f"would be older than RESPONDER_MAX_AGE: {exc}", code)
            return
        mark_retry(
            services.engine,
            claim,
            now,
            due_at=due_at,
            error_code=code,
            error_text=exc.message,
            count_attempt=count_attempt,
            uncertain_since=uncertain_since,
        )
        services.metrics.observe_reply(claim.kind, "errored")
        log.warning(
            "message %s: %s (%s); retry in %.1f s", claim.message_id, exc, exc.kind.value, delay
        )

    def _give_up(self, claim: Claim, reason: str, text: str, code: str | None = None) -> None:
        services = self.services
        mark_failed(
            services.engine,
            claim,
            services.clock(),
            reason=reason,
            error_code=code,
            error_text=text,
            attempted=reason not in ("too_old",),
            keep_text=services.config.store_bodies,
        )
        services.metrics.observe_reply(claim.kind, "failed")

    def _slow_down(self, claim: Claim, exc: ProviderError) -> None:
        """A rate limit (340, HTTP 429): every sender pauses, longer each time in a row."""
        services = self.services
        base, most = RATE_LIMIT_PAUSE_S
        pause = pause_all(
            services.engine,
            services.clock(),
            f"rate limited: {exc}",
            base_s=base,
            max_s=most,
            at_least_s=exc.retry_after or 0.0,
        )
        self._paused_until = pause.until
        delay = (pause.until - services.clock()).total_seconds()
        self._retry(claim, exc, count_attempt=False, delay_s=max(delay, 0.0))
        log.warning(
            "rate limited (%s): all sending paused for %.1f s (%d in a row)",
            exc,
            delay,
            pause.strikes,
        )

    def _hold_all(self, claim: Claim, exc: ProviderError) -> None:
        """No money (127): hold the whole queue, probe again later, and raise the alarm."""
        services = self.services
        pause = pause_all(
            services.engine,
            services.clock(),
            f"insufficient funds: {exc}",
            base_s=services.config.funds_hold_s,
            max_s=max(FUNDS_PAUSE_MAX_S, services.config.funds_hold_s),
        )
        self._paused_until = pause.until
        delay = (pause.until - services.clock()).total_seconds()
        self._retry(claim, exc, count_attempt=False, delay_s=max(delay, 0.0))
        services.metrics.alert("insufficient_funds")
        log.error(
            "ALERT insufficient funds (%s): the outbox is held until %s; top up the account, "
            "sending resumes by itself",
            exc,
            pause.until.isoformat(timespec="seconds"),
        )

    def retry_delay(self, attempt: int, exc: ProviderError) -> float:
        """Backoff with jitter; the provider's own hint wins when it gives one."""
        delays = self.services.config.retry_delays_s
        base = delays[min(attempt - 1, len(delays) - 1)]
        if exc.retry_after is not None:
            base = max(base, exc.retry_after)
        return base * (0.8 + 0.4 * self._rng.random())

    # -- waiting ------------------------------------------------------------------------------

    def _wait(self, longest: float) -> None:
        """Sleep until woken, the next row is due, a pause ends, or *longest* seconds pass."""
        services = self.services
        now = services.clock()
        until = self._paused_until
        if until is None:
            try:
                until = next_due(services.engine)
            except Exception:
                log.exception("cannot read the outbox; retrying shortly")
        timeout = longest
        if until is not None:
            timeout = min(longest, max((until - now).total_seconds(), 0.01))
        services.wakeup.wait(timeout)
        services.wakeup.clear()

    def _listen(self) -> bool:
        """On PostgreSQL, wake on NOTIFY from any process that queues a message."""
        engine = self.services.engine
        if engine.dialect.name != "postgresql":
            return False
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._listener = threading.Thread(
            target=self._listen_loop, args=(url,), name="responder-listen", daemon=True
        )
        self._listener.start()
        return True

    def _listen_loop(self, url: str) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._wake_all()  # anything queued while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._wake_all()
            except psycopg.Error as exc:
                log.warning("LISTEN %s failed (%s); polling until it is back", CHANNEL, exc)
                self._stop.wait(5.0)

    # -- delivery states ----------------------------------------------------------------------

    def _poll_status(self) -> None:
        """Every RESPONDER_STATUS_POLL seconds, one sender of all asks for delivery states."""
        services = self.services
        every = services.config.status_poll_s
        if every <= 0 or time.monotonic() < self._next_status_poll:
            return
        self._next_status_poll = time.monotonic() + every
        voximplant = _client_of(services.provider, "voximplant")
        alphasms = _client_of(services.provider, "alphasms")
        if voximplant is None and alphasms is None:
            return
        if not take_turn(services.engine, STATUS_POLL, services.clock(), every):
            return
        if voximplant is not None:
            from responder.voximplant.delivery import poll_delivery

            try:
                report = poll_delivery(services.engine, voximplant, services.clock())
            except ProviderError as exc:
                log.warning("delivery status poll failed: %s", exc)
            else:
                _log_poll("voximplant", report.checked, report.delivered, report.failed)
        if alphasms is not None:
            self._poll_alphasms(alphasms)

    def _poll_alphasms(self, client: Any) -> None:
        """One receive request per message: ask about a bounded batch, the next one next turn."""
        from responder.alphasms.delivery import poll_delivery

        services = self.services
        try:
            report = poll_delivery(
                services.engine,
                client,
                services.clock,
                limit=ALPHASMS_POLL_BATCH,
                after_id=self._alphasms_after,
                sent_since=services.clock() - STATUS_LOOK_BACK,
            )
        except ProviderError as exc:
            log.warning("AlphaSMS delivery status poll failed: %s", exc)
            return
        # A short batch reached the newest message: start again from the oldest next turn.
        self._alphasms_after = report.last_id if report.checked >= ALPHASMS_POLL_BATCH else 0
        _log_poll("alphasms", report.checked, report.delivered, report.failed)


def _lanes(claims: list[Claim]) -> list[list[Claim]]:
    """The claims grouped by conversation, in claim order: one person's messages stay in order."""
    lanes: dict[tuple[str, str], list[Claim]] = {}
    for claim in claims:
        lanes.setdefault((claim.our_number, claim.their_number), []).append(claim)
    return list(lanes.values())


def _log_poll(provider: str, checked: int, delivered: int, failed: int) -> None:
    if delivered or failed:
        log.info(
            "delivery status via %s: %d checked, %d delivered, %d failed",
            provider,
            checked,
            delivered,
            failed,
        )


def _maybe_processed(exc: ProviderError) -> bool:
    """Could the provider have acted on the request although we saw a failure?"""
    if exc.kind is ErrorKind.UNKNOWN or exc.code == 484:  # 484: "looks like a resend"
        return True
    # No answer at all (timeout, dropped connection) or a proxy's gateway error.
    return exc.kind is ErrorKind.TRANSIENT and exc.code is None and exc.status in (None, 502, 504)


def _history_of(provider: SmsProvider, sms: OutboundSms) -> Any:
    """The `sent_since(sms, since)` of the provider that sends *sms*, if it can list its sends."""
    router = getattr(provider, "router", None)
    if router is not None:
        provider = router.for_message(sms)
    return getattr(provider, "sent_since", None)


def _client_of(provider: SmsProvider, name: str) -> Any:
    """The client of provider *name* behind *provider* (routed or not), for status polling."""
    router = getattr(provider, "router", None)
    if router is not None:
        provider = router.providers.get(name, provider)
    return getattr(provider, "client", None) if provider.name == name else None


def _invalidate_token(provider: SmsProvider, sms: OutboundSms) -> None:
    router = getattr(provider, "router", None)
    if router is not None:
        provider = router.for_message(sms)
    client = getattr(provider, "client", None)
    if client is not None and hasattr(client, "invalidate_token"):
        client.invalidate_token()
