"""The sender loop: claim due outbox rows -> provider.send -> record sent, retry or failed."""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from datetime import timedelta

from responder.errors import ErrorKind, ProviderError
from responder.providers.base import OutboundSms
from responder.request_ids import bound_request_id
from responder.services import Services
from responder.store.outbox import Claim, claim_due, mark_failed, mark_retry, mark_sent
from responder.webhooks import WEBHOOK, WebhookPoster

log = logging.getLogger(__name__)

# With no wake-up signal, look for due rows this often (retries, other processes' rows).
IDLE_POLL_S = 1.0


class Sender:
    """Sends queued messages until stopped; any number of Senders may share one database."""

    def __init__(self, services: Services, *, name: str | None = None) -> None:
        self.services = services
        self.owner = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self.webhooks = WebhookPoster()

    def start(self) -> None:
        """Run the loop in a daemon thread of this process."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self.run, name="responder-sender", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask the loop to stop after the send in flight, and wait for it."""
        self._stop.set()
        self.services.wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        log.info("sender %s started with provider %s", self.owner, self.services.provider.name)
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # the loop must survive a database hiccup
                log.exception("sender loop error; retrying shortly")
                worked = 0
            if not worked:
                self.services.wakeup.wait(IDLE_POLL_S)
                self.services.wakeup.clear()
        log.info("sender %s stopped", self.owner)

    def run_once(self, limit: int = 10) -> int:
        """Claim and send what is due now; return how many messages were handled."""
        claims = claim_due(self.services.engine, self.owner, self.services.clock(), limit=limit)
        for claim in claims:
            if self._stop.is_set():
                break  # unsent claims are released by their lease
            try:
                with bound_request_id(claim.request_id):
                    self.send_one(claim)
            except Exception:
                log.exception("unexpected error sending message %s", claim.message_id)
        return len(claims)

    def send_one(self, claim: Claim) -> None:
        services = self.services
        sms = OutboundSms(claim.outbox_id, claim.our_number, claim.their_number, claim.text)
        # A webhook row goes through the same claim, retry and failure steps as an SMS.
        provider = self.webhooks if claim.kind == WEBHOOK else services.provider
        started = time.monotonic()
        try:
            result = provider.send(sms)
        except ProviderError as exc:
            services.metrics.observe_send(provider.name, time.monotonic() - started, accepted=False)
            self._record_failure(claim, exc)
            return
        services.metrics.observe_send(provider.name, time.monotonic() - started, accepted=True)
        mark_sent(
            services.engine,
            claim,
            services.clock(),
            provider=result.provider or provider.name,
            provider_message_id=result.provider_message_id,
            fragments=result.fragments,
        )
        services.metrics.observe_reply(claim.kind, "sent", claim.created_at, services.clock())
        log.info(
            "message %s sent to %s via %s",
            claim.message_id,
            claim.their_number,
            result.provider or provider.name,
        )

    def _record_failure(self, claim: Claim, exc: ProviderError) -> None:
        config = self.services.config
        now = self.services.clock()
        code = None if exc.code is None else str(exc.code)
        attempt = claim.attempts + 1
        status = "failed"
        if exc.kind is ErrorKind.UNKNOWN:
            # The request may have reached the gateway; resending could deliver it twice.
            mark_failed(
                self.services.engine,
                claim,
                now,
                reason="unknown",
                error_code=code,
                error_text=exc.message,
            )
        elif not exc.retryable and exc.kind is not ErrorKind.FUNDS:
            mark_failed(
                self.services.engine,
                claim,
                now,
                reason="rejected_by_provider",
                error_code=code,
                error_text=exc.message,
            )
        elif attempt >= config.max_attempts:
            mark_failed(
                self.services.engine,
                claim,
                now,
                reason="retry_limit",
                error_code=code,
                error_text=exc.message,
            )
        else:
            status = "errored"
            delay = self.retry_delay(attempt, exc)
            mark_retry(
                self.services.engine,
                claim,
                now,
                due_at=now + timedelta(seconds=delay),
                error_code=code,
                error_text=exc.message,
            )
        self.services.metrics.observe_reply(claim.kind, status)
        log.warning("message %s: %s (%s)", claim.message_id, exc, exc.kind.value)

    def retry_delay(self, attempt: int, exc: ProviderError) -> float:
        """Backoff with jitter; the provider's own hint wins when it gives one."""
        delays = self.services.config.retry_delays_s
        base = delays[min(attempt - 1, len(delays) - 1)]
        if exc.retry_after is not None:
            base = max(base, exc.retry_after)
        return base * (0.8 + 0.4 * self._rng.random())
