"""Reading the AlphaSMS settings from environment variables."""

from __future__ import annotations

import pytest

from responder.providers.alphasms import DEFAULT_URL, read_alphasms_settings
from responder.secret import Secret


def test_no_alphasms_variables_means_not_configured() -> None:
    assert read_alphasms_settings({"OTHER": "x", "ALPHASMS_SENDER": "  "}) == (None, [])


def test_key_and_sender_give_settings_with_the_default_url() -> None:
    settings, problems = read_alphasms_settings(
        {"ALPHASMS_API_KEY": " abc123 ", "ALPHASMS_SENDER": "Shop.ua"}
    )

    assert problems == []
    assert settings is not None
    assert settings.api_key == Secret("abc123")
    assert settings.sender == "Shop.ua"
    assert settings.url == DEFAULT_URL == "https://alphasms.ua/api/http.php"
    assert "abc123" not in repr(settings)


def test_url_can_be_changed() -> None:
    settings, _ = read_alphasms_settings(
        {
            "ALPHASMS_API_KEY": "abc123",
            "ALPHASMS_SENDER": "Shop",
            "ALPHASMS_URL": "https://alphasms.net",
        }
    )
    assert settings is not None
    assert settings.url == "https://alphasms.net"


@pytest.mark.parametrize(
    ("environ", "problems"),
    [
        pytest.param(
            {"ALPHASMS_SENDER": "Shop"},
            [
                "ALPHASMS_API_KEY: missing; it is required once any ALPHASMS_* variable is set "
                "(cabinet: SMS -> Settings -> API)"
            ],
            id="no-key",
        ),
        pytest.param(
            {"ALPHASMS_API_KEY": "abc123"},
            ["ALPHASMS_SENDER: missing; set the alpha-name registered in the AlphaSMS cabinet"],
            id="no-sender",
        ),
        pytest.param(
            {"ALPHASMS_API_KEY": "abc123", "ALPHASMS_SENDER": "MyShopOnline"},
            ["ALPHASMS_SENDER: must be at most 11 characters (got 12: 'MyShopOnline')"],
            id="sender-too-long",
        ),
        pytest.param(
            {"ALPHASMS_API_KEY": "abc123", "ALPHASMS_SENDER": "My Shop"},
            [
                "ALPHASMS_SENDER: may contain only Latin letters, digits, '.', '-' and '_' "
                "(got 'My Shop')"
            ],
            id="sender-space",
        ),
        pytest.param(
            {"ALPHASMS_API_KEY": "ab c", "ALPHASMS_SENDER": "Shop", "ALPHASMS_URL": "alphasms.ua"},
            [
                "ALPHASMS_API_KEY: contains whitespace; paste the key alone",
                "ALPHASMS_URL: expected an http(s) URL such as https://alphasms.ua/api/http.php "
                "(got 'alphasms.ua')",
            ],
            id="every-problem-at-once",
        ),
    ],
)
def test_bad_settings_list_every_problem(environ: dict[str, str], problems: list[str]) -> None:
    assert read_alphasms_settings(environ) == (None, problems)


def test_problems_never_show_the_key() -> None:
    _, problems = read_alphasms_settings({"ALPHASMS_API_KEY": "se cret", "ALPHASMS_URL": "x"})
    assert problems
    assert not any("se cret" in p for p in problems)
