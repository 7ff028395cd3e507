"""The AlphaSMS error type: a ProviderError that also keeps every error text the gateway gave."""

from __future__ import annotations

from responder.errors import ErrorKind, ProviderError


class AlphaSmsError(ProviderError):
    """AlphaSMS refused or failed a request; *errors* holds the gateway's own texts, if any."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        command: str | None = None,
        errors: tuple[str, ...] = (),
        code: int | str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.command = command
        self.errors = errors
        super().__init__(message, kind=kind, code=code, status=status, retry_after=retry_after)
