"""Choose and build the outbound provider the config asks for."""

from __future__ import annotations

from responder.config import Config
from responder.providers.base import SmsProvider


def make_provider(config: Config) -> SmsProvider:
    if config.provider == "voximplant" and config.voximplant is not None:
        from responder.providers.voximplant import VoximplantClient, VoximplantProvider

        client = VoximplantClient(
            config.voximplant_api_url, config.voximplant, timeout=config.send_timeout_s
        )
        return VoximplantProvider(client)
    from responder.providers.log import LogProvider

    return LogProvider()
