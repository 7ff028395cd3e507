"""The routing table: parsing RESPONDER_ROUTES and choosing a provider per message."""

from __future__ import annotations

import re

import pytest

from responder.providers.base import OutboundSms, SendResult
from responder.providers.routing import ProviderRouter, Route, RouteKind, parse_routes

OURS = "447443332211"


class NamedProvider:
    """A provider that only has a name; routing never sends."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, sms: OutboundSms) -> SendResult:
        raise AssertionError("routing must not send")


PROVIDERS = {name: NamedProvider(name) for name in ("voximplant", "alphasms", "log")}


def sms(to: str, our_number: str = OURS) -> OutboundSms:
    return OutboundSms(outbox_id=1, our_number=our_number, their_number=to, text="hi")


def test_routes_parse_with_any_separator_and_spacing() -> None:
    text = "to:380=alphasms; from:+44 7443-332211=Voximplant,\n to:+3805 = log ,"

    assert parse_routes(text) == [
        Route(RouteKind.TO, "380", "alphasms"),
        Route(RouteKind.FROM, OURS, "voximplant"),
        Route(RouteKind.TO, "3805", "log"),
    ]
    assert [str(r) for r in parse_routes(text)] == [
        "to:380=alphasms",
        "from:447443332211=voximplant",
        "to:3805=log",
    ]


@pytest.mark.parametrize("text", ["", "  ", ";;", "\n"])
def test_empty_table_has_no_routes(text: str) -> None:
    assert parse_routes(text) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "380=alphasms",
            "route 1 ('380=alphasms'): say what the key is: 'to:380=alphasms' for destinations "
            "starting with 380, or 'from:380=alphasms' for messages from our number 380",
            id="bare-key",
        ),
        pytest.param(
            "to:380=alphasms, to:44",
            "route 2 ('to:44'): expected KIND:KEY=PROVIDER, "
            "e.g. to:380=alphasms or from:447443332211=voximplant",
            id="no-provider",
        ),
        pytest.param(
            "via:380=alphasms",
            "route 1 ('via:380=alphasms'): unknown kind 'via'; use 'to:' or 'from:'",
            id="unknown-kind",
        ),
        pytest.param(
            "to:UA=alphasms",
            "route 1 ('to:UA=alphasms'): 'to:' takes the leading digits of destination numbers, "
            "e.g. to:380 (got 'UA')",
            id="prefix-not-digits",
        ),
        pytest.param(
            "from:0501234567=alphasms",
            "route 1 ('from:0501234567=alphasms'): 'from:' takes one of our numbers in "
            "international form, e.g. from:447443332211 (got '0501234567')",
            id="our-number-local",
        ),
        pytest.param(
            "to:380=alpha sms",
            "route 1 ('to:380=alpha sms'): provider must be a name such as alphasms or "
            "voximplant (got 'alpha sms')",
            id="provider-name",
        ),
        pytest.param(
            "to:380=alphasms;to:+380=voximplant",
            "route 2 ('to:+380=voximplant'): to:380 is already routed by route 1",
            id="duplicate",
        ),
    ],
)
def test_bad_routes_name_the_entry_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_routes(text)


ROUTES = "to:380=alphasms, to:38050=log, to:44=voximplant, from:447443332211=voximplant"


@pytest.mark.parametrize(
    ("to", "our_number", "expected"),
    [
        pytest.param("380671112233", "447000000001", "alphasms", id="prefix"),
        pytest.param("380501112233", "447000000001", "log", id="longest-prefix-wins"),
        pytest.param("+380 50 111 2233", "447000000001", "log", id="formatted-destination"),
        pytest.param("380501112233", OURS, "voximplant", id="our-number-beats-prefix"),
        pytest.param("380501112233", "+" + OURS, "voximplant", id="our-number-with-plus"),
        pytest.param("12025550123", "447000000001", "alphasms", id="default"),
    ],
)
def test_router_picks_the_provider(to: str, our_number: str, expected: str) -> None:
    router = ProviderRouter(PROVIDERS, parse_routes(ROUTES), default="alphasms")

    assert router.for_message(sms(to, our_number)).name == expected


def test_router_tells_which_route_decided() -> None:
    router = ProviderRouter(PROVIDERS, parse_routes(ROUTES), default="log")

    assert str(router.find_route(sms("380501112233"))) == "from:447443332211=voximplant"
    assert router.find_route(sms("12025550123", "447000000001")) is None


def test_router_refuses_unconfigured_providers() -> None:
    routes = parse_routes("to:380=alphasms, to:1=twilio")
    message = (
        "default provider 'voximplant' is not configured; to:1=twilio, to:380=alphasms "
        "name(s) a provider that is not configured (configured: log)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ProviderRouter({"log": PROVIDERS["log"]}, routes, default="voximplant")
