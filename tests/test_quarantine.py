"""Refused callbacks are kept with why, listed by `responder callbacks failed`, and replayable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select

from responder import create_app
from responder.config import Config
from responder.secret import Secret
from responder.services import Services
from responder.store.tables import messages, quarantined_callbacks
from tests.fakes.keys import make_account
from tests.processes import config_env, responder
from tests.support import API_KEY, SALT, batch, serve, sms_callback, wait_until

TOKEN = "Abcdefgh12345678Token"


def cli_env(config: Config, **changes: str) -> dict[str, str]:
    return config_env(
        config, **{"VOXIMPLANT_CALLBACK_SALT": SALT, "VOXIMPLANT_API_KEY": API_KEY, **changes}
    )


@pytest.fixture
def serve_config() -> Iterator:
    """Serve a given config over loopback HTTP; stops its sender afterwards."""
    started: list[Services] = []

    def start(config: Config):
        app = create_app(config)
        started.append(app.extensions["responder"])
        return serve(app), app.extensions["responder"]

    yield start
    for services in started:
        if services.sender is not None:
            services.sender.stop()
        services.engine.dispose()


def outbound(services: Services) -> list:
    with services.engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.direction == "out")).all()


def test_wrong_salt_loses_nothing_after_replay(config, serve_config):
    # The operator typed the salt wrong: every genuine callback fails its hash check.
    server, services = serve_config(config.with_changes(callback_salt=Secret("my-sal")))
    with server as url:
        answer = requests.post(
            f"{url}/voximplant/callback",
            data=batch(sms_callback(7, "order 55")),
            headers={"Authorization": "Bearer do-not-keep-me", "X-Request-Id": "req-wrong-salt"},
            timeout=10,
        )
        assert answer.status_code == 403
        assert outbound(services) == []

        wrong = cli_env(config, VOXIMPLANT_CALLBACK_SALT="my-sal")
        listing = responder(wrong, "callbacks", "failed")
        assert listing.returncode == 0, listing.stderr
        row = listing.stdout.splitlines()[1].split()
        quarantine_id = row[0]
        assert row[3:6] == ["hash", "403", "-"]
        assert "element 0: security hash mismatch" in listing.stdout

        shown = responder(wrong, "callbacks", "failed", "--show", quarantine_id)
        assert "request id:   req-wrong-salt" in shown.stdout
        assert "FAIL hash element 0: security hash mismatch" in shown.stdout
        assert "do-not-keep-me" not in shown.stdout
        assert '"sms_body": "order 55"' in shown.stdout

        still = responder(wrong, "callbacks", "replay", quarantine_id)
        assert still.returncode == 1
        assert "still refused (hash): element 0: security hash mismatch" in still.stderr

        # The salt fixed, the kept request goes through and its reply is sent.
        fixed = responder(cli_env(config), "callbacks", "replay", quarantine_id)
        assert fixed.returncode == 0, fixed.stderr
        assert fixed.stdout.strip() == (
            f"callback {quarantine_id} replayed: 1 accepted, 0 duplicates, 0 ignored, 0 rejected"
        )
        sent = wait_until(lambda: [m for m in outbound(services) if m.status == "sent"])
        assert sent[0].text == "Order 55 is on its way, 447443332212."
        assert sent[0].request_id == "req-wrong-salt"

        again = responder(cli_env(config), "callbacks", "replay", quarantine_id)
        assert "0 accepted, 1 duplicates" in again.stdout
        assert len(outbound(services)) == 1
    listing = responder(cli_env(config), "callbacks", "failed")
    assert listing.stdout.splitlines()[1].split()[5] == "200"


def test_without_stored_bodies_the_quarantine_keeps_no_text(config, serve_config):
    private = config.with_changes(store_bodies=False)
    server, services = serve_config(private.with_changes(callback_salt=Secret("my-sal")))
    with server as url:
        callback = f"{url}/voximplant/callback"
        refused = batch(sms_callback(7, "card 4111 1111"), sms_callback(8, "pin 9876"))
        assert requests.post(callback, data=refused, timeout=10).status_code == 403
        unreadable = b'{"callbacks": [{"sms_body": "my address is 1 Elm St"'
        assert requests.post(callback, data=unreadable, timeout=10).status_code == 400
    env = cli_env(config, RESPONDER_STORE_BODIES="false")
    lines = responder(env, "callbacks", "failed").stdout.splitlines()
    unreadable_id, refused_id = lines[1].split()[0], lines[2].split()[0]

    shown = responder(env, "callbacks", "failed", "--show", refused_id).stdout
    assert "4111" not in shown
    assert "9876" not in shown
    assert shown.count('"sms_body": ""') == 2
    assert '"callback_id": 7' in shown
    assert '"source_number": "447443332212"' in shown
    shown = responder(env, "callbacks", "failed", "--show", unreadable_id).stdout
    assert "Elm St" not in shown
    assert "FAIL body: body is not valid JSON" in shown
    with services.engine.connect() as conn:
        kept = conn.execute(select(quarantined_callbacks.c.body)).scalars().all()
    assert not any(b"4111" in body or b"9876" in body or b"Elm" in body for body in kept)

    # The blanked callbacks still verify: replay stores both messages' metadata.
    replayed = responder(env, "callbacks", "replay", refused_id)
    assert "2 accepted" in replayed.stdout, replayed.stderr
    with services.engine.connect() as conn:
        inbound = conn.execute(
            select(messages.c.callback_id, messages.c.text, messages.c.status)
            .where(messages.c.direction == "in")
            .order_by(messages.c.callback_id)
        ).all()
    assert [tuple(row) for row in inbound] == [(7, None, "handled"), (8, None, "handled")]


def test_changed_token_is_kept_and_replayed(config, serve_config):
    server, _services = serve_config(
        config.with_changes(callback_salt=None, api_key=None, callback_token=Secret(TOKEN))
    )
    with server as url:
        # Voximplant still posts to the URL of the token before.
        old = requests.post(
            f"{url}/voximplant/callback/Oldtoken12345678", data=batch(sms_callback(8)), timeout=10
        )
        assert old.status_code == 404
        plain = requests.post(f"{url}/voximplant/callback", data=batch(sms_callback(9)), timeout=10)
        assert plain.status_code == 404
    env = cli_env(config, RESPONDER_CALLBACK_TOKEN=TOKEN)
    listing = responder(env, "callbacks", "failed")
    lines = listing.stdout.splitlines()
    assert "the URL has no token, and RESPONDER_CALLBACK_TOKEN is set" in lines[1]
    assert "the URL's token is not RESPONDER_CALLBACK_TOKEN" in lines[2]
    shown = responder(env, "callbacks", "failed", "--show", lines[2].split()[0])
    assert "Oldtoken12345678" not in shown.stdout
    assert "route:        token" in shown.stdout
    replayed = responder(env, "callbacks", "replay", lines[2].split()[0])
    assert "1 accepted" in replayed.stdout, replayed.stderr


def test_unusable_body_is_kept_and_replay_says_why(config, serve_config):
    server, _services = serve_config(config)
    with server as url:
        answer = requests.post(f"{url}/voximplant/callback", data=b'{"callbacks": 1}', timeout=10)
        assert answer.status_code == 400
    env = cli_env(config)
    listing = responder(env, "callbacks", "failed")
    assert "body" in listing.stdout.splitlines()[1].split()
    assert "'callbacks' must be an array (got a number)" in listing.stdout
    replayed = responder(env, "callbacks", "replay", listing.stdout.splitlines()[1].split()[0])
    assert replayed.returncode == 1
    assert "still refused (body): 'callbacks' must be an array" in replayed.stderr


def test_quarantine_is_capped_in_count_and_size(config, serve_config):
    server, _services = serve_config(config.with_changes(quarantine_max=2))
    with server as url:
        for callback_id in (1, 2, 3):
            bad = sms_callback(callback_id, salt="another-salt")
            requests.post(f"{url}/voximplant/callback", data=batch(bad), timeout=10)
        big = sms_callback(4, "x" * 100_000, salt="another-salt")
        requests.post(f"{url}/voximplant/callback", data=batch(big), timeout=10)
    env = cli_env(config)
    lines = responder(env, "callbacks", "failed").stdout.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["4", "3"]
    assert lines[3] == "replay one with: responder callbacks replay ID"
    shown = responder(env, "callbacks", "failed", "--show", "4")
    assert "body: 65536 bytes (cut from" in shown.stdout
    replayed = responder(env, "callbacks", "replay", "4")
    assert replayed.returncode == 1
    assert "was cut to 65536 of" in replayed.stderr


def test_no_refused_callbacks(config):
    result = responder(cli_env(config), "callbacks", "failed")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "no refused callbacks kept\n"
    missing = responder(cli_env(config), "callbacks", "replay", "12")
    assert missing.returncode == 1
    assert "no quarantined callback with id 12" in missing.stderr


def test_callbacks_for_another_account_are_kept_and_replayable(config, serve_config):
    # The credentials are of another account than the one Voximplant calls back for.
    server, _services = serve_config(config.with_changes(voximplant=make_account(account_id=999)))
    with server as url:
        answer = requests.post(
            f"{url}/voximplant/callback", data=batch(sms_callback(31, "hours")), timeout=10
        )
        assert answer.status_code == 400
    env = cli_env(config)
    lines = responder(env, "callbacks", "failed").stdout.splitlines()
    assert lines[1].split()[3:5] == ["account", "400"]
    assert "callback for account 1234567, this service serves account 999" in lines[1]
    replayed = responder(env, "callbacks", "replay", lines[1].split()[0])
    assert "1 accepted" in replayed.stdout, replayed.stderr
