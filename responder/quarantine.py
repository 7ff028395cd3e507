"""Callbacks that fail verification or parsing: keep them with why, and replay them later."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from responder.errors import CallbackError
from responder.intake import BatchReport, Outcome, Result, handle_batch
from responder.request_ids import bound_request_id
from responder.services import Services
from responder.store.quarantine import QuarantinedCallback, add_quarantined, mark_replayed

log = logging.getLogger(__name__)

# Header names that may carry a credential; such headers are never kept.
_SENSITIVE = ("auth", "cookie", "token", "key", "secret", "signature", "session", "password")
# Which failed check names a request, when several did: the first in this order.
_ORDER = ("token", "body", "hash", "account", "schema")


@dataclass(frozen=True)
class Refusal:
    """What a refused request failed: the check, the reason, and every check's result."""

    failed_check: str
    reason: str
    checks: list[dict[str, Any]]


def kept_headers(headers: Any) -> dict[str, str]:
    """The request's headers without any that could hold a credential."""
    return {
        name: value
        for name, value in headers.items()
        if not any(word in name.lower() for word in _SENSITIVE)
    }


def classify(reason: str) -> str:
    """The check a rejected element failed, from the reason intake gave."""
    if "security hash" in reason:
        return "hash"
    if reason.startswith("callback for account"):
        return "account"
    return "schema"


def refusal_of_report(report: BatchReport, *, token_checked: bool) -> Refusal | None:
    """Why a batch must be kept (some element was rejected), or None when nothing was."""
    if all(result.outcome is not Outcome.REJECTED for result in report.results):
        return None  # the usual answer: no need to describe every check
    checks: list[dict[str, Any]] = []
    if token_checked:
        checks.append({"check": "token", "ok": True})
    checks.append({"check": "body", "ok": True, "detail": f"{len(report.results)} element(s)"})
    failed: list[tuple[str, Result]] = []
    for result in sorted(report.results, key=lambda r: r.index):
        check = {"index": result.index, "callback_id": result.callback_id}
        if result.outcome is Outcome.REJECTED:
            name = classify(result.reason or "")
            failed.append((name, result))
            checks.append({"check": name, "ok": False, "detail": result.reason, **check})
        else:
            checks.append({"check": "element", "ok": True, "detail": result.outcome.value, **check})
    name, first = min(failed, key=lambda f: _ORDER.index(f[0]))
    reason = f"element {first.index}: {first.reason}"
    if len(failed) > 1:
        reason += f" (and {len(failed) - 1} more rejected)"
    return Refusal(name, reason, checks)


def refusal_of_body(error: CallbackError, *, token_checked: bool) -> Refusal:
    """A body that could not be used at all."""
    checks: list[dict[str, Any]] = [{"check": "token", "ok": True}] if token_checked else []
    checks.append({"check": "body", "ok": False, "detail": error.reason})
    return Refusal("body", error.reason, checks)


def refusal_of_token(reason: str) -> Refusal:
    return Refusal("token", reason, [{"check": "token", "ok": False, "detail": reason}])


def keep(
    services: Services,
    refusal: Refusal,
    *,
    body: bytes,
    route: str,
    status_code: int,
    headers: dict[str, str],
    request_id: str | None,
    remote_addr: str | None,
) -> int | None:
    """Store a refused request (capped); None when quarantine is off or the database fails."""
    config = services.config
    if config.quarantine_max <= 0:
        return None
    try:
        with services.engine.begin() as conn:
            quarantine_id = add_quarantined(
                conn,
                services.clock(),
                body=body,
                keep=config.quarantine_max,
                keep_texts=config.store_bodies,
                request_id=request_id,
                remote_addr=remote_addr,
                route=route,
                failed_check=refusal.failed_check,
                reason=refusal.reason,
                checks=refusal.checks,
                status_code=status_code,
                headers=headers,
            )
    except Exception:  # the request boundary: answering the caller matters more than keeping
        log.exception("could not keep the refused callback in quarantine")
        return None
    services.metrics.quarantined.labels(refusal.failed_check).inc()
    log.warning(
        "callback request kept in quarantine as %s: %s check failed: %s",
        quarantine_id,
        refusal.failed_check,
        refusal.reason,
        extra={"quarantine_id": quarantine_id, "failed_check": refusal.failed_check},
    )
    return quarantine_id


class ReplayError(Exception):
    """A kept request that cannot be replayed; the message says why."""


def replay(services: Services, kept: QuarantinedCallback) -> dict[str, Any]:
    """Run a kept request through intake again with today's configuration; record the result.

    The URL token is not checked again: replaying is the operator vouching for the request.
    Elements stored before (by an earlier delivery or replay) count as duplicates.
    """
    if kept.truncated:
        raise ReplayError(
            f"quarantined callback {kept.id} was cut to {len(kept.body)} of {kept.body_size} "
            "bytes when kept; it cannot be replayed"
        )
    with bound_request_id(kept.request_id):
        try:
            report = handle_batch(services, kept.body)
        except CallbackError as exc:
            result: dict[str, Any] = {"status": 400, "error": exc.reason}
        else:
            result = {"status": report.status, **report.to_dict()}
            refusal = refusal_of_report(report, token_checked=False)
            if refusal is not None:
                result["failed_check"] = refusal.failed_check
                result["error"] = refusal.reason
        mark_replayed(services.engine, kept.id, services.clock(), result)
        log.info(
            "quarantined callback %s replayed: status %s",
            kept.id,
            result["status"],
            extra={"quarantine_id": kept.id},
        )
    return result
