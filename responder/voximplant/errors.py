"""Management API failures and how each one is classified for the sender."""

from __future__ import annotations

import re

from responder.errors import ErrorKind, ProviderError

# Codes from Voximplant's error reference, grouped by what the sender should do about them.
TRANSIENT_CODES = frozenset({1, 2, 4, 14, 162, 385, 416, 484})
RATE_LIMITED_CODES = frozenset({340})
TOKEN_CODES = frozenset({447, 454, 455, 456})
FUNDS_CODES = frozenset({127})
# Named so that they stay permanent even when they arrive with a 5xx status.
PERMANENT_CODES = frozenset(
    {100, 101, 102, 103, 104, 121, 134, 386, 398, 399, 422, 423, 433, 470, 506, 507, 508, 509, 528}
)

# 484 means "looks like an automatic resend": an immediate retry would be refused again.
DEFAULT_RETRY_AFTER_S = {484: 60.0, 162: 5.0}

_SECONDS_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s\b|sec)", re.IGNORECASE)


class VoximplantApiError(ProviderError):
    """A Management API call failed: Voximplant's code and text, the HTTP status, the method."""

    def __init__(
        self,
        msg: str,
        *,
        kind: ErrorKind,
        method: str | None = None,
        code: int | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.msg = msg
        self.method = method
        where = f"{method}: " if method else ""
        http = f" (HTTP {status})" if status is not None and status != 200 else ""
        super().__init__(
            f"{where}{msg}{http}", kind=kind, code=code, status=status, retry_after=retry_after
        )


def classify(code: int | None, status: int | None) -> ErrorKind:
    """The kind of a failure: Voximplant's code decides when it has one, else the HTTP status."""
    if code is not None:
        if code in TRANSIENT_CODES:
            return ErrorKind.TRANSIENT
        if code in RATE_LIMITED_CODES:
            return ErrorKind.RATE_LIMITED
        if code in TOKEN_CODES:
            return ErrorKind.TOKEN
        if code in FUNDS_CODES:
            return ErrorKind.FUNDS
        if code in PERMANENT_CODES:
            return ErrorKind.PERMANENT
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status is not None and (status >= 500 or status in (408, 425)):
        return ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


def retry_after_hint(code: int | None, msg: str, header: str | None) -> float | None:
    """Seconds to wait before retrying: the Retry-After header, a number in the text, a default."""
    if header:
        try:
            return max(0.0, float(header.strip()))
        except ValueError:
            pass  # an HTTP date: rare enough to fall back to the other hints
    if code in (416, 484, 162):
        found = _SECONDS_IN_TEXT.search(msg)
        if found:
            return float(found.group(1))
        return DEFAULT_RETRY_AFTER_S.get(code)
    return None
