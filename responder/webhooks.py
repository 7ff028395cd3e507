"""URL forwards: queue a rule's JSON POST in the outbox; deliver it when the sender claims it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import Connection

from responder.errors import ErrorKind, ProviderError
from responder.providers.base import OutboundSms, SendResult
from responder.store.outbox import enqueue
from responder.store.threads import Thread, append_message

# The message kind of an outbox row delivered by HTTP POST instead of SMS.
WEBHOOK = "webhook"
USER_AGENT = "responder-webhook/1"


def queue_webhook(
    conn: Connection,
    thread: Thread,
    url: str,
    payload: dict[str, Any],
    timeout_s: float,
    now: datetime,
    *,
    rule_id: str | None,
    ruleset_version: str | None,
    reply_to_id: int | None = None,
) -> int:
    """Store the POST as an outbound message of *thread* and queue it; return the message id."""
    request = {"url": url, "timeout_s": timeout_s, "payload": payload}
    message_id = append_message(
        conn,
        thread,
        now,
        direction="out",
        kind=WEBHOOK,
        text=json.dumps(request, ensure_ascii=False, default=str),
        rule_id=rule_id,
        ruleset_version=ruleset_version,
        reply_to_id=reply_to_id,
    )
    enqueue(conn, message_id, now)
    return message_id


class WebhookPoster:
    """Delivers queued webhook messages; has the shape of an SMS provider for the sender loop."""

    name = WEBHOOK

    def __init__(self) -> None:
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT

    def send(self, sms: OutboundSms) -> SendResult:
        """POST the queued payload; raise ProviderError saying whether a retry may help."""
        try:
            request = json.loads(sms.text)
            url, timeout, payload = request["url"], float(request["timeout_s"]), request["payload"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(
                f"unreadable webhook message: {exc}", kind=ErrorKind.PERMANENT
            ) from None
        headers = {"X-Responder-Delivery": str(sms.outbox_id)}
        try:
            answer = self._session.post(url, json=payload, headers=headers, timeout=timeout)
        except requests.Timeout:
            # The receiver may have got it; it tells a repeat by X-Responder-Delivery, so the
            # POST is simply tried again (the code marks it as not needing a history lookup).
            raise ProviderError(
                f"no answer from {url} within {timeout:g} s",
                kind=ErrorKind.TRANSIENT,
                code="timeout",
            ) from None
        except requests.RequestException as exc:
            raise ProviderError(
                f"cannot reach {url}: {type(exc).__name__}",
                kind=ErrorKind.TRANSIENT,
                code="unreachable",
            ) from None
        status = answer.status_code
        if 200 <= status < 300:
            # A status is no message id: ids are unique per provider, every POST gets 200.
            return SendResult(provider_message_id=None, detail=f"HTTP {status}")
        if status in (408, 429) or status >= 500:
            # TRANSIENT even for 429: a busy receiver must not pause the SMS senders.
            raise ProviderError(
                f"{url} answered HTTP {status}",
                kind=ErrorKind.TRANSIENT,
                code=status,
                status=status,
                retry_after=_retry_after(answer),
            )
        raise ProviderError(
            f"{url} refused the forward with HTTP {status}",
            kind=ErrorKind.PERMANENT,
            code=status,
            status=status,
        )


def _retry_after(answer: requests.Response) -> float | None:
    value = answer.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None
