"""The `responder` command as a user runs it: a real process, configured by the environment."""

from __future__ import annotations

import pytest

from responder import create_app
from tests.processes import config_env, responder
from tests.support import post_callback, serve, sms_callback, wait_until


@pytest.fixture
def env(config) -> dict[str, str]:
    return config_env(config)


def test_threads_show_prints_the_conversation(config, env):

    app = create_app(config)
    services = app.extensions["responder"]
    with serve(app) as url:
        assert post_callback(url, sms_callback(1, "order 77")).status_code == 200
        wait_until(lambda: "sent" in responder(env, "threads", "show", "+44 7443 332212").stdout)
    services.sender.stop()
    result = responder(env, "threads", "show", "447443332212")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "thread 447443332211 <-> 447443332212"
    assert "<- [handled] rule=order-status order 77" in lines[1]
    assert "-> [sent] rule=order-status Order 77 is on its way, 447443332212." in lines[2]
    listing = responder(env, "threads", "list")
    assert "447443332212" in listing.stdout


def test_threads_show_rejects_a_bad_number(env):
    result = responder(env, "threads", "show", "not-a-number")
    assert result.returncode == 1
    assert "is not a phone number" in result.stderr
    assert "Traceback" not in result.stderr


def test_simulate_prints_rule_and_reply_and_sends_nothing(env, config):
    result = responder(
        env, "simulate", "--from", "447911123456", "--to", "447443332211", "Order 12"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "rule: order-status",
        "reply: Order 12 is on its way, 447911123456.",
    ]
    assert "no threads yet" in responder(env, "threads", "list").stdout


def test_rules_check_reports_file_and_line(env, config):
    (config.rules_dir / "broken.yaml").write_text(
        "rules:\n  - id: x\n    keywords: [a]\n    match: startswith\n    reply: hi\n"
    )
    result = responder(env, "rules", "check", str(config.rules_dir))
    assert result.returncode == 2  # errors; warnings alone exit 1
    assert f"{config.rules_dir / 'broken.yaml'}:4:" in result.stdout + result.stderr


def test_bad_configuration_is_reported_without_a_traceback(env):
    env["RESPONDER_PROVIDER"] = "pigeon"
    result = responder(env, "threads", "list")
    assert result.returncode != 0
    assert "RESPONDER_PROVIDER: must be one of" in result.stderr
    assert "Traceback" not in result.stderr
