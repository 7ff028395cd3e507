"""Compliance settings from the environment: defaults, every setting, every bad value by name."""

from __future__ import annotations

from datetime import time

import pytest

from responder.compliance.settings import DEFAULT_HELP_REPLY, BreakerSettings, QuietHours
from responder.config import Config
from responder.errors import ConfigError


def test_defaults(bare_env):
    settings = Config.from_env(bare_env).compliance
    assert settings.scope == "number"
    assert {"stop", "stop all", "opt out", "revoke", "stop texting me"} <= settings.opt_out_texts
    assert settings.opt_in_texts == {"start", "unstop"}
    assert settings.help_reply == DEFAULT_HELP_REPLY
    assert settings.breaker == BreakerSettings()
    assert (settings.breaker.max_replies, settings.breaker.window_s) == (5, 600.0)
    assert settings.quiet == QuietHours()
    assert (settings.quiet.start, settings.quiet.end) == (time(21), time(8))


def test_every_setting(bare_env):
    bare_env.update(
        RESPONDER_OPT_OUT_WORDS="ARRET, СТОП, please stop texting me",
        RESPONDER_OPT_IN_WORDS="subscribe",
        RESPONDER_HELP_WORDS="aide, ayuda",
        RESPONDER_OPT_OUT_SCOPE="Account",
        RESPONDER_OPT_OUT_REPLY="Bye.",
        RESPONDER_OPT_IN_REPLY="Welcome back.",
        RESPONDER_HELP_REPLY="Acme: help@acme.example. Reply STOP to opt out.",
        RESPONDER_BREAKER_MAX_REPLIES="8",
        RESPONDER_BREAKER_WINDOW="300",
        RESPONDER_BREAKER_PINGPONG="3",
        RESPONDER_BREAKER_PINGPONG_COUNT="4",
        RESPONDER_BREAKER_REPEATS="5",
        RESPONDER_BREAKER_COOLDOWN="900",
        RESPONDER_QUIET_HOURS="22:00-07:30",
        RESPONDER_QUIET_TIMEZONES="1=America/Chicago, *=Europe/Berlin, 44=Europe/London",
        RESPONDER_QUIET_GRACE="120",
    )
    settings = Config.from_env(bare_env).compliance
    assert {"arret", "стоп", "please stop texting me", "stop"} <= settings.opt_out_texts
    assert "stop texting me" not in settings.opt_out_texts  # the default phrases were replaced
    assert settings.opt_in_texts == {"start", "unstop", "subscribe"}
    assert settings.help_texts == {"help", "info", "aide", "ayuda"}
    assert settings.scope == "account"
    assert (settings.opt_out_reply, settings.opt_in_reply) == ("Bye.", "Welcome back.")
    assert settings.breaker == BreakerSettings(True, 8, 300, 3, 4, 5, 900)
    quiet = settings.quiet
    assert (quiet.start, quiet.end, quiet.grace_s) == (time(22), time(7, 30), 120)
    assert quiet.zones == (("44", "Europe/London"), ("1", "America/Chicago"), ("", "Europe/Berlin"))
    assert quiet.zone_override("447443332212") == "Europe/London"
    assert quiet.zone_override("79161234567") == "Europe/Berlin"


def test_switches_off(bare_env):
    bare_env.update(RESPONDER_BREAKER="off", RESPONDER_QUIET_HOURS="OFF")
    settings = Config.from_env(bare_env).compliance
    assert not settings.breaker.enabled
    assert not settings.quiet.enabled


def test_every_bad_value_is_named(bare_env):
    bare_env.update(
        RESPONDER_OPT_OUT_WORDS="stop it, !!!",
        RESPONDER_OPT_IN_WORDS="Stop It",
        RESPONDER_HELP_WORDS="aide, START",
        RESPONDER_OPT_OUT_SCOPE="global",
        RESPONDER_HELP_REPLY="x" * 800,
        RESPONDER_BREAKER="maybe",
        RESPONDER_BREAKER_MAX_REPLIES="0",
        RESPONDER_BREAKER_WINDOW="ten",
        RESPONDER_QUIET_HOURS="9pm-8am",
        RESPONDER_QUIET_TIMEZONES="US=America/New_York, 1=Mars/Olympus",
        RESPONDER_QUIET_GRACE="-5",
    )
    with pytest.raises(ConfigError) as caught:
        Config.from_env(bare_env)
    assert caught.value.problems == [
        "RESPONDER_OPT_OUT_WORDS: '!!!' has no letters or digits to match",
        "RESPONDER_OPT_IN_WORDS: stop it already opts out or in; a word does one job",
        "RESPONDER_HELP_WORDS: start already opts out or in; a word does one job",
        "RESPONDER_OPT_OUT_SCOPE: must be one of number, account (got 'global')",
        "RESPONDER_HELP_REPLY: must be at most 765 characters (got 800)",
        "RESPONDER_BREAKER: must be on or off (got 'maybe')",
        "RESPONDER_BREAKER_WINDOW: expected a number (got 'ten')",
        "RESPONDER_BREAKER_MAX_REPLIES: must be a whole number of at least 1 (got 0)",
        "RESPONDER_QUIET_HOURS: expected HH:MM-HH:MM, e.g. 21:00-08:00, or off (got '9pm-8am')",
        "RESPONDER_QUIET_TIMEZONES: expected PREFIX=Zone/Name entries such as "
        "1=America/New_York or *=Europe/London (got 'US=America/New_York')",
        "RESPONDER_QUIET_TIMEZONES: unknown time zone 'Mars/Olympus'",
        "RESPONDER_QUIET_GRACE: must be at least 0 (got '-5')",
    ]
