"""The PaaS files (app.json, render.yaml, fly.toml, Dockerfile) parse and name only what exists."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
import requests
import yaml

from tests.processes import BIN, ROOT, service_env

# Set by the platforms themselves, not read by the service.
PLATFORM_VARS = {"PYTHON_VERSION"}


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def service_vars(*paths: Path) -> set[str]:
    """The environment variables named in *paths* (default: the package and gunicorn.conf.py)."""
    pattern = re.compile(
        r"[\"'](RESPONDER_[A-Z0-9_]+|VOXIMPLANT_[A-Z0-9_]+|ALPHASMS_[A-Z0-9_]+|DATABASE_URL"
        r"|PROMETHEUS_MULTIPROC_DIR|PORT|WEB_CONCURRENCY|GUNICORN_[A-Z_]+)[\"']"
    )
    found: set[str] = set()
    for path in paths or [*(ROOT / "responder").rglob("*.py"), ROOT / "gunicorn.conf.py"]:
        found.update(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def readme_vars() -> set[str]:
    """The variables the README's configuration table documents."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def app_json() -> dict:
    return json.loads((ROOT / "app.json").read_text(encoding="utf-8"))


def render_yaml() -> dict:
    return yaml.safe_load((ROOT / "render.yaml").read_text(encoding="utf-8"))


def fly_toml() -> dict:
    return tomllib.loads((ROOT / "fly.toml").read_text(encoding="utf-8"))


def render_vars() -> set[str]:
    return {
        item["key"]
        for service in render_yaml()["services"]
        for item in service["envVars"]
        if "key" in item
    }


@pytest.mark.parametrize(
    "named",
    [
        pytest.param(lambda: set(app_json()["env"]), id="app.json"),
        pytest.param(render_vars, id="render.yaml"),
        pytest.param(lambda: set(fly_toml()["env"]), id="fly.toml"),
    ],
)
def test_deploy_files_name_only_variables_the_service_reads(named):
    names = named()
    assert names - service_vars() - PLATFORM_VARS == set()
    assert names - readme_vars() == set(), "document them in the README's configuration table"


def test_readme_documents_the_variables_of_running_on_a_paas():
    named = service_vars(ROOT / "gunicorn.conf.py") | {
        "RESPONDER_LOG_FORMAT",
        "RESPONDER_PROXY_HOPS",
        "RESPONDER_METRICS_TOKEN",
        "PROMETHEUS_MULTIPROC_DIR",
        "RESPONDER_QUARANTINE_MAX",
    }
    assert named <= service_vars()
    assert named - readme_vars() == set()


def test_heroku_app_json_runs_the_procfile_on_postgres():
    app = app_json()
    assert set(app["formation"]) <= set(procfile())
    assert app["addons"][0]["plan"].startswith("heroku-postgresql:")
    assert app["env"]["RESPONDER_SENDER"]["value"] == "off"  # the worker dyno sends
    required = {name for name, spec in app["env"].items() if spec.get("required")}
    assert required == {"VOXIMPLANT_CREDENTIALS", "VOXIMPLANT_CALLBACK_SALT", "VOXIMPLANT_API_KEY"}
    assert app["buildpacks"] == [{"url": "heroku/python"}]
    # The Python buildpack installs requirements.txt: the project itself.
    assert (ROOT / "requirements.txt").read_text(encoding="utf-8").split() == ["."]
    assert re.fullmatch(r"3\.1[1-9]\n", (ROOT / ".python-version").read_text(encoding="utf-8"))


def test_render_blueprint_matches_the_procfile():
    blueprint = render_yaml()
    web, worker = blueprint["services"]
    lines = procfile()
    assert (web["type"], web["startCommand"]) == ("web", lines["web"])
    assert web["preDeployCommand"] == lines["release"]
    assert (worker["type"], worker["startCommand"]) == ("worker", lines["worker"])
    database = blueprint["databases"][0]["name"]
    for service in (web, worker):
        assert service["buildCommand"] == "pip install ."
        sources = {item["key"]: item for item in service["envVars"]}
        assert sources["DATABASE_URL"]["fromDatabase"]["name"] == database
    shared = [item for item in worker["envVars"] if "fromService" in item]
    assert all(item["fromService"]["name"] == web["name"] for item in shared)
    assert {item["fromService"]["envVarKey"] for item in shared} <= render_vars()


def test_fly_toml_keeps_sqlite_on_its_volume():
    fly = fly_toml()
    assert fly["processes"] == {"web": procfile()["web"]}
    assert fly["mounts"][0]["destination"] == fly["env"]["RESPONDER_DATA_DIR"]
    assert fly["http_service"]["internal_port"] == int(fly["env"]["PORT"])
    assert "release_command" not in fly.get("deploy", {})  # it would not see the volume
    assert "DATABASE_URL" not in fly["env"]
    dockerfile = (ROOT / fly["build"]["dockerfile"]).read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE)
    assert cmd is not None
    assert shlex.join(json.loads(cmd.group(1))) == procfile()["web"]
    assert "RUN pip install --no-cache-dir ." in dockerfile
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for name in source.split():
            assert (ROOT / name).exists(), f"the Dockerfile copies {name}, which does not exist"


def test_health_check_paths_answer(live):
    url, _services = live
    paths = {
        render_yaml()["services"][0]["healthCheckPath"],
        *(check["path"] for check in fly_toml()["http_service"]["checks"]),
    }
    for path in paths:
        assert requests.get(url + path, timeout=10).status_code == 200, path


def guide_blocks() -> list[str]:
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


def guide_commands() -> set[str]:
    """The `responder ...` commands the deploy guide's shell blocks run."""
    pattern = re.compile(r"(?<![\w/.-])responder((?: [a-z][a-z-]*)+)")
    return {"responder" + m.group(1) for block in guide_blocks() for m in pattern.finditer(block)}


def test_guide_names_only_variables_the_service_reads():
    named = {
        name for block in guide_blocks() for name in re.findall(r"\b([A-Z][A-Z0-9_]+)=", block)
    }
    assert "VOXIMPLANT_CALLBACK_SALT" in named
    assert named - service_vars() == set()


@pytest.mark.parametrize(
    "command", sorted({procfile()["release"], procfile()["worker"], *guide_commands()})
)
def test_procfile_and_guide_commands_exist(command, tmp_path, rules_dir):
    words = shlex.split(command)
    result = subprocess.run(
        [str(BIN / words[0]), *words[1:], "--help"],
        cwd=ROOT,
        env=service_env(tmp_path / "data", rules_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: {words[0]} {' '.join(words[1:])}")
