"""The exception tree: errors responder raises on purpose; str() is always safe to show."""

from __future__ import annotations

import enum


class ResponderError(Exception):
    """An error we raise on purpose; its message never contains a secret."""


class ConfigError(ResponderError):
    """One or more configuration values are invalid; all of them are listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class SchemaError(ResponderError):
    """The database schema cannot be brought to the revision this code needs."""


class InvalidNumberError(ResponderError):
    """A phone number that cannot be parsed or is not a valid number."""


class OptedOutError(ResponderError):
    """A message for a number that opted out; nothing but compliance answers may go to it."""

    def __init__(self, our_number: str, their_number: str) -> None:
        self.our_number = our_number
        self.their_number = their_number
        super().__init__(
            f"{their_number} has opted out of messages from {our_number}; "
            "nothing is sent until they text START"
        )


class CallbackError(ResponderError):
    """One element of a callback batch cannot be accepted."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        super().__init__(reason)


class SignatureError(CallbackError):
    """A callback element whose security hash does not verify."""


class RuleFileError(ResponderError):
    """A problem in a rule file, located as path:line:column."""

    def __init__(self, path: str, line: int | None, column: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class ErrorKind(enum.Enum):
    """How the sender should treat a provider failure."""

    TRANSIENT = "transient"  # network, 5xx, try-later codes: back off with jitter and retry
    RATE_LIMITED = "rate_limited"  # slow the sender down, then retry
    TOKEN = "token"  # noqa: S105 - a kind name, not a password; regenerate the token first, then retry
    FUNDS = "funds"  # insufficient money: hold the queue and alert
    PERMANENT = "permanent"  # fail at once with code and text
    UNKNOWN = "unknown"  # the request may have reached the gateway: never resend blindly


class ProviderError(ResponderError):
    """A provider refused or failed a request; never carries a token or key."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        code: int | str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.kind = kind
        self.code = code
        self.status = status
        self.retry_after = retry_after
        super().__init__(message if code is None else f"{code}: {message}")

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED, ErrorKind.TOKEN)
