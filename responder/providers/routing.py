"""Choose the provider for each outbound message from a routing table and a default.

The table is text, e.g. ``RESPONDER_ROUTES="from:447443332211=voximplant, to:380=alphasms"``.
Entries are separated by commas, semicolons or newlines; each is ``KIND:KEY=PROVIDER``:

- ``from:<number>``: messages sent from this exact number of ours (international digits; a
  leading '+', spaces and dashes are ignored).
- ``to:<digits>``: messages whose destination starts with these digits (a leading '+' is
  ignored), e.g. ``to:380`` for Ukraine or ``to:44`` for the UK.

A ``from:`` route beats every ``to:`` route, the longest matching ``to:`` prefix beats shorter
ones, and a message no route matches goes to the default provider. The kind is required so
that a country prefix can never be mistaken for a short number of ours.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from responder.numbers import digits_only
from responder.providers.base import OutboundSms, SendResult, SmsProvider

_SEPARATORS = re.compile(r"[,;\n]")
_PROVIDER_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_IGNORED_IN_NUMBERS = re.compile(r"[\s\-]")
_EXAMPLE = "e.g. to:380=alphasms or from:447443332211=voximplant"


class RouteKind(enum.Enum):
    """What a route's key is compared with."""

    FROM = "from"  # our number, exactly
    TO = "to"  # the start of the destination number


@dataclass(frozen=True)
class Route:
    """Messages matching *kind*:*key* go to the provider called *provider*."""

    kind: RouteKind
    key: str
    provider: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.key}={self.provider}"


def parse_routes(text: str) -> list[Route]:
    """Parse a routing table (syntax in the module docstring); raise ValueError naming the entry."""
    routes: list[Route] = []
    seen: dict[tuple[RouteKind, str], int] = {}
    entries = [e.strip() for e in _SEPARATORS.split(text) if e.strip()]
    for position, entry in enumerate(entries, start=1):
        route = _parse_entry(entry, f"route {position} ({entry!r})")
        earlier = seen.setdefault((route.kind, route.key), position)
        if earlier != position:
            raise ValueError(
                f"route {position} ({entry!r}): {route.kind.value}:{route.key} "
                f"is already routed by route {earlier}"
            )
        routes.append(route)
    return routes


def _parse_entry(entry: str, where: str) -> Route:
    left, equals, raw_provider = entry.partition("=")
    provider = raw_provider.strip().lower()
    if not equals or not provider:
        raise ValueError(f"{where}: expected KIND:KEY=PROVIDER, {_EXAMPLE}")
    if not _PROVIDER_NAME.fullmatch(provider):
        raise ValueError(
            f"{where}: provider must be a name such as alphasms or voximplant "
            f"(got {raw_provider.strip()!r})"
        )
    kind_text, colon, raw_key = left.partition(":")
    if not colon:
        bare = left.strip()
        raise ValueError(
            f"{where}: say what the key is: 'to:{bare}={provider}' for destinations starting "
            f"with {bare}, or 'from:{bare}={provider}' for messages from our number {bare}"
        )
    try:
        kind = RouteKind(kind_text.strip().lower())
    except ValueError:
        raise ValueError(
            f"{where}: unknown kind {kind_text.strip()!r}; use 'to:' or 'from:'"
        ) from None
    key = _IGNORED_IN_NUMBERS.sub("", raw_key).removeprefix("+")
    if kind is RouteKind.TO and not (key.isdecimal() and key.isascii() and 1 <= len(key) <= 15):
        raise ValueError(
            f"{where}: 'to:' takes the leading digits of destination numbers, "
            f"e.g. to:380 (got {raw_key.strip()!r})"
        )
    if kind is RouteKind.FROM and not (
        key.isdecimal() and key.isascii() and 8 <= len(key) <= 15 and key[0] != "0"
    ):
        raise ValueError(
            f"{where}: 'from:' takes one of our numbers in international form, "
            f"e.g. from:447443332211 (got {raw_key.strip()!r})"
        )
    return Route(kind, key, provider)


class ProviderRouter:
    """Picks a provider per message: our-number routes, then the longest prefix, then default."""

    def __init__(
        self, providers: Mapping[str, SmsProvider], routes: list[Route], default: str
    ) -> None:
        problems = []
        if default not in providers:
            problems.append(f"default provider {default!r} is not configured")
        unknown = sorted({str(r) for r in routes if r.provider not in providers})
        if unknown:
            problems.append(f"{', '.join(unknown)} name(s) a provider that is not configured")
        if problems:
            configured = ", ".join(sorted(providers)) or "none"
            raise ValueError("; ".join(problems) + f" (configured: {configured})")
        self.providers = dict(providers)
        self.default = default
        self._from = {r.key: r for r in routes if r.kind is RouteKind.FROM}
        self._to = sorted(
            (r for r in routes if r.kind is RouteKind.TO), key=lambda r: len(r.key), reverse=True
        )

    def find_route(self, sms: OutboundSms) -> Route | None:
        """The route that decides *sms*, or None when the default provider applies."""
        route = self._from.get(digits_only(sms.our_number))
        if route is not None:
            return route
        destination = digits_only(sms.their_number)
        return next((r for r in self._to if destination.startswith(r.key)), None)

    def for_message(self, sms: OutboundSms) -> SmsProvider:
        """The provider that should send *sms*."""
        route = self.find_route(sms)
        return self.providers[route.provider if route is not None else self.default]


class RoutedProvider:
    """An SmsProvider that hands each message to the provider its route names.

    The result names the provider that sent, so status polling and history find the message.
    """

    def __init__(self, router: ProviderRouter) -> None:
        self.router = router
        # Named after the default provider: what the config asked for, as health checks expect.
        self.name = router.default

    def send(self, sms: OutboundSms) -> SendResult:
        """Send *sms* through its provider; errors are that provider's ProviderError."""
        provider = self.router.for_message(sms)
        result = provider.send(sms)
        return replace(result, provider=result.provider or provider.name)
