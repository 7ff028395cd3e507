"""`responder alphasms balance|price` end to end against the fake gateway."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from responder.cli.alphasms import alphasms
from responder.providers.alphasms import read_alphasms_settings
from tests.fakes.alphasms import FakeAlphaSms


@pytest.fixture
def fake() -> Iterator[FakeAlphaSms]:
    with FakeAlphaSms(layout="one_line") as server:
        yield server


def run(args: list[str], **env: str | None) -> Result:
    environ = {"ALPHASMS_API_KEY": None, "ALPHASMS_SENDER": None, "ALPHASMS_URL": None, **env}
    return CliRunner().invoke(alphasms, args, env=environ)


def configured(fake: FakeAlphaSms, key: str | None = None) -> dict[str, str | None]:
    return {
        "ALPHASMS_API_KEY": key or fake.key,
        "ALPHASMS_SENDER": "Shop",
        "ALPHASMS_URL": fake.endpoint,
    }


def test_balance_is_shown_without_float_noise(fake: FakeAlphaSms) -> None:
    result = run(["balance"], **configured(fake))

    assert result.exit_code == 0, result.output
    assert result.output == "AlphaSMS balance: 31.1683\n"
    assert fake.commands() == ["balance"]


def test_price_of_a_valid_number(fake: FakeAlphaSms) -> None:
    result = run(["price", "+380 50 123 4567"], **configured(fake))

    assert result.exit_code == 0, result.output
    assert result.output == "Price of one SMS to +380501234567: 1.2 UAH\n"
    assert fake.requests[0].params["to"] == "380501234567"
    assert fake.requests[0].params["from"] == "Shop"


def test_invalid_number_is_refused_before_any_request(fake: FakeAlphaSms) -> None:
    result = run(["price", "12345"], **configured(fake))

    assert result.exit_code == 1
    assert "not a valid international phone number" in result.output
    assert "Traceback" not in result.output
    assert fake.requests == []


def test_bad_key_gives_a_clear_message_and_exit_1(fake: FakeAlphaSms) -> None:
    result = run(["balance"], **configured(fake, key="wrong-key-7777"))

    assert result.exit_code == 1
    assert result.output == "Error: AlphaSMS refused balance: Wrong login/password\n"
    assert isinstance(result.exception, SystemExit)


def test_unreachable_gateway_gives_a_clear_message(fake: FakeAlphaSms) -> None:
    settings = configured(fake)
    fake.close()

    result = run(["balance"], **settings)

    assert result.exit_code == 1
    assert "could not connect to 127.0.0.1" in result.output
    assert fake.key not in result.output
    assert "Traceback" not in result.output


def test_missing_settings_are_explained() -> None:
    result = run(["balance"])

    assert result.exit_code == 1
    assert "AlphaSMS is not configured: set ALPHASMS_API_KEY and ALPHASMS_SENDER" in result.output


def test_bad_settings_are_listed() -> None:
    result = run(["balance"], ALPHASMS_API_KEY="abc123", ALPHASMS_SENDER="Much_Too_Long")

    assert result.exit_code == 1
    assert "ALPHASMS_SENDER: must be at most 11 characters" in result.output


def test_running_app_settings_win_over_the_environment(fake: FakeAlphaSms) -> None:
    settings, _ = read_alphasms_settings(configured(fake))
    app = Flask("alphasms-cli-test")
    app.extensions["responder"] = SimpleNamespace(config=SimpleNamespace(alphasms=settings))

    with app.app_context():
        result = run(["balance"], ALPHASMS_API_KEY="abc123", ALPHASMS_SENDER="Much_Too_Long")

    assert result.exit_code == 0, result.output
    assert fake.commands() == ["balance"]


def test_running_app_without_alphasms_says_so() -> None:
    app = Flask("alphasms-cli-test")
    app.extensions["responder"] = SimpleNamespace(config=SimpleNamespace(alphasms=None))

    with app.app_context():
        result = run(["balance"])

    assert result.exit_code == 1
    assert "AlphaSMS is not configured" in result.output
