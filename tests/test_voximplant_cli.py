"""`responder voximplant ...` end to end against the fake Management API on loopback."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from click.testing import Result

from responder.config import Config
from responder.secret import Secret
from tests.fakes.keys import make_account, other_key_pair, write_credentials
from tests.fakes.voximplant_api import FakeVoximplant
from tests.processes import config_env, responder
from tests.support import ACCOUNT_ID, API_KEY, OUR, SALT, invoke_cli, voximplant_config

PUBLIC = "https://sms.example.com"
CALLBACK = PUBLIC + "/voximplant/callback"
SECOND = "447443332299"

Run = Callable[..., Result]


def runner_for(config: Config) -> Run:
    return functools.partial(invoke_cli, config)


@pytest.fixture
def vox_config(config: Config, fake_api: FakeVoximplant) -> Config:
    return voximplant_config(config, fake_api.url, public_url=PUBLIC, our_numbers=(OUR,))


@pytest.fixture
def run(vox_config: Config) -> Run:
    return runner_for(vox_config)


def test_numbers_lists_sms_flags_and_callback_urls(run, fake_api):
    fake_api.add_number(OUR)
    fake_api.add_number(SECOND, sms_enabled=False, incoming_sms_callback_url="https://other/cb")
    fake_api.add_number("442039990000", sms_supported=False, sms_enabled=False)
    fake_api.account["callback_url"] = CALLBACK

    result = run("voximplant", "numbers")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["number", "SMS", "supported", "SMS", "enabled", "callback", "URL"]
    assert lines[1].split() == [OUR, "yes", "yes", CALLBACK, "(account)"]
    assert lines[2].split() == [SECOND, "yes", "no", "https://other/cb"]
    assert lines[3].split() == ["442039990000", "no", "no", CALLBACK, "(account)"]


def test_enable_and_disable_sms(run, fake_api):
    number = fake_api.add_number(OUR, sms_enabled=False)

    enabled = run("voximplant", "enable-sms", "+44 7443 332211")
    assert enabled.exit_code == 0, enabled.output
    assert enabled.output == f"SMS enabled on {OUR}\n"
    assert number["is_sms_enabled"] is True

    disabled = run("voximplant", "disable-sms", OUR)
    assert disabled.exit_code == 0, disabled.output
    assert number["is_sms_enabled"] is False
    control = [r.params for r in fake_api.requests if r.method == "ControlSms"]
    assert control == [
        {"phone_number": OUR, "command": "enable"},
        {"phone_number": OUR, "command": "disable"},
    ]


def test_enable_sms_on_an_unknown_number_says_so(run, fake_api):
    fake_api.add_number(OUR)

    result = run("voximplant", "enable-sms", SECOND)

    assert result.exit_code == 1
    assert f"{SECOND} is not one of this account's numbers" in result.output
    assert "Traceback" not in result.output
    assert not [r for r in fake_api.requests if r.method == "ControlSms"]


def test_enable_sms_on_a_number_without_sms_shows_the_code(run, fake_api):
    fake_api.add_number(OUR, sms_supported=False, sms_enabled=False)

    result = run("voximplant", "enable-sms", OUR)

    assert result.exit_code == 1
    assert "Voximplant refused the request: 528: ControlSms: SMS is not supported" in result.output


def test_bad_credentials_are_reported_with_a_fix(config, fake_api):
    fake_api.add_number(OUR)
    wrong = config.with_changes(
        voximplant=make_account(other_key_pair()), voximplant_api_url=fake_api.url
    )

    result = runner_for(wrong)("voximplant", "numbers")

    assert result.exit_code == 1
    assert "Voximplant refused the request: 100: GetAccountInfo: Authorization failed" in (
        result.output
    )
    assert "fix: check VOXIMPLANT_CREDENTIALS" in result.output
    assert "PRIVATE KEY" not in result.output


def test_without_credentials_the_command_says_what_to_set(config):
    result = runner_for(config)("voximplant", "numbers")

    assert result.exit_code == 1
    assert "Voximplant is not configured: set VOXIMPLANT_CREDENTIALS" in result.output


def test_set_callback_account_wide_with_an_auto_salt(run, fake_api):
    result = run("voximplant", "set-callback", CALLBACK, "--salt", "auto")

    assert result.exit_code == 0, result.output
    salt = fake_api.account["callback_salt"]
    assert fake_api.account["callback_url"] == CALLBACK
    assert 16 <= len(salt) < 40
    assert salt.isalnum()
    assert f"VOXIMPLANT_CALLBACK_SALT={salt}\n" in result.output
    again = run("voximplant", "set-callback", CALLBACK, "--salt", "auto")
    assert fake_api.account["callback_salt"] != salt
    assert again.exit_code == 0


def test_set_callback_for_one_number_and_a_given_salt(run, fake_api):
    fake_api.add_number(OUR)
    other = fake_api.add_number(SECOND)

    result = run("voximplant", "set-callback", CALLBACK, "--number", OUR, "--salt", "my-salt")

    assert result.exit_code == 0, result.output
    assert fake_api.find_number(OUR)["incoming_sms_callback_url"] == CALLBACK
    assert other["incoming_sms_callback_url"] is None
    assert fake_api.account["callback_url"] is None
    assert fake_api.account["callback_salt"] == "my-salt"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["ftp://x/cb"], "URL must be an http(s) URL", id="bad-url"),
        pytest.param([CALLBACK, "--salt", "x" * 40], "--salt must be 1 to 39", id="long-salt"),
        pytest.param([CALLBACK, "--number", "123"], "'123' is not a valid", id="bad-number"),
        pytest.param([CALLBACK, "--number", SECOND], "not one of this account's", id="unknown"),
    ],
)
def test_set_callback_refuses_bad_input_before_changing_anything(run, fake_api, args, message):
    fake_api.add_number(OUR)

    result = run("voximplant", "set-callback", *args)

    assert result.exit_code == 1
    assert message in result.output
    assert not [r for r in fake_api.requests if r.method.startswith("Set")]


def test_doctor_passes_a_complete_setup(vox_config, fake_api):
    fake_api.add_number(OUR)
    fake_api.account.update(callback_url=CALLBACK, callback_salt=SALT)

    result = runner_for(vox_config)("voximplant", "doctor")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"PASS  credentials: accepted for account {ACCOUNT_ID} (acme-support)",
        f"PASS  number {OUR}: SMS supported and enabled",
        f"PASS  callback for {OUR}: account URL points at this deployment",
        "PASS  callback verification: hash check configured and the salt matches the account's",
        "all 4 checks passed",
    ]


def test_doctor_names_each_failure_and_its_fix(vox_config, fake_api):
    fake_api.add_number(OUR, sms_enabled=False, incoming_sms_callback_url="https://old.example/cb")
    fake_api.account.update(callback_url=CALLBACK, callback_salt="another-salt")
    config = vox_config.with_changes(our_numbers=(OUR, SECOND))

    result = runner_for(config)("voximplant", "doctor")

    assert result.exit_code == 1
    out = result.output
    assert f"FAIL  number {OUR}: SMS is disabled\n      fix: run `responder voximplant " in out
    assert f"enable-sms {OUR}`" in out
    assert f"FAIL  number {SECOND}: not attached to this Voximplant account" in out
    assert (
        f"FAIL  callback for {OUR}: number's own URL is https://old.example/cb, not {CALLBACK}\n"
        f"      fix: run `responder voximplant set-callback {CALLBACK} --number {OUR}`"
    ) in out
    assert "FAIL  callback verification: the account's callback salt differs" in out
    assert "Error: 4 of 5 checks failed" in out
    assert "another-salt" not in out


def test_doctor_with_bad_credentials_and_no_verification(config, fake_api):
    wrong = config.with_changes(
        voximplant=make_account(other_key_pair()),
        voximplant_api_url=fake_api.url,
        callback_salt=None,
        api_key=None,
    )

    result = runner_for(wrong)("voximplant", "doctor")

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("FAIL  credentials: refused: 100: GetAccountInfo: Authorization")
    assert lines[1].startswith("      fix: check VOXIMPLANT_CREDENTIALS")
    assert "FAIL  numbers: not checked" in result.output
    assert "FAIL  callback verification: callbacks are not verified" in result.output


def test_doctor_without_a_public_url_says_how_to_tell_it(vox_config, fake_api):
    fake_api.add_number(OUR)
    fake_api.account.update(callback_url=CALLBACK, callback_salt=SALT)
    config = vox_config.with_changes(public_url=None)

    result = runner_for(config)("voximplant", "doctor")
    assert "fix: set RESPONDER_PUBLIC_URL" in result.output
    assert result.exit_code == 1

    passed = runner_for(config)("voximplant", "doctor", "--url", PUBLIC + "/")
    assert passed.exit_code == 0, passed.output


def test_doctor_with_a_callback_token_never_prints_it(vox_config, fake_api):
    token = "abcdefghij0123456789"
    fake_api.add_number(OUR)
    fake_api.account.update(callback_url=CALLBACK, callback_salt=SALT)
    config = vox_config.with_changes(callback_token=Secret(token))

    result = runner_for(config)("voximplant", "doctor")

    assert result.exit_code == 1
    assert token not in result.output
    assert '"https://sms.example.com/voximplant/callback/$RESPONDER_CALLBACK_TOKEN"' in (
        result.output
    )


def test_doctor_as_a_user_runs_it(tmp_path, config, fake_api):
    fake_api.add_number(OUR)
    fake_api.account.update(callback_url=CALLBACK, callback_salt=SALT)
    env = config_env(
        config,
        VOXIMPLANT_CREDENTIALS=str(write_credentials(tmp_path / "credentials.json")),
        VOXIMPLANT_API_URL=fake_api.url,
        VOXIMPLANT_CALLBACK_SALT=SALT,
        VOXIMPLANT_API_KEY=API_KEY,
        RESPONDER_PUBLIC_URL=PUBLIC,
        RESPONDER_NUMBERS="+" + OUR,
    )

    result = responder(env, "voximplant", "doctor")

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("all 4 checks passed\n")
