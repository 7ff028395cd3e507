"""Start-up refuses a bad configuration, listing every problem at once, from gunicorn too."""

from __future__ import annotations

import subprocess

import pytest

from responder.config import Config
from responder.errors import ConfigError
from tests.processes import BIN, ROOT, free_port, service_env


@pytest.fixture
def env(tmp_path, rules_dir) -> dict[str, str]:
    return service_env(tmp_path / "data", rules_dir)


def test_paas_settings_are_read(env, tmp_path):
    env.update(
        RESPONDER_LOG_FORMAT="TEXT",
        RESPONDER_PROXY_HOPS="2",
        RESPONDER_METRICS_TOKEN="0123456789abcdefXYZ",
        RESPONDER_QUARANTINE_MAX="50",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
    )
    config = Config.from_env(env)
    assert config.log_format == "text"
    assert config.proxy_hops == 2
    assert config.metrics_token is not None
    assert config.metrics_token.equals("0123456789abcdefXYZ")
    assert config.quarantine_max == 50
    assert config.metrics_dir == tmp_path / "prom"


def test_every_paas_problem_is_listed(env, tmp_path):
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    env.update(
        RESPONDER_LOG_FORMAT="xml",
        RESPONDER_PROXY_HOPS="1.5",
        RESPONDER_METRICS_TOKEN="short",
        RESPONDER_QUARANTINE_MAX="-1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "a-file"),
    )
    with pytest.raises(ConfigError) as caught:
        Config.from_env(env)
    assert caught.value.problems == [
        "RESPONDER_LOG_FORMAT: must be one of json, text (got 'xml')",
        "RESPONDER_PROXY_HOPS: expected a whole number (got '1.5')",
        "RESPONDER_METRICS_TOKEN: use at least 16 characters",
        f"PROMETHEUS_MULTIPROC_DIR: {tmp_path / 'a-file'} exists and is not a directory",
        "RESPONDER_QUARANTINE_MAX: must be at least 0 (got '-1')",
    ]


def test_gunicorn_lists_every_problem_and_exits_before_listening(env):
    port = free_port()
    env.update(
        PORT="eighty",
        WEB_CONCURRENCY="0",
        GUNICORN_TIMEOUT="soon",
        RESPONDER_HOST="127.0.0.1",
        RESPONDER_PROVIDER="nope",
        DATABASE_URL="mysql://db/x",
        RESPONDER_METRICS_TOKEN="short",
        VOXIMPLANT_CALLBACK_SALT="only-the-salt",
    )
    result = subprocess.run(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env={**env, "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    problems = [
        line.removeprefix("  - ") for line in result.stderr.splitlines() if line.startswith("  - ")
    ]
    assert problems == [
        "PORT: expected a whole number (got 'eighty')",
        "WEB_CONCURRENCY: must be at least 1 (got '0')",
        "GUNICORN_TIMEOUT: expected a whole number (got 'soon')",
        "DATABASE_URL: expected a sqlite:/// or postgres:// URL (got scheme 'mysql')",
        "VOXIMPLANT_API_KEY: must be set too when VOXIMPLANT_CALLBACK_SALT is set (hash check)",
        "RESPONDER_PROVIDER: must be one of voximplant, alphasms, log (got 'nope')",
        "RESPONDER_METRICS_TOKEN: use at least 16 characters",
    ]
    assert "Traceback" not in result.stderr + result.stdout
    assert "Listening at" not in result.stdout
