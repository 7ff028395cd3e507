"""Configuration from the environment: defaults, credentials shapes, every problem at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from responder.config import Config
from responder.errors import ConfigError
from tests.fakes.keys import write_credentials


def test_defaults_are_sqlite_in_data_dir_and_log_provider(bare_env, tmp_path):
    config = Config.from_env(bare_env)
    assert config.provider == "log"
    assert config.database_url == f"sqlite:///{tmp_path / 'data' / 'responder.db'}"
    assert not config.callbacks_verified


@pytest.mark.parametrize("wrapped", [False, True], ids=["flat", "result"])
@pytest.mark.parametrize("as_path", [False, True], ids=["json", "path"])
def test_credentials_as_json_or_path_flat_or_wrapped(bare_env, tmp_path, wrapped, as_path):
    path = write_credentials(
        tmp_path / "credentials.json", account_id=42, key_id="kid-1", wrapped=wrapped
    )
    bare_env["VOXIMPLANT_CREDENTIALS"] = str(path) if as_path else path.read_text()
    bare_env["RESPONDER_CALLBACK_TOKEN"] = "abcdefghij0123456789"
    config = Config.from_env(bare_env)
    assert config.provider == "voximplant"
    assert config.voximplant.account_id == 42
    assert config.voximplant.key_id == "kid-1"
    assert "PRIVATE KEY" not in repr(config)


def test_postgres_urls_from_a_paas_are_accepted(bare_env):
    bare_env["DATABASE_URL"] = "postgres://u:p@db.internal:5432/app"
    assert Config.from_env(bare_env).database_url == "postgresql+psycopg://u:p@db.internal:5432/app"


def test_every_problem_is_reported_at_once(bare_env):
    bare_env.update(
        {
            "VOXIMPLANT_CREDENTIALS": '{"account_id": "x"}',
            "VOXIMPLANT_CALLBACK_SALT": "s" * 41,
            "RESPONDER_PROVIDER": "carrier-pigeon",
            "RESPONDER_SEND_TIMEOUT": "soon",
            "DATABASE_URL": "mysql://x",
            "RESPONDER_CALLBACK_TOKEN": "short",
            "VOXIMPLANT_API_URL": "ftp://x",
        }
    )
    with pytest.raises(ConfigError) as caught:
        Config.from_env(bare_env)
    names = [p.split(":")[0] for p in caught.value.problems]
    assert sorted(set(names)) == sorted(
        {
            "VOXIMPLANT_CREDENTIALS",
            "VOXIMPLANT_CALLBACK_SALT",
            "VOXIMPLANT_API_KEY",
            "RESPONDER_PROVIDER",
            "RESPONDER_SEND_TIMEOUT",
            "DATABASE_URL",
            "RESPONDER_CALLBACK_TOKEN",
            "VOXIMPLANT_API_URL",
        }
    )
    assert "s" * 41 not in str(caught.value)


def test_real_provider_refuses_unverified_callbacks(bare_env, tmp_path):
    path = write_credentials(tmp_path / "c.json", account_id=1, key_id="k")
    bare_env["VOXIMPLANT_CREDENTIALS"] = str(path)
    with pytest.raises(ConfigError, match="callbacks must be verified"):
        Config.from_env(bare_env)


def test_service_does_not_start_on_bad_config(bare_env):
    bare_env["RESPONDER_PROVIDER"] = "nope"
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env={**bare_env, "PATH": ""},
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        timeout=60,
    )
    assert result.returncode != 0
    assert (
        "RESPONDER_PROVIDER: must be one of voximplant, alphasms, log (got 'nope')" in result.stderr
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [("0", "must be at least 1"), ("2.5", "whole number"), ("11", "at most 10"), ("x", "number")],
)
def test_send_concurrency_is_a_whole_number_from_1_to_10(bare_env, value, problem):
    assert Config.from_env(bare_env).send_concurrency == 4
    bare_env["RESPONDER_SEND_CONCURRENCY"] = "10"
    assert Config.from_env(bare_env).send_concurrency == 10
    bare_env["RESPONDER_SEND_CONCURRENCY"] = value
    with pytest.raises(ConfigError) as caught:
        Config.from_env(bare_env)
    assert any(
        p.startswith("RESPONDER_SEND_CONCURRENCY:") and problem in p for p in caught.value.problems
    )


def test_intake_is_inline_unless_queue_is_asked_for(bare_env):
    assert Config.from_env(bare_env).intake_mode == "inline"
    assert Config.from_env({**bare_env, "RESPONDER_INTAKE": " Queue "}).intake_mode == "queue"
    with pytest.raises(ConfigError) as caught:
        Config.from_env({**bare_env, "RESPONDER_INTAKE": "later"})
    assert "RESPONDER_INTAKE: must be one of inline, queue (got 'later')" in caught.value.problems
