"""Fixtures: a config per test (SQLite file or fresh PostgreSQL schema), app, live server."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from responder import create_app
from responder.config import Config, normalise_database_url
from responder.secret import Secret
from responder.services import Services
from tests.compliance_support import StartSite, site_starter
from tests.fakes.keys import KEY_ID, key_pair
from tests.fakes.voximplant_api import FakeVoximplant
from tests.support import ACCOUNT_ID, API_KEY, SALT, Operator, serve

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("RESPONDER_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for each test: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'responder.db'}"
        return
    if not PG_URL:
        pytest.skip("RESPONDER_TEST_DATABASE_URL is not set (CI sets it)")
    base = normalise_database_url(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


CORE_RULES = """\
rules:
  - id: hours
    keywords: [hours, open]
    match: first
    reply: "We are open 9:00-17:00, Monday to Friday."
  - id: order-status
    match: regex
    pattern: '^order\\s+(?P<order_id>\\d+)$'
    reply: "Order {{ order_id }} is on its way, {{ their_number }}."
fallback:
  reply: "Sorry, we did not understand. Text HOURS for our opening hours."
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A rules directory with the minimum rule contract, which a test may edit."""
    target = tmp_path / "rules"
    target.mkdir()
    (target / "main.yaml").write_text(CORE_RULES, encoding="utf-8")
    return target


@pytest.fixture
def sample_rules_dir(tmp_path: Path) -> Path:
    """A copy of the shipped sample rules."""
    target = tmp_path / "sample-rules"
    shutil.copytree(ROOT / "rules", target)
    return target


@pytest.fixture
def fake_api() -> Iterator[FakeVoximplant]:
    """The fake Management API on loopback, checking JWTs signed with the test key pair."""
    with FakeVoximplant(key_pair().public_pem, ACCOUNT_ID, KEY_ID) as fake:
        yield fake


@pytest.fixture
def start_site(config: Config) -> Iterator[StartSite]:
    """Start the service with some compliance settings changed, as often as a test likes."""
    yield from site_starter(config)


@pytest.fixture
def operator(live: tuple[str, Services]) -> Operator:
    """Someone signed in to the dashboard of `live` (its module turns the dashboard on)."""
    url, _services = live
    person = Operator(url)
    assert person.sign_in().status_code == 302
    return person


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    """The least environment Config.from_env accepts: a data and an (empty) rules directory."""
    (tmp_path / "rules").mkdir()
    return {
        "RESPONDER_DATA_DIR": str(tmp_path / "data"),
        "RESPONDER_RULES_DIR": str(tmp_path / "rules"),
    }


@pytest.fixture
def config(tmp_path: Path, rules_dir: Path, database_url: str) -> Config:
    """Log provider, hash verification on, sender inside the app."""
    return Config.for_data_dir(
        tmp_path / "data",
        rules_dir,
        database_url=database_url,
        callback_salt=Secret(SALT),
        api_key=Secret(API_KEY),
        rules_reload_interval_s=0.2,
        retry_delays_s=(0.05, 0.1, 0.2),
    )


@pytest.fixture
def live(config: Config) -> Iterator[tuple[str, Services]]:
    """The app served over real HTTP on loopback, with its sender thread running."""
    app = create_app(config)
    services: Services = app.extensions["responder"]
    with serve(app) as url:
        yield url, services
    if services.sender is not None:
        services.sender.stop()
    services.rules.stop()
    services.engine.dispose()
