"""A wrapper that keeps secrets out of reprs, logs and error messages."""

from __future__ import annotations

import hmac


class Secret:
    """Holds a secret string; repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def equals(self, other: str) -> bool:
        """Compare with *other* in constant time."""
        return hmac.compare_digest(self._value.encode(), other.encode())

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and self.equals(other._value)

    def __hash__(self) -> int:
        return hash(Secret)
