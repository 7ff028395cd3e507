"""Provider settings from the environment: AlphaSMS, routes, public URL and our numbers."""

from __future__ import annotations

import pytest

from responder.config import Config
from responder.errors import ConfigError
from responder.providers.factory import make_provider
from responder.providers.routing import RoutedProvider


def test_routes_to_alphasms_build_a_routed_provider(bare_env):
    bare_env |= {
        "ALPHASMS_API_KEY": "abc123",
        "ALPHASMS_SENDER": "Shop",
        "RESPONDER_ROUTES": "to:380=alphasms",
        "RESPONDER_PUBLIC_URL": "https://sms.example.com/",
        "RESPONDER_NUMBERS": "+44 7443 332211, 447443332211;380501234567",
    }
    config = Config.from_env(bare_env)

    assert config.alphasms is not None
    assert config.alphasms.sender == "Shop"
    assert [str(r) for r in config.routes] == ["to:380=alphasms"]
    assert config.public_url == "https://sms.example.com"
    assert config.our_numbers == ("447443332211", "380501234567")
    provider = make_provider(config)
    assert isinstance(provider, RoutedProvider)
    assert provider.name == "log"
    assert sorted(provider.router.providers) == ["alphasms", "log"]


def test_alphasms_alone_can_be_the_default_provider(bare_env):
    bare_env |= {
        "ALPHASMS_API_KEY": "abc123",
        "ALPHASMS_SENDER": "Shop",
        "RESPONDER_PROVIDER": "alphasms",
    }
    assert make_provider(Config.from_env(bare_env)).name == "alphasms"


def test_every_provider_problem_is_listed(bare_env):
    bare_env |= {
        "ALPHASMS_SENDER": "Shop",
        "RESPONDER_ROUTES": "to:380=alphasms, to:44=voximplant, 48=alphasms",
        "RESPONDER_PUBLIC_URL": "sms.example.com",
        "RESPONDER_NUMBERS": "12345",
    }
    with pytest.raises(ConfigError) as caught:
        Config.from_env(bare_env)
    problems = caught.value.problems
    assert any(p.startswith("ALPHASMS_API_KEY: missing") for p in problems)
    assert any(p.startswith("RESPONDER_ROUTES: route 3 ('48=alphasms')") for p in problems)
    assert any(p.startswith("RESPONDER_PUBLIC_URL: expected an http(s) URL") for p in problems)
    assert any(p.startswith("RESPONDER_NUMBERS: '12345'") for p in problems)


def test_a_route_to_an_unconfigured_provider_is_refused(bare_env):
    bare_env["RESPONDER_ROUTES"] = "to:380=alphasms"
    with pytest.raises(ConfigError) as caught:
        Config.from_env(bare_env)
    assert caught.value.problems == [
        "RESPONDER_ROUTES: to:380=alphasms names provider 'alphasms', which is not configured "
        "(configured: log)"
    ]
