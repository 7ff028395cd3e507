"""Choose and build the outbound provider the config asks for, routed when routes are set."""

from __future__ import annotations

from responder.config import Config
from responder.providers.base import SmsProvider


def make_providers(config: Config) -> dict[str, SmsProvider]:
    """Every provider the config can build, by name; `log` is always there."""
    from responder.providers.log import LogProvider

    providers: dict[str, SmsProvider] = {"log": LogProvider()}
    if config.voximplant is not None:
        from responder.providers.voximplant import VoximplantClient, VoximplantProvider

        client = VoximplantClient(
            config.voximplant_api_url, config.voximplant, timeout=config.send_timeout_s
        )
        providers["voximplant"] = VoximplantProvider(client)
    if config.alphasms is not None:
        from responder.providers.alphasms import AlphaSmsProvider

        providers["alphasms"] = AlphaSmsProvider(
            config.alphasms.make_client(timeout=config.send_timeout_s), config.alphasms.sender
        )
    return providers


def make_provider(config: Config) -> SmsProvider:
    """The provider the sender uses: the default one, or a router when RESPONDER_ROUTES is set."""
    providers = make_providers(config)
    default = config.provider if config.provider in providers else "log"
    if not config.routes:
        return providers[default]
    from responder.providers.routing import ProviderRouter, RoutedProvider

    return RoutedProvider(ProviderRouter(providers, list(config.routes), default))
